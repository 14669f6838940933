import { tick } from "svelte";

/** Resolves when the frame that shows the state just set starts to be drawn (the DOM
 * updated, then the next animation frame). Windows report their first roles from there. */
export function nextFrame(): Promise<void> {
  return tick().then(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
}

/** Rows that can be on screen at once: a role row is at least 24 px high, so this many fill
 * the window's height even with the list at its top. A first frame (start-up, a typed query)
 * draws and asks for no more: what is below the fold comes after it. A window still hidden
 * (the main window loads its page before it is shown) has no height yet: 40 then. */
export function rowsOnScreen(): number {
  if (window.innerHeight < 240) return 40;
  return Math.min(40, Math.ceil(window.innerHeight / 24));
}

/** Figures the benchmarks read from the page (`window.<series>`, scripts/bench-search-window):
 * times and counts only, never a query's text. */
export type Series =
  | "rolecallKeystrokeMs"
  | "rolecallDrawnAtKey"
  | "rolecallKeyFrameMs"
  | "rolecallAnswerMs"
  | "rolecallQueueMs"
  | "rolecallIpcMs";

/** Adds a figure to a series the benchmarks read. */
export function record(series: Series, value: number): void {
  const w = window as unknown as Partial<Record<Series, number[]>>;
  (w[series] ??= []).push(value);
}
