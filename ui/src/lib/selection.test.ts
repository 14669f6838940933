import { describe, expect, it } from "vitest";
import { LatestSearch, keyOf, moveKey, nothingShown, optionId, partsKey, refreshInPlace, reselect, whenSettled } from "./selection";

const r = (account: string, role: string, extra: Record<string, unknown> = {}) => ({
  session: "corp",
  account_id: account,
  role,
  ...extra,
});

describe("a selection is a role, not a row number", () => {
  const payments = [r("1", "Admin"), r("1", "Dev"), r("2", "Admin"), r("2", "Dev"), r("3", "ReadOnly")];

  it("a new query selects its top match, whatever was selected before", () => {
    const narrowed = [r("3", "ReadOnly"), r("1", "Admin")];
    expect(reselect(keyOf(payments[4]), payments, narrowed, true)).toBe(keyOf(narrowed[0]));
    expect(reselect(keyOf(payments[3]), payments, narrowed, true)).toBe(keyOf(r("3", "ReadOnly")));
  });

  it("new results for the same query keep the selected role, wherever it went", () => {
    const reordered = [payments[3], payments[0], payments[1], payments[2], payments[4]];
    expect(reselect(keyOf(payments[3]), payments, reordered, false)).toBe(keyOf(payments[3]));
    const without = payments.filter((_, i) => i !== 2);
    expect(reselect(keyOf(payments[2]), payments, without, false)).toBe(keyOf(payments[3]));
    expect(reselect(keyOf(payments[4]), payments, payments.slice(0, 2), false)).toBe(keyOf(payments[1]));
    expect(reselect(keyOf(payments[0]), payments, [], false)).toBeNull();
  });

  it("an action's refresh keeps the order shown and updates each row", () => {
    // The backend now puts the role just used (recent) first; the list shown does not move.
    const fresh = [r("3", "ReadOnly", { recent: true }), r("1", "Admin"), r("1", "Dev"), r("2", "Admin"), r("2", "Dev"), r("4", "New")];
    const shown = refreshInPlace(payments, fresh);
    expect(shown.map(keyOf)).toEqual([...payments.map(keyOf), keyOf(r("4", "New"))]);
    expect(shown[4]).toEqual(r("3", "ReadOnly", { recent: true }));
    expect(refreshInPlace(payments, [payments[1]]).map(keyOf)).toEqual([keyOf(payments[1])]);
  });

  it("navigation keys move the selected role along the list shown", () => {
    expect(moveKey("ArrowDown", keyOf(payments[0]), payments)).toBe(keyOf(payments[1]));
    expect(moveKey("ArrowUp", keyOf(payments[0]), payments)).toBe(keyOf(payments[0]));
    expect(moveKey("End", null, payments)).toBe(keyOf(payments[4]));
    expect(moveKey("PageDown", keyOf(payments[1]), payments)).toBe(keyOf(payments[4]));
    expect(moveKey("Home", keyOf(payments[3]), payments)).toBe(keyOf(payments[0]));
    expect(moveKey("ArrowDown", keyOf(r("9", "Gone")), payments)).toBe(keyOf(payments[1]));
    expect(moveKey("a", keyOf(payments[0]), payments)).toBeUndefined();
    expect(moveKey("ArrowDown", null, [])).toBeNull();
  });
});

describe("only the newest query's answer is shown", () => {
  it("an older answer arriving late is dropped", async () => {
    const resolvers: Record<string, (v: string[]) => void> = {};
    const search = new LatestSearch<string[]>((q) => new Promise((res) => (resolvers[q] = res)));
    const old = search.run("payments");
    const newest = search.run("payments prod read");
    resolvers["payments"](["payments-dev/AdministratorAccess"]);
    expect(await old).toBeNull();
    await new Promise((res) => setTimeout(res, 0));
    resolvers["payments prod read"](["payments-prod/ReadOnlyAccess"]);
    expect(await newest).toEqual(["payments-prod/ReadOnlyAccess"]);
  });

  it("while a search runs, keys typed meanwhile ask one search: the newest query's", async () => {
    const asked: string[] = [];
    const resolvers: Record<string, (v: string) => void> = {};
    const search = new LatestSearch<string>((q) => {
      asked.push(q);
      return new Promise((res) => (resolvers[q] = res));
    });
    const a = search.run("p");
    const b = search.run("pa");
    const c = search.run("pay");
    expect(asked).toEqual(["p"]);
    resolvers["p"]("P");
    expect(await a).toBeNull();
    expect(await b).toBeNull();
    await new Promise((res) => setTimeout(res, 0));
    expect(asked).toEqual(["p", "pay"]);
    resolvers["pay"]("PAY");
    expect(await c).toBe("PAY");
  });

  it("Enter waits for the search of what was typed, even one started while it waited", async () => {
    let current: Promise<unknown> = Promise.resolve();
    const log: string[] = [];
    let release: () => void = () => {};
    current = new Promise<void>((res) => (release = res)).then(() => log.push("first"));
    const waiting = whenSettled(() => current).then(() => log.push("acted"));
    const first = current;
    let releaseSecond: () => void = () => {};
    current = new Promise<void>((res) => (releaseSecond = res)).then(() => log.push("second"));
    release();
    await first;
    releaseSecond();
    await waiting;
    expect(log).toEqual(["first", "second", "acted"]);
  });
});

describe("a key while the list refreshes, as a sweep streams accounts in", () => {
  it("acts once the query typed is shown, not when the refreshes of it stop", async () => {
    // Each refresh of the query shown is replaced by the next as soon as it is in (a sweep
    // changes the catalogue many times a second, each change a new search of the same query).
    let refreshes = 0;
    const next = (): Promise<unknown> => new Promise<void>((res) => setTimeout(res, 1)).then(() => {
      if (refreshes < 200) {
        refreshes++;
        current = next();
      }
    });
    let current = next();
    await whenSettled(() => current, () => true);
    expect(refreshes).toBeLessThanOrEqual(2);
  });

  it("still waits for the search of a query typed but not shown yet", async () => {
    let shownQuery = "pay";
    const query = "payments";
    let current: Promise<unknown> = Promise.resolve();
    const log: string[] = [];
    // A refresh of the old query under way; then the search of the new one starts.
    current = new Promise<void>((res) => setTimeout(res, 1)).then(() => {
      log.push("refresh of pay");
      current = new Promise<void>((res) => setTimeout(res, 1)).then(() => {
        shownQuery = query;
        log.push("payments shown");
      });
    });
    await whenSettled(() => current, () => shownQuery === query);
    log.push("acted");
    expect(log).toEqual(["refresh of pay", "payments shown", "acted"]);
  });
});

describe("nothingShown", () => {
  const signIn = "Sign in to load your accounts and roles.";

  it("says no role matches once any session has accounts, even while another still loads", () => {
    expect(nothingShown([{ accounts: 3, sweep: null }, { accounts: 0, sweep: {} }], signIn)).toBe("No role matches.");
  });

  it("says the roles are loading while a sweep runs and no account is in yet", () => {
    expect(nothingShown([{ accounts: 0, sweep: {} }], signIn)).toBe("Loading your accounts and roles: they appear here as they arrive.");
  });

  it("says where to sign in when no session has accounts or a sweep", () => {
    expect(nothingShown([], signIn)).toBe(signIn);
    expect(nothingShown([{ accounts: 0, sweep: null }], signIn)).toBe(signIn);
  });
});

describe("keys of keyed lists", () => {
  // The chips of held credentials and the chains in Settings were keyed by their names run
  // together: sessions "a" and "a1" holding one account's "1Admin" and "Admin" made one key,
  // and a keyed list with two rows of one key breaks.
  it("never join two different roles into one key", () => {
    const held = (session: string, role: string) => ({ session, account_id: "111111111111", role, chain_arn: null });
    const a = held("a", "1Admin");
    const b = held("a1", "Admin");
    expect(a.session + a.account_id + a.role).toBe(b.session + b.account_id + b.role);
    expect(keyOf(a)).not.toBe(keyOf(b));
    expect(partsKey("a", "111111111111", "1x")).not.toBe(partsKey("a1", "111111111111", "x"));
  });
});

describe("a row's element id", () => {
  // The row's actions are drawn beside the element with the selected role's id, and a screen
  // reader reads that element as the one selected: two roles with one id would put the
  // actions of one beside the other.
  it("is never the same for two roles", () => {
    const r = (session: string, account_id: string, role: string, chain_arn: string | null = null) => ({ session, account_id, role, chain_arn });
    const roles = [
      r("corp", "111111111111", "Admin.Read"),
      r("corp", "111111111111", "Admin_Read"),
      r("corp", "111111111111", "Admin@Read"),
      r("corp", "111111111111", "Admin-Read"),
      r("my corp", "111111111111", "Admin"),
      r("my_corp", "111111111111", "Admin"),
      r("a-b", "111111111111", "c"),
      r("a", "111111111111", "b-c"),
      r("corp", "111111111111", "Admin", "arn:aws:iam::222222222222:role/x"),
      r("corp", "111111111111", "Admin", "arn:aws:iam::222222222222:role_x"),
      r("corp", "111111111111", "Admin"),
      r("corp", "111111111111", "Admin", ""),
    ];
    const ids = roles.map(optionId);
    expect(new Set(ids).size).toBe(new Set(roles.map((x) => JSON.stringify({ ...x, chain_arn: x.chain_arn || null }))).size);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
