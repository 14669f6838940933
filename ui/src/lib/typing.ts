// A key typed in the search box is held until the answer to the query it makes is in, then
// applied with that answer, so one frame draws the letter and its rows.
//
// Why: WebKit draws the letter typed about 1 ms after the key, then draws at most one frame
// each 16.7 ms. A search answered 3 ms after the key had its rows drawn some 17 ms after it,
// in the frame after the letter's (scripts/bench-search-window). Held, the letter waits those
// 3 ms and comes with its rows.
//
// Only plain typing is held: text typed and Backspace or Delete, with no composition under
// way (an input method shows its own text as it goes). Anything else (a paste, a word deleted,
// a key that moves the caret, a click) applies what is held first, then goes its own way. A
// held key is applied when the answer to the newest held query comes, or after `waitMs` from
// the first key held, whichever is first, so a slow answer never holds a letter longer.
// Pure, tested with Vitest: the page gives it how to ask and how to apply.

/** An edit that can be held: text typed, or the text before or after the caret deleted. */
export type Held = { kind: "insert"; text: string } | { kind: "backward" } | { kind: "forward" };

/** A text box's text and selection (`start` to `end`, UTF-16 offsets as the DOM gives them). */
export interface TextState {
  value: string;
  start: number;
  end: number;
}

/** The edit an `InputEvent` of this type makes, when it is one that can be held. */
export function heldEdit(inputType: string, data: string | null): Held | null {
  if (inputType === "insertText" && data) return { kind: "insert", text: data };
  if (inputType === "deleteContentBackward") return { kind: "backward" };
  if (inputType === "deleteContentForward") return { kind: "forward" };
  return null;
}

// Made at the first key that needs it, not as the page starts: its text-breaking data takes
// time to load, and the first frame has no use for it.
let graphemes: Intl.Segmenter | undefined;

/** Where the character (a grapheme: a letter with its accents, an emoji) before or after `at`
 *  begins and ends. */
function graphemeAround(value: string, at: number, before: boolean): [number, number] {
  let previous: [number, number] = [at, at];
  graphemes ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  for (const { index, segment } of graphemes.segment(value)) {
    const end = index + segment.length;
    if (before && end >= at) return end === at ? [index, end] : previous;
    if (!before && index >= at) return [index, end];
    previous = [index, end];
  }
  return before ? previous : [at, at];
}

/** The text box after an edit, as the browser makes it: the selection replaced or deleted;
 *  with none, one character before or after the caret deleted. */
export function applyEdit(s: TextState, e: Held): TextState {
  const { value, start, end } = s;
  if (e.kind === "insert") {
    const at = start + e.text.length;
    return { value: value.slice(0, start) + e.text + value.slice(end), start: at, end: at };
  }
  let [from, to] = [start, end];
  if (from === to) [from, to] = graphemeAround(value, start, e.kind === "backward");
  return { value: value.slice(0, from) + value.slice(to), start: from, end: from };
}

export interface HeldTypingOptions {
  /** Asks for the answer to the query the held keys make; the keys are applied when it settles. */
  ask: (value: string) => Promise<unknown>;
  /** Applies the held edits, in order; `expected` is the text they make. */
  apply: (edits: Held[], expected: TextState) => void;
  /** The longest a key is held (from the first key held), whatever the answer. */
  waitMs: number;
}

/** The keys held, and when to apply them. */
export class HeldTyping {
  private held: Held[] = [];
  private model: TextState | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private seq = 0;

  constructor(private readonly options: HeldTypingOptions) {}

  /** Whether keys are held now. */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /** A key about to edit the box (its `beforeinput`). True when it is held: the caller then
   *  prevents its default. False: what was held is applied first, and the key goes its way. */
  hold(inputType: string, data: string | null, composing: boolean, current: TextState): boolean {
    const edit = composing ? null : heldEdit(inputType, data);
    if (!edit) {
      this.apply();
      return false;
    }
    const before = this.model ?? current;
    const after = applyEdit(before, edit);
    // A key that changes nothing (Backspace at the start) has nothing to wait for.
    if (!this.held.length && after.value === before.value) return false;
    this.model = after;
    this.held.push(edit);
    if (this.held.length === 1) this.timer = setTimeout(() => this.apply(), this.options.waitMs);
    const mine = ++this.seq;
    const settled = () => {
      if (mine === this.seq) this.apply();
    };
    this.options.ask(this.model.value).then(settled, settled);
    return true;
  }

  /** Applies what is held now (a key that is not held, a click, the box losing focus). */
  apply(): void {
    clearTimeout(this.timer);
    if (!this.held.length || !this.model) return;
    const [edits, expected] = [this.held, this.model];
    this.held = [];
    this.model = null;
    this.seq++;
    this.options.apply(edits, expected);
  }
}

/** The longest a key is held: two frames. */
export const HOLD_MS = 32;

/** Whether a key only types (or deletes) text: keys held wait for it. Any other key applies
 *  them first (Enter acts on the text typed, an arrow moves the caret in it). */
export function typesText(e: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean }): boolean {
  if (e.ctrlKey || e.metaKey || e.altKey) return false;
  return [...e.key].length === 1 || e.key === "Backspace" || e.key === "Delete";
}

/** A search box whose keys are held for their answer: it asks for the query held keys make,
 *  applies them in the box (with `execCommand`, so the box edits and undoes as it would have),
 *  and hands that answer, once, to the search of the text they made, so it is not asked twice.
 *  `A` is how an answer was asked (the rows it holds): the search takes it only if that fits.
 *  The page attaches it to its box (`attach`, for Svelte's `{@attach}`). */
export class HeldSearch<R, A = undefined> {
  private ahead: { q: string; how: A; answer: Promise<R>; applied: boolean } | null = null;
  private applyingNow = false;
  private box: HTMLInputElement | undefined;
  private readonly keys: HeldTyping;

  constructor(ask: (value: string) => { answer: Promise<R>; how: A }, waitMs = HOLD_MS) {
    this.keys = new HeldTyping({
      waitMs,
      ask: (value) => {
        const { answer, how } = ask(value);
        this.ahead = { q: value, how, answer, applied: false };
        return answer;
      },
      apply: (edits, expected) => this.applyInBox(edits, expected),
    });
  }

  /** True while held keys are applied (their own events are not keys typed). */
  get applying(): boolean {
    return this.applyingNow;
  }

  get holding(): boolean {
    return this.keys.holding;
  }

  /** Holds the keys typed in `box` while `enabled()` (false lets every key through: before
   *  the first answer, say). What is held is applied first on any key that does more than
   *  type (the box's own `keydown` listener runs before the page's handlers, so Enter acts on
   *  the text typed), on an input method starting, the box losing focus, and a click anywhere
   *  in the window. Returns what undoes it, applying what is held. */
  attach(box: HTMLInputElement, enabled: () => boolean): () => void {
    this.box = box;
    const apply = () => this.keys.apply();
    const beforeinput = (e: InputEvent) => {
      if (this.applyingNow) return;
      if (!enabled() || !e.cancelable) return apply();
      const at = { value: box.value, start: box.selectionStart ?? 0, end: box.selectionEnd ?? 0 };
      if (this.keys.hold(e.inputType, e.data, e.isComposing, at)) e.preventDefault();
    };
    const keydown = (e: KeyboardEvent) => {
      if (this.keys.holding && !typesText(e)) apply();
    };
    box.addEventListener("beforeinput", beforeinput);
    box.addEventListener("keydown", keydown);
    box.addEventListener("compositionstart", apply);
    box.addEventListener("blur", apply);
    window.addEventListener("pointerdown", apply, { capture: true });
    return () => {
      box.removeEventListener("beforeinput", beforeinput);
      box.removeEventListener("keydown", keydown);
      box.removeEventListener("compositionstart", apply);
      box.removeEventListener("blur", apply);
      window.removeEventListener("pointerdown", apply, { capture: true });
      apply();
      this.box = undefined;
    };
  }

  /** Applies what is held now. */
  apply(): void {
    this.keys.apply();
  }

  /** The answer asked for the text just applied, for the search of `q` (once, and only if it
   *  was asked as that search would ask: `fits`). */
  take(q: string, fits: (how: A) => boolean = () => true): Promise<R> | null {
    const ahead = this.ahead;
    this.ahead = null;
    return ahead?.applied && ahead.q === q && fits(ahead.how) ? ahead.answer : null;
  }

  /** A search for another reason than keys typed: an answer asked for keys already applied
   *  serves no later search. */
  forgetApplied(): void {
    if (this.ahead?.applied) this.ahead = null;
  }

  private applyInBox(edits: Held[], expected: TextState): void {
    const box = this.box;
    if (!box) return;
    this.applyingNow = true;
    let done = document.activeElement === box;
    try {
      for (const e of edits) {
        if (!done) break;
        done =
          e.kind === "insert"
            ? document.execCommand("insertText", false, e.text)
            : document.execCommand(e.kind === "backward" ? "delete" : "forwardDelete");
      }
    } finally {
      this.applyingNow = false;
    }
    if (!done) {
      // The box lost the focus meanwhile: the text the keys made, set as it is.
      box.value = expected.value;
      box.setSelectionRange(expected.start, expected.end);
      box.dispatchEvent(new Event("input", { bubbles: true }));
    }
    if (this.ahead) this.ahead.applied = this.ahead.q === box.value;
  }
}
