import { describe, expect, it } from "vitest";
import { count, groupByAccount, visible } from "./names";
import { SHORTCUTS, actionFor } from "./shortcuts";

describe("names are shown as they are", () => {
  it("marks bidi controls and invisible characters", () => {
    expect(visible("payments-prod")).toBe("payments-prod");
    expect(visible("dorp-stnemyap\u202e")).toBe("dorp-stnemyap⟨U+202E⟩");
    expect(visible("a\u200bb\u001bc")).toBe("a⟨U+200B⟩b⟨U+001B⟩c");
    expect(visible("R&D é 東")).toBe("R&D é 東");
  });
});

describe("roles grouped under their account", () => {
  it("keeps the ranking: accounts by their best role, roles in order", () => {
    const r = (a: string, role: string) => ({ session: "s", account_id: a, role });
    const groups = groupByAccount([r("2", "B"), r("1", "A"), r("2", "C"), r("1", "D")]);
    expect(groups.map((g) => [g.first.account_id, g.roles.map((x) => x.role)])).toEqual([
      ["2", ["B", "C"]],
      ["1", ["A", "D"]],
    ]);
  });
});

describe("shortcuts", () => {
  const k = (key: string, ctrl = false) => ({ key, ctrlKey: ctrl, metaKey: false });
  it("map keys to actions, and the overlay lists every action", () => {
    expect(actionFor(k("Enter"))).toBe("console");
    expect(actionFor(k("c", true))).toBe("env");
    expect(actionFor(k("c", true), true)).toBeNull();
    expect(actionFor(k("T", true))).toBe("terminal");
    expect(actionFor(k("p", true))).toBe("process");
    expect(actionFor(k("s", true))).toBe("favourite");
    expect(actionFor(k("d", true))).toBe("forget");
    expect(actionFor(k("c"))).toBeNull();
    const listed = new Set(SHORTCUTS.map((s) => s.action).filter(Boolean));
    expect(listed).toEqual(new Set(["console", "env", "terminal", "process", "favourite", "forget"]));
  });
});

import { accelerator } from "./accelerator";

describe("the shortcut recorder", () => {
  const k = (code: string, m: Partial<{ ctrlKey: boolean; altKey: boolean; shiftKey: boolean; metaKey: boolean }> = {}) => ({
    code, ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...m,
  });
  it("records a key with its modifiers, and nothing without one", () => {
    expect(accelerator(k("KeyP", { ctrlKey: true, altKey: true }))).toBe("Ctrl+Alt+P");
    expect(accelerator(k("Digit5", { metaKey: true, shiftKey: true }))).toBe("Shift+Super+5");
    expect(accelerator(k("F12", { ctrlKey: true }))).toBe("Ctrl+F12");
    expect(accelerator(k("KeyP"))).toBeNull();
    expect(accelerator(k("ControlLeft", { ctrlKey: true }))).toBeNull();
  });
});

describe("counts", () => {
  it("are grouped in thousands as toLocaleString('en') writes them", () => {
    for (const n of [0, 7, 999, 1000, 10000, 100000, 1234567, 2000, 1.5, 12345.25]) {
      expect(count(n)).toBe(n.toLocaleString("en", { maximumFractionDigits: 20 }));
    }
  });
});
