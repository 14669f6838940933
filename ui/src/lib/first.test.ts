import { describe, expect, it } from "vitest";
import { FIRST_VIEW_ID, firstAnswer, takeFirstView } from "./first";

/** A page holding (or not) one element with the data block's id. */
function page(text: string | null) {
  let present = text !== null;
  const block = {
    textContent: text,
    remove: () => {
      present = false;
    },
  };
  return {
    getElementById: (id: string) => (present && id === FIRST_VIEW_ID ? (block as unknown as HTMLElement) : null),
    present: () => present,
  };
}

describe("the first view the app put in the main page", () => {
  const first = { state: { sessions: [] }, results: { roles: [{ role: "</script>Admin" }], total: 1 } };

  it("is read once: a second look finds nothing, so later views come from commands", () => {
    const doc = page(JSON.stringify(first));
    expect(takeFirstView(doc)).toEqual(first);
    expect(doc.present()).toBe(false);
    expect(takeFirstView(doc)).toBeNull();
  });

  it("is none when the page has no block (the page asks with commands)", () => {
    expect(takeFirstView(page(null))).toBeNull();
  });

  it("is none, and no error, when the block is not what the app writes", () => {
    for (const text of ["", "not json", "null", "[]", '{"state": {}}', '{"state": 1, "results": {"roles": []}}']) {
      expect(takeFirstView(page(text))).toBeNull();
    }
  });
});

describe("the answer a page was served with", () => {
  const given = Promise.resolve("served");

  it("answers the first search, of the empty query, and no later one", () => {
    const take = firstAnswer(() => given);
    expect(take("")).toBe(given);
    expect(take("")).toBeUndefined();
  });

  it("is used up by a first search of another query", () => {
    const take = firstAnswer(() => given);
    expect(take("pay")).toBeUndefined();
    expect(take("")).toBeUndefined();
  });

  it("is nothing when the page was served without one", () => {
    expect(firstAnswer(() => undefined)("")).toBeUndefined();
  });
});
