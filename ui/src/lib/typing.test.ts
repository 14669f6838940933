import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HeldTyping, applyEdit, heldEdit, typesText, type Held, type TextState } from "./typing";

const at = (value: string, start = value.length, end = start): TextState => ({ value, start, end });

describe("a held key edits the text as the browser would", () => {
  it("text typed replaces the selection, or goes in at the caret", () => {
    expect(applyEdit(at("prod"), { kind: "insert", text: "-" })).toEqual(at("prod-"));
    expect(applyEdit(at("prod", 0), { kind: "insert", text: "x" })).toEqual(at("xprod", 1));
    expect(applyEdit(at("prod-admin", 0, 4), { kind: "insert", text: "dev" })).toEqual(at("dev-admin", 3));
  });

  it("Backspace and Delete take the selection, else one character before or after the caret", () => {
    expect(applyEdit(at("prod", 0, 4), { kind: "backward" })).toEqual(at("", 0));
    expect(applyEdit(at("prod"), { kind: "backward" })).toEqual(at("pro"));
    expect(applyEdit(at("prod", 0), { kind: "backward" })).toEqual(at("prod", 0));
    expect(applyEdit(at("prod", 1), { kind: "forward" })).toEqual(at("pod", 1));
    expect(applyEdit(at("prod"), { kind: "forward" })).toEqual(at("prod"));
  });

  it("a character is a grapheme: an accented letter or an emoji goes whole", () => {
    // "e" and a combining acute accent; a family emoji of joined code points.
    expect(applyEdit(at("cafe\u0301"), { kind: "backward" })).toEqual(at("caf"));
    const family = "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}";
    expect(applyEdit(at(`a${family}b`, 1), { kind: "forward" })).toEqual(at("ab", 1));
    expect(applyEdit(at(`a${family}`), { kind: "backward" })).toEqual(at("a"));
  });

  it("only plain typing is held: a paste, a word deleted or an input method's text is not", () => {
    expect(heldEdit("insertText", "a")).toEqual({ kind: "insert", text: "a" });
    expect(heldEdit("deleteContentBackward", null)).toEqual({ kind: "backward" });
    expect(heldEdit("insertText", null)).toBeNull();
    expect(heldEdit("insertFromPaste", "a")).toBeNull();
    expect(heldEdit("deleteWordBackward", null)).toBeNull();
    expect(heldEdit("insertCompositionText", "a")).toBeNull();
    expect(heldEdit("historyUndo", null)).toBeNull();
  });
});

describe("held keys are applied with their answer, never later than the wait", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function typing() {
    const asked: { value: string; answer: () => void }[] = [];
    const applied: { edits: Held[]; expected: TextState }[] = [];
    const keys = new HeldTyping({
      waitMs: 32,
      ask: (value) => new Promise<void>((answer) => asked.push({ value, answer })),
      apply: (edits, expected) => applied.push({ edits, expected }),
    });
    return { keys, asked, applied };
  }

  it("a key is held until the answer to the query it makes comes, then applied", async () => {
    const { keys, asked, applied } = typing();
    expect(keys.hold("insertText", "d", false, at("pro"))).toBe(true);
    expect(asked.map((a) => a.value)).toEqual(["prod"]);
    await vi.advanceTimersByTimeAsync(3);
    expect(applied).toEqual([]);
    asked[0].answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(applied).toEqual([{ edits: [{ kind: "insert", text: "d" }], expected: at("prod") }]);
    expect(keys.holding).toBe(false);
    // Its timer is gone with it.
    await vi.advanceTimersByTimeAsync(100);
    expect(applied.length).toBe(1);
  });

  it("a slow answer holds no key longer than the wait, counted from the first key", async () => {
    const { keys, asked, applied } = typing();
    keys.hold("insertText", "a", false, at(""));
    await vi.advanceTimersByTimeAsync(20);
    keys.hold("insertText", "b", false, at(""));
    await vi.advanceTimersByTimeAsync(11);
    expect(applied).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(applied.map((a) => a.expected.value)).toEqual(["ab"]);
    // The answers that come after change nothing.
    asked.forEach((a) => a.answer());
    await vi.advanceTimersByTimeAsync(0);
    expect(applied.length).toBe(1);
  });

  it("keys typed on held ones build on the text they make, and wait for the newest answer", async () => {
    const { keys, asked, applied } = typing();
    keys.hold("insertText", "a", false, at("x"));
    keys.hold("insertText", "b", false, at("x"));
    keys.hold("deleteContentBackward", null, false, at("x"));
    expect(asked.map((a) => a.value)).toEqual(["xa", "xab", "xa"]);
    asked[0].answer();
    asked[1].answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(applied).toEqual([]);
    asked[2].answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(applied).toEqual([
      { edits: [{ kind: "insert", text: "a" }, { kind: "insert", text: "b" }, { kind: "backward" }], expected: at("xa") },
    ]);
  });

  it("a failed answer applies the key all the same", async () => {
    const { keys, applied } = typing();
    const failing = new HeldTyping({ waitMs: 32, ask: () => Promise.reject(new Error("gone")), apply: (e, x) => applied.push({ edits: e, expected: x }) });
    failing.hold("insertText", "a", false, at(""));
    await vi.advanceTimersByTimeAsync(0);
    expect(applied.map((a) => a.expected.value)).toEqual(["a"]);
    expect(keys.holding).toBe(false);
  });

  it("a key that is not held applies those held first, and goes its own way", async () => {
    const { keys, applied } = typing();
    keys.hold("insertText", "a", false, at(""));
    expect(keys.hold("insertFromPaste", "zz", false, at(""))).toBe(false);
    expect(applied.map((a) => a.expected.value)).toEqual(["a"]);
    // An input method's text is never held, whatever its type says.
    expect(keys.hold("insertText", "b", true, at("a"))).toBe(false);
    expect(keys.holding).toBe(false);
  });

  it("apply() with nothing held does nothing", () => {
    const { keys, applied } = typing();
    keys.apply();
    expect(applied).toEqual([]);
  });
});

describe("a key that changes nothing", () => {
  it("is not held: there is no answer to wait for", () => {
    const keys = new HeldTyping({ waitMs: 32, ask: () => Promise.resolve(), apply: () => undefined });
    expect(keys.hold("deleteContentBackward", null, false, at("prod", 0))).toBe(false);
    expect(keys.holding).toBe(false);
  });
});

describe("which keys wait for held ones", () => {
  const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({
    key: k,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    ...mods,
  });

  it("a letter, Backspace or Delete types: the keys held before it wait on", () => {
    for (const k of ["a", "Z", "-", " ", "é", "\u{1F600}", "Backspace", "Delete"]) expect(typesText(key(k))).toBe(true);
  });

  it("Enter, an arrow, Home or a shortcut applies them first, so it acts on the text typed", () => {
    for (const k of ["Enter", "ArrowLeft", "ArrowDown", "Home", "End", "Escape", "Tab", "Control", "F1"])
      expect(typesText(key(k))).toBe(false);
    expect(typesText(key("c", { ctrlKey: true }))).toBe(false);
    expect(typesText(key("s", { metaKey: true }))).toBe(false);
    expect(typesText(key("x", { altKey: true }))).toBe(false);
  });
});
