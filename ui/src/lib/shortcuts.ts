// The keys of the role list, in one table: what the "?" overlay shows is what the handler does.
// Pure, tested with Vitest.

export type Action = "console" | "env" | "terminal" | "process" | "forget" | "favourite";

export interface Shortcut {
  keys: string;
  what: string;
  action?: Action;
}

export const SHORTCUTS: Shortcut[] = [
  { keys: "Enter", what: "Open the console", action: "console" },
  { keys: "Ctrl+C", what: "Copy env (the shell chosen beside the search box)", action: "env" },
  { keys: "Ctrl+T", what: "Copy a terminal session (no key in the shell)", action: "terminal" },
  { keys: "Ctrl+P", what: "Copy the credential_process profile line", action: "process" },
  { keys: "Ctrl+S", what: "Favourite or not", action: "favourite" },
  { keys: "Ctrl+D", what: "Forget the credentials held", action: "forget" },
  { keys: "↑ ↓", what: "Previous, next role" },
  { keys: "Page Up, Page Down", what: "Ten roles up, down" },
  { keys: "Home, End", what: "First, last role" },
  { keys: "F1, or ? in an empty search", what: "These keys" },
];

/** The action a key press asks for, if any. Ctrl+C is text copying when text is selected. */
export function actionFor(e: { key: string; ctrlKey: boolean; metaKey: boolean }, textSelected = false): Action | null {
  if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) return "console";
  if (!(e.ctrlKey || e.metaKey)) return null;
  switch (e.key.toLowerCase()) {
    case "c": return textSelected ? null : "env";
    case "t": return "terminal";
    case "p": return "process";
    case "s": return "favourite";
    case "d": return "forget";
    default: return null;
  }
}
