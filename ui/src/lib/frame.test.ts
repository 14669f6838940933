import { afterEach, describe, expect, it, vi } from "vitest";
import { record, rowsOnScreen } from "./frame";

const withHeight = (innerHeight: number) => vi.stubGlobal("window", { innerHeight });

describe("rowsOnScreen", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("fills the window's height with rows of at least 24 px", () => {
    withHeight(640);
    expect(rowsOnScreen()).toBe(27);
    withHeight(300);
    expect(rowsOnScreen()).toBe(13);
  });

  it("never draws more than 40 rows in a first frame", () => {
    withHeight(2160);
    expect(rowsOnScreen()).toBe(40);
  });

  // The main window loads its page hidden (it is shown once loaded): it has no height then,
  // and a first frame of the minimum would leave most of the window empty.
  it("a_hidden_window_without_height_gets_a_full_first_frame", () => {
    withHeight(0);
    expect(rowsOnScreen()).toBe(40);
    withHeight(150);
    expect(rowsOnScreen()).toBe(40);
  });
});

describe("record", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("adds each figure to its own series, in order", () => {
    const w: Record<string, number[]> = {};
    vi.stubGlobal("window", w);
    record("rolecallKeystrokeMs", 12);
    record("rolecallKeystrokeMs", 9);
    record("rolecallIpcMs", 3);
    expect(w).toEqual({ rolecallKeystrokeMs: [12, 9], rolecallIpcMs: [3] });
  });
});
