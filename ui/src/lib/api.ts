// The only module that talks to @tauri-apps/*. Components call these typed functions; the
// types come from Rust (ts-rs, src/lib/bindings). No secret ever comes back from a command.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AppView } from "./bindings/AppView";
import type { ErrorView } from "./bindings/ErrorView";
import type { RoleRef } from "./bindings/RoleRef";
import type { RoleView } from "./bindings/RoleView";
import type { ChainView } from "./bindings/ChainView";
import type { ImportView } from "./bindings/ImportView";
import type { PreferencesView } from "./bindings/PreferencesView";
import type { SettingsView } from "./bindings/SettingsView";
import type { SearchView } from "./bindings/SearchView";
import type { ConsoleMenuView } from "./bindings/ConsoleMenuView";
import type { ConsoleTarget } from "./bindings/ConsoleTarget";
import type { PendingLinkView } from "./bindings/PendingLinkView";
import type { LongTermKeysView } from "./bindings/LongTermKeysView";
import type { LongTermKeyView } from "./bindings/LongTermKeyView";
import type { RetiredView } from "./bindings/RetiredView";

export type {
  AppView,
  ChainView,
  ConsoleMenuView,
  ConsoleTarget,
  ErrorView,
  ImportView,
  LongTermKeysView,
  LongTermKeyView,
  PendingLinkView,
  PreferencesView,
  RoleRef,
  RetiredView,
  RoleView,
  SearchView,
  SettingsView,
};

/** Errors from Rust arrive as {code, message}; anything else is wrapped the same way. */
export function asError(e: unknown): ErrorView {
  if (e && typeof e === "object" && "code" in e && "message" in e) return e as ErrorView;
  return { code: "internal", message: String(e) };
}

export const api = {
  appState: () => invoke<AppView>("app_state"),
  /** The best `limit` matches (at most 300, the default) and how many match in all;
   *  `grouped`: in the list's order (under their accounts) before they are cut. */
  searchRoles: (query: string, limit?: number, grouped?: boolean) =>
    invoke<SearchView>("search_roles", { query, limit, grouped }),
  addSession: (name: string, startUrl: string, region: string) =>
    invoke<void>("add_session", { name, startUrl, region }),
  removeSession: (name: string) => invoke<void>("remove_session", { name }),
  signIn: (session: string, deviceCode: boolean) => invoke<void>("sign_in", { session, deviceCode }),
  cancelSignIn: (session: string) => invoke<void>("cancel_sign_in", { session }),
  openSignInPage: (session: string) => invoke<void>("open_sign_in_page", { session }),
  signOut: (session: string) => invoke<void>("sign_out", { session }),
  refreshCatalog: (session: string) => invoke<void>("refresh_catalog", { session }),
  openConsole: (role: RoleRef, target: ConsoleTarget | null = null) => invoke<void>("open_console", { role, target }),
  consoleMenu: (role: RoleRef) => invoke<ConsoleMenuView>("console_menu", { role }),
  setConsoleMode: (accountId: string, mode: string | null) => invoke<void>("set_console_mode", { accountId, mode }),
  copyConsoleLink: (role: RoleRef, target: ConsoleTarget | null = null) =>
    invoke<string>("copy_console_link", { role, target }),
  answerLink: (id: number, open: boolean) => invoke<void>("answer_link", { id, open }),
  copyEnv: (role: RoleRef, shell: string | null) => invoke<void>("copy_env", { role, shell }),
  copyCredentialProcess: (role: RoleRef) => invoke<void>("copy_credential_process", { role }),
  copyTerminalSession: (role: RoleRef, shell: string | null) => invoke<void>("copy_terminal_session", { role, shell }),
  revokeGrant: (id: string) => invoke<void>("revoke_grant", { id }),
  forgetCredentials: (role: RoleRef) => invoke<void>("forget_credentials", { role }),
  toggleFavourite: (role: RoleRef) => invoke<boolean>("toggle_favourite", { role }),
  setShell: (shell: string) => invoke<void>("set_shell", { shell }),
  setAutostart: (enabled: boolean) => invoke<void>("set_autostart", { enabled }),
  guessRegion: (startUrl: string) => invoke<string | null>("guess_region", { startUrl }),
  hideWindow: () => invoke<void>("hide_window"),
  openSettings: () => invoke<void>("open_settings"),
  settingsState: () => invoke<SettingsView>("settings_state"),
  savePreferences: (preferences: PreferencesView) => invoke<void>("save_preferences", { preferences }),
  setAccount: (accountId: string, alias: string | null, colour: string | null, environment: string | null) =>
    invoke<void>("set_account", { accountId, alias, colour, environment }),
  saveChain: (chain: ChainView) => invoke<void>("save_chain", { chain }),
  removeChain: (session: string, accountId: string, name: string) =>
    invoke<void>("remove_chain", { session, accountId, name }),
  editSession: (name: string, startUrl: string, region: string) =>
    invoke<void>("edit_session", { name, startUrl, region }),
  importSessions: () => invoke<ImportView>("import_sessions"),
  longTermKeys: () => invoke<LongTermKeysView>("long_term_keys"),
  retireKey: (session: string, profile: string, role: string, deactivate: boolean) =>
    invoke<RetiredView>("retire_key", { session, profile, role, deactivate }),
  reportVisible: (roles: number) => invoke<void>("report_visible", { roles, page: pageMarks() }),
  onStateChanged: (f: () => void): Promise<UnlistenFn> => listen("state-changed", () => f()),
  onPickerShown: (f: () => void): Promise<UnlistenFn> => listen("picker-shown", () => f()),
};

export function roleRef(r: { session: string; account_id: string; role: string; chain_arn?: string | null }): RoleRef {
  const ref: RoleRef = { session: r.session, account_id: r.account_id, role: r.role };
  if (r.chain_arn) ref.chain = r.chain_arn;
  return ref;
}

const scriptStart = performance.now();

/** When the page's milestones happened, in ms since the Unix epoch (for the start-up log):
 * navigation, response, script, the marks the components set, now; each with its name. */
function pageMarks(): [string, number][] {
  const origin = performance.timeOrigin;
  const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
  return [
    ["navigation", origin],
    ["response", origin + (nav?.responseEnd ?? 0)],
    ["script", origin + scriptStart],
    ...performance.getEntriesByType("mark").map((m): [string, number] => [m.name, origin + m.startTime]),
    ["frame", origin + performance.now()],
  ];
}
