import { tick } from "svelte";

/** Resolves when the frame that shows the state just set starts to be drawn (the DOM
 * updated, then the next animation frame). Windows report their first roles from there. */
export function nextFrame(): Promise<void> {
  return tick().then(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
}
