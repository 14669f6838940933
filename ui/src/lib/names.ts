// Names from the portal shown as they are. A bidi control (a right-to-left override makes a
// fake "payments-prod" and reverses a countdown) or any other invisible character is replaced
// by a visible mark; components also isolate names (`.iso`: unicode-bidi: isolate, dir=auto), so a name
// cannot reorder what is around it. Pure, tested with Vitest.

const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/gu;

/** `s` with every invisible or direction-changing character shown as `⟨U+XXXX⟩`. */
export function visible(s: string): string {
  return s.replace(HIDDEN, (c) => `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}⟩`);
}

export interface Grouped<T> {
  key: string;
  first: T;
  roles: T[];
}

/** Roles grouped under their account, accounts in the order of their best-ranked role,
 *  roles in their own order within each account. */
export function groupByAccount<T extends { session: string; account_id: string }>(roles: T[]): Grouped<T>[] {
  const groups = new Map<string, Grouped<T>>();
  for (const r of roles) {
    const key = `${r.session}\u0000${r.account_id}`;
    const g = groups.get(key);
    if (g) g.roles.push(r);
    else groups.set(key, { key, first: r, roles: [r] });
  }
  return [...groups.values()];
}

/** `n` with its thousands grouped by commas ("10,000"), as `toLocaleString("en")` writes it
 *  but without loading the locale data, which takes time as the page starts. */
export function count(n: number): string {
  const [whole, fraction] = String(n).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ",");
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}
