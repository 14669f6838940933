// Keyboard navigation of a result list: pure, tested with Vitest.

/** The new selected index after a key, within [0, length). */
export function moveSelection(key: string, index: number, length: number): number {
  if (length === 0) return 0;
  switch (key) {
    case "ArrowDown": return Math.min(index + 1, length - 1);
    case "ArrowUp": return Math.max(index - 1, 0);
    case "PageDown": return Math.min(index + 10, length - 1);
    case "PageUp": return Math.max(index - 10, 0);
    case "Home": return 0;
    case "End": return length - 1;
    default: return Math.min(index, length - 1);
  }
}
