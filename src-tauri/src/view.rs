//! What the webview sees: plain data, generated as TypeScript (ts-rs) into
//! `ui/src/lib/bindings/`, committed, and checked by CI. No type here may hold a secret.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// An error as it crosses to the UI: the UI branches on `code`, shows `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct ErrorView {
    pub code: String,
    pub message: String,
}

impl From<rolecall_core::CoreError> for ErrorView {
    fn from(e: rolecall_core::CoreError) -> Self {
        let p = e.payload();
        Self {
            code: p.code,
            message: p.message,
        }
    }
}

/// A sign-in waiting for the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct SignInView {
    /// `device_code` (show the code) or `browser` (PKCE: the browser finishes by itself).
    pub kind: String,
    pub user_code: Option<String>,
    pub url: String,
    #[ts(type = "number")]
    pub expires_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct SweepView {
    pub done: u32,
    pub total: u32,
    pub total_known: bool,
    /// What went wrong with the last request and that it is tried again (network, 5xx),
    /// shown at once instead of a silent wait.
    pub retrying: Option<String>,
    #[ts(type = "number | null")]
    pub retry_at_ms: Option<u64>,
}

/// Something that failed for a session, and what Retry does about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct SessionErrorView {
    pub code: String,
    pub message: String,
    /// `sign_in` (in the browser), `sign_in_code` (with a device code) or `refresh` (sweep
    /// the catalogue again): what failed is what Retry does again.
    pub retry: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct SessionView {
    pub name: String,
    pub start_url: String,
    pub region: String,
    pub signed_in: bool,
    /// When the current access token ends (it is refreshed before that while signed in).
    #[ts(type = "number | null")]
    pub expires_at_ms: Option<u64>,
    #[ts(type = "number | null")]
    pub refreshed_at_ms: Option<u64>,
    /// When the person must sign in again (the organisation's session duration after the
    /// sign-in; the config's `session_duration_seconds`, 8 hours unless set).
    #[ts(type = "number | null")]
    pub session_ends_at_ms: Option<u64>,
    /// The sign-in ends within the warning time: the window offers to sign in again now.
    pub ending_soon: bool,
    /// The last sign-in of this run used a code (device flow): signing in again does too.
    pub signed_in_with_code: bool,
    pub accounts: u32,
    pub roles: u32,
    /// `signed_in`, `signing_in` or `signed_out`: the one word the window shows, decided here
    /// so that no two parts of it can contradict each other.
    pub state: String,
    pub sign_in: Option<SignInView>,
    pub sweep: Option<SweepView>,
    pub error: Option<SessionErrorView>,
}

/// Credentials held in memory right now (no secret: times and names only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct ActiveView {
    pub session: String,
    pub account_id: String,
    pub account_name: String,
    /// The person's own name for the account, shown in its place.
    pub alias: Option<String>,
    pub role: String,
    /// The chain's name, for chained credentials.
    pub chain: Option<String>,
    pub chain_arn: Option<String>,
    #[ts(type = "number")]
    pub expires_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct RoleView {
    pub session: String,
    pub account_id: String,
    pub account_name: String,
    pub email: String,
    pub role: String,
    pub alias: Option<String>,
    pub colour: Option<String>,
    /// The account's environment tag (`prod`, `dev`, ...), if the person gave it one.
    pub environment: Option<String>,
    pub favourite: bool,
    pub recent: bool,
    /// Set while credentials for this role are held.
    #[ts(type = "number | null")]
    pub expires_at_ms: Option<u64>,
    /// For a role chained from `role` (assumed through STS, one hour at most): its name and
    /// the role ARN.
    pub chain: Option<String>,
    pub chain_arn: Option<String>,
}

/// A terminal session served by the local credential endpoint (no token: it was shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct GrantView {
    pub id: String,
    pub session: String,
    pub account_id: String,
    pub account_name: String,
    pub role: String,
    #[ts(type = "number")]
    pub created_ms: u64,
    #[ts(type = "number")]
    pub uses: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct AppView {
    pub sessions: Vec<SessionView>,
    pub active: Vec<ActiveView>,
    pub grants: Vec<GrantView>,
    /// The remembered shell format for Copy env.
    pub shell: String,
    pub shells: Vec<String>,
    /// Seconds before expiry when countdowns turn amber.
    #[ts(type = "number")]
    pub warning_seconds: u64,
    pub demo: bool,
    pub config_problem: Option<ErrorView>,
    pub keychain_warning: Option<String>,
    pub shortcut: String,
    /// Rolecall starts, hidden in the tray, when the person logs in.
    pub autostart: bool,
    /// A `rolecall://` link waiting for the person's answer.
    pub pending_link: Option<PendingLinkView>,
    /// Long-term access keys found in the AWS files, the environment and the shell histories
    /// (looked for at start, after each sign-in and after each retire): a quiet banner.
    pub long_term_keys: u32,
}

/// A long-term access key found on this machine: its id masked, never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct LongTermKeyView {
    /// `AKIA…7QXY`.
    pub key_id: String,
    /// `~/.aws/credentials:7 [legacy]`, `environment (AWS_ACCESS_KEY_ID)`, `~/.bash_history:42`.
    pub found_in: String,
    /// `aws_file`, `environment`, `shell_history` or `file`.
    pub source: String,
    /// The AWS-file profile whose key it is: what Retire moves onto Rolecall.
    pub profile: Option<String>,
    /// Profiles whose credentials it is (its own, and through `source_profile`).
    pub used_by: Vec<String>,
    pub account_id: Option<String>,
    pub account_name: Option<String>,
    /// The session with a role in that account, and the person's roles there.
    pub session: Option<String>,
    pub roles: Vec<String>,
    /// `last used 2026-12-07T20:41:00Z by sts in us-east-1`, `never used`, or None when IAM
    /// could not be asked.
    pub last_used: Option<String>,
}

/// The "Long-term keys" panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct LongTermKeysView {
    pub keys: Vec<LongTermKeyView>,
    /// False when no session was signed in to ask STS which account each key is of.
    pub accounts_named: bool,
}

/// What Retire did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct RetiredView {
    pub message: String,
    /// When the key could not be made inactive: what to do by hand.
    pub still_active: Option<String>,
}

/// Where a console opens and how, as the window asks (all optional: the role's defaults and
/// the "How consoles open" settings fill in the rest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct ConsoleTarget {
    #[serde(default)]
    #[ts(optional)]
    pub service: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub path: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub region: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub mode: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub force: Option<bool>,
}

impl ConsoleTarget {
    pub fn ask(&self) -> Result<rolecall_core::console::ConsoleAsk, rolecall_core::CoreError> {
        let mode = self
            .mode
            .as_deref()
            .map(rolecall_engine::browser::ConsoleMode::from_name)
            .transpose()
            .map_err(rolecall_core::CoreError::Invalid)?;
        Ok(rolecall_core::console::ConsoleAsk {
            mode,
            service: self.service.clone().filter(|s| !s.trim().is_empty()),
            path: self.path.clone().filter(|s| !s.trim().is_empty()),
            region: self.region.clone().filter(|s| !s.trim().is_empty()),
            session_seconds: None,
            force: self.force.unwrap_or(false),
        })
    }

    /// The page it names (a path, or a service), for the recent destinations.
    pub fn place(&self) -> Option<String> {
        self.path
            .clone()
            .or_else(|| self.service.clone())
            .filter(|p| !p.trim().is_empty())
    }
}

/// A service of the console menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct ServiceView {
    pub id: String,
    pub name: String,
}

/// The console menu of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct ConsoleMenuView {
    /// How its consoles open now (multi-session, container, profile, switch).
    pub mode: String,
    /// The mode set for its account, if one is.
    pub account_mode: Option<String>,
    pub modes: Vec<String>,
    /// The role's own destination (a service or a path), if set.
    pub default_destination: Option<String>,
    /// Pages it was opened at lately, newest first.
    pub recent: Vec<String>,
    pub services: Vec<ServiceView>,
    /// A chained role: its console session lasts one hour at most.
    pub chained: bool,
}

/// A `rolecall://` link waiting for the person's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct PendingLinkView {
    /// This link's own number: an answer names it, so an answer given to one link can never
    /// act on another that replaced it meanwhile.
    pub id: u32,
    /// What it opens, in words.
    pub description: String,
}

/// What identifies a role in commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct RoleRef {
    pub session: String,
    pub account_id: String,
    pub role: String,
    /// The role ARN assumed from `role`, for a chained role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub chain: Option<String>,
}

impl RoleRef {
    /// The vault's key for it.
    pub fn key(&self) -> rolecall_engine::vault::RoleKey {
        let key = rolecall_engine::vault::RoleKey::new(&self.session, &self.account_id, &self.role);
        match &self.chain {
            Some(arn) => key.chained(arn),
            None => key,
        }
    }
}

/// Every preference, as the Settings window edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct PreferencesView {
    /// Warnings before credentials expire, in seconds.
    #[ts(type = "number[]")]
    pub warnings_seconds: Vec<u64>,
    pub auto_renew: bool,
    pub shell: String,
    pub console_region: Option<String>,
    /// `pkce` or `device-code`.
    pub sign_in_method: String,
    #[ts(type = "number")]
    pub clipboard_clear_seconds: u64,
    pub shortcut: String,
    pub portal_rps: u32,
    pub autostart: bool,
    pub keep_window_loaded: bool,
    /// How consoles open by default: multi-session, container, profile or switch.
    pub console_mode: String,
    /// The browser consoles open in (`firefox`, `chromium`, ...); empty: the default browser.
    pub console_browser: String,
}

/// An account as Settings shows it: its names and the person's own labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct AccountSettingsView {
    pub session: String,
    pub account_id: String,
    pub account_name: String,
    pub roles: Vec<String>,
    pub alias: Option<String>,
    pub colour: Option<String>,
    pub environment: Option<String>,
}

/// A role chained from an SSO role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct ChainView {
    pub name: String,
    pub session: String,
    pub account_id: String,
    pub role: String,
    pub role_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct SessionSettingsView {
    pub name: String,
    pub start_url: String,
    pub region: String,
}

/// What the Settings window shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct SettingsView {
    pub preferences: PreferencesView,
    /// Why the global shortcut cannot work here (a Wayland session, or the shortcut could not
    /// be registered), with what to bind instead; Settings then shows this, not a shortcut
    /// field that would silently do nothing.
    pub shortcut_unavailable: Option<String>,
    pub shells: Vec<String>,
    /// The console modes, and the browsers found on this machine.
    pub console_modes: Vec<String>,
    pub browsers: Vec<String>,
    pub sessions: Vec<SessionSettingsView>,
    pub accounts: Vec<AccountSettingsView>,
    pub chains: Vec<ChainView>,
    pub config_path: String,
    pub config_problem: Option<ErrorView>,
}

/// What importing from ~/.aws/config did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct ImportView {
    pub imported: Vec<String>,
    /// One sentence per section left out, and why.
    pub skipped: Vec<String>,
}

/// The roles a query found: the best few hundred, and how many matched in all (the window says
/// when it shows fewer: nothing is cut off silently).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct SearchView {
    pub roles: Vec<RoleView>,
    pub total: u32,
}

/// What the first frame of the main page or the picker's shows (its state, and its first rows
/// for the empty query), put in the page itself when it is served, so that frame waits for no command
/// ([`first_view_block`]). The page asks with commands when it is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/bindings/")]
pub struct FirstView {
    pub state: AppView,
    pub results: SearchView,
}

/// The id of the element that holds a [`FirstView`] in the page.
pub const FIRST_VIEW_ID: &str = "rolecall-first-view";

/// `json` as an HTML data block (`<script type="application/json">`): the page reads it, and
/// nothing in it runs (a data block is no script, and the page's policy allows no inline
/// script anyway). Names come from the portal and the config: `<`, `>` and `&` are written as
/// JSON escapes, so no name can end the block or open markup; U+2028 and U+2029 too.
pub fn first_view_block(json: &str) -> String {
    let mut safe = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            '\u{2028}' => safe.push_str("\\u2028"),
            '\u{2029}' => safe.push_str("\\u2029"),
            c => safe.push(c),
        }
    }
    format!(r#"<script type="application/json" id="{FIRST_VIEW_ID}">{safe}</script>"#)
}

/// `html` with `block` put first in its body; `None` for a page with no `<body>` tag.
pub fn with_block_in_body(html: &str, block: &str) -> Option<String> {
    let at = html.find("<body")?;
    let at = at + html[at..].find('>')? + 1;
    Some(format!("{}{block}{}", &html[..at], &html[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Account and role names come from the portal and the config: a name that holds
    /// `</script>` must stay text in the block, never end it or open markup in the page.
    #[test]
    fn a_hostile_name_cannot_end_the_first_view_block_or_open_markup() {
        let name = "</script><script>alert(1)</script><!-- & \u{2028}</SCRIPT >";
        let json = serde_json::json!({ "role": name }).to_string();
        let block = first_view_block(&json);
        let open = format!(r#"<script type="application/json" id="{FIRST_VIEW_ID}">"#);
        let inner = block
            .strip_prefix(&open)
            .and_then(|b| b.strip_suffix("</script>"))
            .expect("one block, closed once at its end");
        assert!(!inner.contains(['<', '>', '&', '\u{2028}']), "{inner}");
        // What the page reads back is the name as it was.
        let read: serde_json::Value = serde_json::from_str(inner).expect("the block holds JSON");
        assert_eq!(read["role"], name);
    }

    #[test]
    fn the_first_view_goes_first_in_the_page_body() {
        let page = "<html><head><title>Rolecall</title></head>\n  <body class=\"x\">\n    <div id=\"app\"></div>\n  </body></html>";
        let put = with_block_in_body(page, "<B>").expect("the page has a body");
        assert_eq!(
            put,
            "<html><head><title>Rolecall</title></head>\n  <body class=\"x\"><B>\n    <div id=\"app\"></div>\n  </body></html>"
        );
        assert_eq!(with_block_in_body("<p>no body</p>", "<B>"), None);
    }
}
