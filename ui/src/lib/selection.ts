// Which role a key press or a click acts on. The rule: exactly the row shown selected.
// - A selection is a role (session, account id, role name), never a row number: rows move,
//   roles do not.
// - A new query selects its top match.
// - New results for the same query (after an action, a countdown, a refresh) keep the order
//   shown: nothing moves under the pointer or the keyboard; recents move up at the next
//   search or the next opening.
// - Answers to an older query than the newest one asked are dropped (they can arrive late).
// Pure, tested with Vitest.

export interface RoleLike {
  session: string;
  account_id: string;
  role: string;
  /** The role ARN of a role chained from `role`. */
  chain_arn?: string | null;
}

/** A role's identity in a list (a chained role is another role than the one it starts from). */
export function keyOf(r: RoleLike): string {
  return partsKey(r.session, r.account_id, r.role, r.chain_arn ?? "");
}

/** The element id of a role's row (`aria-activedescendant`, the row's actions, scrolling find
 *  the row by it): the role's key with every character but letters and digits written as
 *  `_<hex>_`, so a different role never gets the same id and no id holds a space. */
export function optionId(r: RoleLike): string {
  return "role-" + keyOf(r).replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16)}_`);
}

/** One key for several names, never the same for two different lists of them: parts are
 *  joined by NUL, which no session, account, role or chain name may hold (keyed lists, where
 *  two rows of one key break the list). */
export function partsKey(...parts: string[]): string {
  return parts.join("\u0000");
}

/** Fresh results for the query already shown, in the order already shown: each row's data
 *  updated, rows gone removed, rows new to the list added at the end in their own order. */
export function refreshInPlace<T extends RoleLike>(shown: T[], fresh: T[]): T[] {
  const byKey = new Map(fresh.map((r) => [keyOf(r), r]));
  const kept = shown.filter((r) => byKey.has(keyOf(r))).map((r) => byKey.get(keyOf(r)) as T);
  const seen = new Set(shown.map(keyOf));
  return [...kept, ...fresh.filter((r) => !seen.has(keyOf(r)))];
}

/** The selected role after the list changed. A new query: its top match. The same query: the
 *  same role while it is listed, else the role now at the place it had, else the last one. */
export function reselect<T extends RoleLike>(
  previous: string | null,
  before: T[],
  after: T[],
  newQuery: boolean,
): string | null {
  if (after.length === 0) return null;
  if (newQuery || previous === null) return keyOf(after[0]);
  if (after.some((r) => keyOf(r) === previous)) return previous;
  const place = before.findIndex((r) => keyOf(r) === previous);
  return keyOf(after[Math.min(Math.max(place, 0), after.length - 1)]);
}

/** The selection moved by a navigation key, or `null` when the key does not navigate. */
export function moveKey<T extends RoleLike>(key: string, selected: string | null, list: T[]): string | null | undefined {
  const steps: Record<string, number> = {
    ArrowDown: 1,
    ArrowUp: -1,
    PageDown: 10,
    PageUp: -10,
    Home: -Infinity,
    End: Infinity,
  };
  if (!(key in steps)) return undefined;
  if (list.length === 0) return null;
  const at = Math.max(list.findIndex((r) => keyOf(r) === selected), 0);
  const to = Math.min(Math.max(at + steps[key], 0), list.length - 1);
  return keyOf(list[to]);
}

/** Searches so that only the answer to the newest query is shown: `run(query)` resolves with
 *  the results to show, or `null` when a newer query was asked meanwhile. One search runs at a
 *  time: keys typed while it runs ask one more search when it ends, for the newest query only,
 *  so a fast typist never queues a search per key. */
export class LatestSearch<R, Q = string> {
  private seq = 0;
  private running: Promise<unknown> | null = null;

  constructor(private readonly search: (query: Q) => Promise<R>) {}

  async run(query: Q): Promise<R | null> {
    const mine = ++this.seq;
    while (this.running) {
      try {
        await this.running;
      } catch {
        // its own caller sees its error
      }
      if (mine !== this.seq) return null;
    }
    const pending = this.search(query);
    this.running = pending;
    try {
      const answer = await pending;
      return mine === this.seq ? answer : null;
    } finally {
      if (this.running === pending) this.running = null;
    }
  }
}

/** Waits until the search of what was typed is in: `current()` names the newest search each
 *  time it is asked, `shown()` says whether the query shown is the one typed. Enter pressed
 *  right after typing waits for the search of what was typed, then acts on its results.
 *  Searches of the query already shown (the list refreshed as accounts stream in: a sweep
 *  changes the catalogue many times a second) are waited for no further than the one under
 *  way: they never change which role is selected, and a stream of them held the key until the
 *  sweep ended. */
export async function whenSettled(current: () => Promise<unknown>, shown: () => boolean = () => false): Promise<void> {
  let seen: Promise<unknown>;
  do {
    seen = current();
    await seen.catch(() => undefined);
  } while (!shown() && seen !== current());
}

/** Why a list shows no role (the main window's and the picker's): nothing matches the query,
 *  the accounts are still coming in, or no session has loaded any. `signIn` says where to sign
 *  in from. */
export function nothingShown(sessions: { accounts: number; sweep: unknown }[], signIn: string): string {
  if (sessions.some((s) => s.accounts > 0)) return "No role matches.";
  if (sessions.some((s) => s.sweep)) return "Loading your accounts and roles: they appear here as they arrive.";
  return signIn;
}
