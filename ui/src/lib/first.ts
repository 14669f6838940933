import type { FirstView } from "./bindings/FirstView";

/** The id the app gives the data block it puts in the main page (src-tauri/src/view.rs). */
export const FIRST_VIEW_ID = "rolecall-first-view";

/** The first state and rows the app put in the main page as it served it (src-tauri/src/lib.rs,
 * `put_first_view`), taken once: the block is removed, so only the first frame draws them and
 * every later view comes from commands. `null` when there is none, or it is not what the app
 * writes (the page then asks with commands). */
export function takeFirstView(doc: Pick<Document, "getElementById">): FirstView | null {
  const block = doc.getElementById(FIRST_VIEW_ID);
  if (!block) return null;
  block.remove();
  try {
    const first = JSON.parse(block.textContent ?? "") as Partial<FirstView> | null;
    if (first && typeof first.state === "object" && first.state && Array.isArray(first.results?.roles)) {
      return first as FirstView;
    }
  } catch {
    // Not JSON: ask with commands.
  }
  return null;
}

/** The answer a page was served with (`given()`), for its first search only, and only if that
 *  search is of the empty query: the function returned gives it then and `undefined` for every
 *  later search (the list's and the picker's first search, `Roles.svelte`, `Picker.svelte`). */
export function firstAnswer<T>(given: () => Promise<T> | undefined): (q: string) => Promise<T> | undefined {
  let used = false;
  return (q) => {
    const answer = used || q !== "" ? undefined : given();
    used = true;
    return answer;
  };
}
