import { tick } from "svelte";

/** Resolves when the frame that shows the state just set starts to be drawn (the DOM
 * updated, then the next animation frame). Windows report their first roles from there. */
export function nextFrame(): Promise<void> {
  return tick().then(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
}

/** The least height of a role row, in px (app.css: `.role-row`, 24 px high and 6 px of padding). */
export const ROW_PX = 30;

/** Role rows that can be on screen at once, in a list that begins `top` px below the window's
 * top: so many rows of the least height fill the rest of the window. A first frame (start-up,
 * a typed query) draws and asks for no more: what is below the fold comes after it. A window
 * still hidden has no height of its own: the height it opens at then (the `height` its address
 * carries), else a full first frame (40 rows). */
export function rowsOnScreen(top = 0): number {
  let height = window.innerHeight;
  if (height < 240) {
    const opens = Number(new URLSearchParams(window.location?.search ?? "").get("height"));
    if (!Number.isFinite(opens) || opens < 240) return 40;
    height = opens;
  }
  const below = height - (Number.isFinite(top) ? Math.max(0, top) : 0);
  return Math.max(1, Math.min(40, Math.ceil(below / ROW_PX)));
}
