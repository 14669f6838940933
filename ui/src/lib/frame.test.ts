import { afterEach, describe, expect, it, vi } from "vitest";
import { rowsOnScreen } from "./frame";

const withHeight = (innerHeight: number, search = "") =>
  vi.stubGlobal("window", { innerHeight, location: { search } });

describe("rowsOnScreen", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("fills the window's height with rows of at least 30 px", () => {
    withHeight(640);
    expect(rowsOnScreen()).toBe(22);
    withHeight(300);
    expect(rowsOnScreen()).toBe(10);
  });

  // The list begins below the header, the sessions and the search box: a first frame draws
  // the rows that fit below its top, not a window's height of them.
  it("a_first_frame_draws_only_the_rows_below_the_lists_top", () => {
    withHeight(640);
    expect(rowsOnScreen(157)).toBe(17);
    // A list pushed below the window's bottom still draws a row; a nonsense top counts as none.
    expect(rowsOnScreen(900)).toBe(1);
    expect(rowsOnScreen(Number.NaN)).toBe(22);
    expect(rowsOnScreen(-50)).toBe(22);
  });

  it("never draws more than 40 rows in a first frame", () => {
    withHeight(2160);
    expect(rowsOnScreen()).toBe(40);
  });

  // The main window builds its first view hidden (it is shown once that is in place): it has
  // no height then, and a first frame of the minimum would leave most of the window empty.
  it("a_hidden_window_without_height_gets_a_full_first_frame", () => {
    withHeight(0);
    expect(rowsOnScreen()).toBe(40);
    withHeight(150);
    expect(rowsOnScreen()).toBe(40);
  });

  it("a_hidden_window_draws_the_rows_of_the_height_it_opens_at", () => {
    withHeight(0, "?height=640");
    expect(rowsOnScreen()).toBe(22);
    // Shown, its own height counts.
    withHeight(300, "?height=640");
    expect(rowsOnScreen()).toBe(10);
    // A height that says nothing sensible: a full first frame.
    for (const search of ["?height=abc", "?height=-5", "?height=Infinity", "?view=picker"]) {
      withHeight(0, search);
      expect(rowsOnScreen()).toBe(40);
    }
  });
});
