//! The config file: TOML in the platform config folder (`~/.config/rolecall/config.toml`).
//!
//! Sessions, favourites, aliases and colours, role chains, preferences. The file belongs to the
//! person, so Rolecall is careful with it:
//!
//! - **Any problem is reported, never guessed around**: a syntax error, an unknown key (a typo
//!   such as `shel`), a value of the wrong type or an unknown value (`shell = "tcsh"`), a byte
//!   that is not UTF-8, a FIFO in its place. The error names line and column, and until the file
//!   is fixed **no write touches it** ([`ConfigFile::update`] reads it again before each change).
//! - **Writes keep what the person wrote** ([`edit`]): comments, key order, formatting and keys
//!   of a newer Rolecall stay; only what changed is edited.
//! - **Versions**: `version = N` at the top says which Rolecall wrote keys this one may not
//!   know. Absent means [`FORMAT_VERSION`]. Unknown keys are an error in a file of this version
//!   or older (they are typos) and are kept as they are in a file of a newer one. A change that
//!   adds a key bumps [`FORMAT_VERSION`] and teaches [`Config::needed_version`] about it: a write
//!   that uses the new key stamps the file with that version, so an older Rolecall keeps the
//!   key instead of refusing the file.

mod edit;
mod file;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use file::ConfigFile;

use crate::partition::{Region, is_account_id, is_role_name};
use crate::session::{SsoSession, validate_start_url};
use crate::shell::ShellFormat;
use crate::signin::SignInMethod;
use crate::text::has_hidden;

/// The config format this Rolecall writes and knows every key of. Version 2 added
/// `environments`, version 3 `[[registry]]`, version 4 `[console]` and `[[role]]`.
pub const FORMAT_VERSION: u32 = 4;

pub use crate::browser::{BrowserKind, ConsoleMode};

/// How consoles open, for a session or an account: what is unset here comes from the wider
/// setting (account, then session, then `[console]`, then switch in the default browser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ConsoleChoice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<ConsoleMode>,
    /// The browser to start (detected on PATH); the default browser when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<BrowserKind>,
    /// The browser profile (profile mode): a Chromium profile folder name (`Profile 2`) or a
    /// Firefox profile name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl ConsoleChoice {
    /// Each setting from `self`, else from `wider`.
    pub fn or(&self, wider: &ConsoleChoice) -> ConsoleChoice {
        ConsoleChoice {
            mode: self.mode.or(wider.mode),
            browser: self.browser.or(wider.browser),
            profile: self.profile.clone().or_else(|| wider.profile.clone()),
        }
    }
}

/// `[console]`: how consoles open by default, with `[console.sessions.NAME]` and
/// `[console.accounts."ID"]` overrides. Version 4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ConsoleConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<ConsoleMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<BrowserKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sessions: BTreeMap<String, ConsoleChoice>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<String, ConsoleChoice>,
}

impl ConsoleConfig {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn wide(&self) -> ConsoleChoice {
        ConsoleChoice {
            mode: self.mode,
            browser: self.browser,
            profile: self.profile.clone(),
        }
    }
}

/// A role's console defaults: where its Console button goes, in which region, for how long.
/// Version 4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDefaults {
    pub session: String,
    pub account_id: String,
    /// The role (or a chain's name).
    pub role: String,
    /// A console service (`ec2`) or a console path (`/ec2/home#Instances:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Console session length, 900 to 43200 s (what the role allows at most).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_seconds: Option<u64>,
}

/// A destination as written: a path when it starts with `/`, else a service name.
pub fn check_destination(destination: &str) -> Result<(), String> {
    let region = Region::parse("us-east-1").map_err(|e| e.to_string())?;
    crate::console::Destination::parse(destination)
        .url(&region)
        .map(drop)
        .map_err(|e| e.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// Warnings before credentials expire, in seconds.
    pub warnings_seconds: Vec<u64>,
    pub auto_renew: bool,
    pub shell: ShellFormat,
    /// Console region; the session's region when unset.
    pub console_region: Option<String>,
    pub sign_in_method: SignInMethod,
    /// Clear the clipboard this long after copying credentials, if it still holds them (0: never).
    pub clipboard_clear_seconds: u64,
    /// Global shortcut of the quick picker.
    pub shortcut: String,
    /// Portal requests per second during a catalogue sweep.
    pub portal_rps: u32,
    pub autostart: bool,
    /// Keep the window's web view loaded while it is hidden: it reopens faster but holds
    /// about 150 MiB more (see README, benchmarks).
    pub keep_window_loaded: bool,
    /// Say this long before a sign-in ends that it is ending, in seconds (a quarter of the
    /// session for shorter sessions).
    pub session_warning_seconds: u64,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            warnings_seconds: vec![600, 60],
            auto_renew: false,
            shell: ShellFormat::Sh,
            console_region: None,
            sign_in_method: SignInMethod::Pkce,
            clipboard_clear_seconds: 45,
            shortcut: "CommandOrControl+Shift+K".into(),
            portal_rps: 20,
            autostart: false,
            keep_window_loaded: false,
            session_warning_seconds: 15 * 60,
        }
    }
}

impl Preferences {
    pub fn warnings(&self) -> Vec<Duration> {
        self.warnings_seconds
            .iter()
            .map(|s| Duration::from_secs(*s))
            .collect()
    }
}

/// A role to pin at the top of lists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Favourite {
    pub session: String,
    pub account_id: String,
    pub role: String,
}

/// A role assumed from an SSO role (role chaining, at most one hour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChain {
    pub name: String,
    pub session: String,
    pub account_id: String,
    pub role: String,
    pub role_arn: String,
}

/// A container registry (ECR) whose Docker credentials come from a role: what
/// `rolecall ecr login` writes and `docker-credential-rolecall` answers for. Version 3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// `<account id>.dkr.ecr.<region>.amazonaws.com` (or `.amazonaws.com.cn`).
    pub host: String,
    pub session: String,
    pub account_id: String,
    /// The role (or a chain's name) whose credentials ask ECR for the password.
    pub role: String,
}

/// `<12 digits>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`, and its region.
pub fn ecr_registry_region(host: &str) -> Option<&str> {
    let (account, rest) = host.split_once('.')?;
    let rest = rest
        .strip_prefix("dkr.ecr.")
        .or_else(|| rest.strip_prefix("dkr.ecr-fips."))?;
    let region = rest
        .strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))?;
    (is_account_id(account) && crate::partition::is_region(region)).then_some(region)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Config {
    /// The format version of the file (see the module's notes); `None`: [`FORMAT_VERSION`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    pub preferences: Preferences,
    #[serde(rename = "session", skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<SsoSession>,
    #[serde(rename = "favourite", skip_serializing_if = "Vec::is_empty")]
    pub favourites: Vec<Favourite>,
    /// Account id -> a name of the person's choosing.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, String>,
    /// Account id -> a CSS colour.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub colours: BTreeMap<String, String>,
    /// Account id -> its environment (`prod`, `staging`, `dev`, `sandbox`, ...), shown beside
    /// its name. Version 2.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, String>,
    #[serde(rename = "chain", skip_serializing_if = "Vec::is_empty")]
    pub chains: Vec<RoleChain>,
    /// Version 3.
    #[serde(rename = "registry", skip_serializing_if = "Vec::is_empty")]
    pub registries: Vec<Registry>,
    /// Version 4.
    #[serde(skip_serializing_if = "ConsoleConfig::is_empty")]
    pub console: ConsoleConfig,
    /// Version 4.
    #[serde(rename = "role", skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleDefaults>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{path}:{line}:{column}: {message}. The file was left as it is; fix it or move it away"
    )]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot read or write {path}: {message}")]
    Io { path: String, message: String },
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Parse { .. } => "config_parse",
            Self::Invalid { .. } => "config_invalid",
            Self::Io { .. } => "config_io",
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where an ignored (unknown) key sits, from serde_ignored's path.
fn ignored_segments(path: &serde_ignored::Path<'_>, out: &mut Vec<Segment>) {
    use serde_ignored::Path;
    match path {
        Path::Root => {}
        Path::Seq { parent, index } => {
            ignored_segments(parent, out);
            out.push(Segment::Index(*index));
        }
        Path::Map { parent, key } => {
            ignored_segments(parent, out);
            out.push(Segment::Key(key.clone()));
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_segments(parent, out),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// The byte offset of the key at `segments` in `text`, from the parser's spans.
fn key_offset(text: &str, segments: &[Segment]) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let root = DeTable::parse(text).ok()?;
    let mut table: &DeTable<'_> = root.get_ref();
    let mut value: Option<&DeValue<'_>> = None;
    let mut offset = None;
    for segment in segments {
        match segment {
            Segment::Key(k) => {
                if let Some(v) = value {
                    table = v.as_table()?;
                }
                let (key, v) = table.get_key_value(k.as_str())?;
                offset = Some(key.span().start);
                value = Some(v.get_ref());
            }
            Segment::Index(i) => {
                let array = value?.as_array()?;
                value = Some(array.get(*i)?.get_ref());
            }
        }
    }
    offset
}

/// The keys Rolecall knows in the table at `segments` (for "did you mean").
fn known_keys(segments: &[Segment]) -> &'static [&'static str] {
    let names: Vec<&str> = segments
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.as_str()),
            Segment::Index(_) => None,
        })
        .collect();
    match names.as_slice() {
        [_] => &[
            "version",
            "preferences",
            "session",
            "favourite",
            "aliases",
            "colours",
            "environments",
            "chain",
            "registry",
            "console",
            "role",
        ],
        ["preferences", _] => &[
            "warnings_seconds",
            "auto_renew",
            "shell",
            "console_region",
            "sign_in_method",
            "clipboard_clear_seconds",
            "shortcut",
            "portal_rps",
            "autostart",
            "keep_window_loaded",
            "session_warning_seconds",
        ],
        ["session", _] => &[
            "name",
            "start_url",
            "region",
            "endpoints",
            "session_duration_seconds",
            "use_fips_endpoint",
            "use_dualstack_endpoint",
        ],
        ["session", "endpoints", _] => &["oidc", "portal", "sts", "iam", "federation"],
        ["favourite", _] => &["session", "account_id", "role"],
        ["chain", _] => &["name", "session", "account_id", "role", "role_arn"],
        ["registry", _] => &["host", "session", "account_id", "role"],
        ["console", _] => &["mode", "browser", "profile", "sessions", "accounts"],
        ["console", "sessions" | "accounts", _, _] => &["mode", "browser", "profile"],
        ["role", _] => &[
            "session",
            "account_id",
            "role",
            "destination",
            "region",
            "session_seconds",
        ],
        _ => &[],
    }
}

/// The known key closest to `typed`, if it is close (two edits at most).
fn closest<'a>(typed: &str, known: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let here = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(here + 1);
                prev = here;
            }
        }
        row[b.len()]
    }
    known
        .iter()
        .map(|k| (distance(typed, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn describe_key(segments: &[Segment]) -> (String, String) {
    let mut table = String::new();
    let mut last = String::new();
    for (i, s) in segments.iter().enumerate() {
        match s {
            Segment::Key(k) if i + 1 == segments.len() => last = k.clone(),
            Segment::Key(k) => {
                if !table.is_empty() {
                    table.push('.');
                }
                table.push_str(k);
            }
            Segment::Index(_) => {}
        }
    }
    (table, last)
}

impl Config {
    /// Parses and validates config text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let at = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            ConfigError::Parse {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        let from_toml =
            |e: toml::de::Error| at(e.span().map_or(0, |s| s.start), e.message().to_owned());
        let mut unknown: Vec<Vec<Segment>> = Vec::new();
        let deserializer = toml::de::Deserializer::parse(text).map_err(from_toml)?;
        let config: Config = serde_ignored::deserialize(deserializer, |p| {
            let mut segments = Vec::new();
            ignored_segments(&p, &mut segments);
            unknown.push(segments);
        })
        .map_err(from_toml)?;
        if let Some(first) = unknown.first() {
            let version = config.version.unwrap_or(FORMAT_VERSION);
            if version <= FORMAT_VERSION {
                let (table, key) = describe_key(first);
                let place = if table.is_empty() {
                    "at the top level".to_owned()
                } else {
                    format!("in [{table}]")
                };
                let hint = closest(&key, known_keys(first))
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                return Err(at(
                    key_offset(text, first).unwrap_or(0),
                    format!(
                        "unknown key `{}` {place}{hint}",
                        crate::text::printable(&key)
                    ),
                ));
            }
            tracing::info!(
                "{path}: {} key(s) of a newer Rolecall (config version {version}) are kept as they are",
                unknown.len()
            );
        }
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        Ok(config)
    }

    /// The config as TOML, every known key written (what a new file holds).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Names unique and printable, start URLs and regions well formed, account ids and role
    /// names as AWS makes them, chains pointing at known sessions, colours that are colours.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for s in &self.sessions {
            if s.name.trim().is_empty() {
                return Err("a session has an empty name".into());
            }
            if has_hidden(&s.name) || s.name.chars().count() > 64 {
                return Err(format!(
                    "session name {:?} must be at most 64 characters with no control or bidi characters",
                    s.name
                ));
            }
            if !names.insert(s.name.as_str()) {
                return Err(format!("two sessions are named {:?}", s.name));
            }
            validate_start_url(&s.start_url).map_err(|e| format!("session {:?}: {e}", s.name))?;
            s.endpoints
                .validate()
                .map_err(|e| format!("session {:?}: {e}", s.name))?;
            if let Some(d) = s.session_duration_seconds
                && (d == 0 || d > crate::session::SESSION_DURATION_BOUNDS.1)
            {
                return Err(format!(
                    "session {:?}: session_duration_seconds must be the organisation's IAM Identity Center session duration, 900 (15 minutes) to 7776000 (90 days); it is {d}",
                    s.name
                ));
            }
        }
        for f in &self.favourites {
            if !is_account_id(&f.account_id) || !is_role_name(&f.role) {
                return Err(format!(
                    "favourite {:?}/{:?} is not a 12-digit account id and an IAM role name",
                    f.account_id, f.role
                ));
            }
        }
        for c in &self.chains {
            if !names.contains(c.session.as_str()) {
                return Err(format!(
                    "chain {:?} names an unknown session {:?}",
                    c.name, c.session
                ));
            }
            if !is_role_name(&c.name) {
                return Err(format!(
                    "chain name {:?} must be 1 to 64 of A-Za-z0-9_+=,.@- (it is typed on the command line and names profiles)",
                    c.name
                ));
            }
            if !is_account_id(&c.account_id) || !is_role_name(&c.role) {
                return Err(format!(
                    "chain {:?}: {:?}/{:?} is not a 12-digit account id and an IAM role name",
                    c.name, c.account_id, c.role
                ));
            }
            if !crate::partition::is_role_arn(&c.role_arn) {
                return Err(format!(
                    "chain {:?}: {:?} is not a role ARN",
                    c.name, c.role_arn
                ));
            }
        }
        let mut hosts = std::collections::HashSet::new();
        for r in &self.registries {
            if ecr_registry_region(&r.host).is_none() {
                return Err(format!(
                    "registry {:?} is not an ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com)",
                    r.host
                ));
            }
            if !names.contains(r.session.as_str()) {
                return Err(format!(
                    "registry {:?} names an unknown session {:?}",
                    r.host, r.session
                ));
            }
            if !is_account_id(&r.account_id) || !is_role_name(&r.role) {
                return Err(format!(
                    "registry {:?}: {:?}/{:?} is not a 12-digit account id and a role name",
                    r.host, r.account_id, r.role
                ));
            }
            if !hosts.insert(r.host.as_str()) {
                return Err(format!("registry {:?} is listed twice", r.host));
            }
        }
        let mut chain_names = std::collections::HashSet::new();
        for c in &self.chains {
            if !chain_names.insert((&c.session, &c.account_id, &c.name)) {
                return Err(format!(
                    "two chains from account {} of session {:?} are named {:?}",
                    c.account_id, c.session, c.name
                ));
            }
        }
        for (id, alias) in &self.aliases {
            if !is_account_id(id) || alias.trim().is_empty() || has_hidden(alias) {
                return Err(format!(
                    "alias {id:?} = {alias:?}: an alias maps a 12-digit account id to a printable name"
                ));
            }
        }
        for (id, env) in &self.environments {
            let ok = is_account_id(id)
                && (1..=16).contains(&env.len())
                && env
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(format!(
                    "environment {id:?} = {env:?}: an environment maps a 12-digit account id to a short word (prod, staging, dev...)"
                ));
            }
        }
        for (id, colour) in &self.colours {
            if !is_account_id(id) || !is_css_colour(colour) {
                return Err(format!(
                    "colour {id:?} = {colour:?}: a colour maps a 12-digit account id to #rgb, #rrggbb or a colour name"
                ));
            }
        }
        if let Some(r) = &self.preferences.console_region {
            Region::parse(r).map_err(|e| format!("console_region: {e}"))?;
        }
        self.validate_console(&names)
    }

    fn validate_console(&self, sessions: &std::collections::HashSet<&str>) -> Result<(), String> {
        let check = |place: &str, c: &ConsoleChoice| -> Result<(), String> {
            if let Some(p) = &c.profile {
                crate::browser::validate_profile(p).map_err(|e| format!("{place}: {e}"))?;
            }
            if c.mode == Some(ConsoleMode::Container) && c.browser.is_some_and(|b| !b.is_firefox())
            {
                return Err(format!(
                    "{place}: containers are Firefox's; the browser must be firefox"
                ));
            }
            Ok(())
        };
        check("[console]", &self.console.wide())?;
        for (name, c) in &self.console.sessions {
            if !sessions.contains(name.as_str()) {
                return Err(format!(
                    "[console.sessions.{name}] names an unknown session"
                ));
            }
            check(&format!("[console.sessions.{name}]"), c)?;
        }
        for (id, c) in &self.console.accounts {
            if !is_account_id(id) {
                return Err(format!(
                    "[console.accounts.{id:?}]: accounts are named by their 12-digit id"
                ));
            }
            check(&format!("[console.accounts.\"{id}\"]"), c)?;
        }
        let mut seen = std::collections::HashSet::new();
        for r in &self.roles {
            let place = format!("role {:?}/{:?}", r.account_id, r.role);
            if !sessions.contains(r.session.as_str()) {
                return Err(format!("{place} names an unknown session {:?}", r.session));
            }
            if !is_account_id(&r.account_id) || !is_role_name(&r.role) {
                return Err(format!(
                    "{place} is not a 12-digit account id and a role name"
                ));
            }
            if !seen.insert((&r.session, &r.account_id, &r.role)) {
                return Err(format!("{place} is listed twice"));
            }
            if let Some(d) = &r.destination {
                check_destination(d).map_err(|e| format!("{place}: {e}"))?;
            }
            if let Some(region) = &r.region {
                Region::parse(region).map_err(|e| format!("{place}: {e}"))?;
            }
            if let Some(s) = r.session_seconds
                && !(900..=43_200).contains(&s)
            {
                return Err(format!(
                    "{place}: session_seconds must be between 900 and 43200"
                ));
            }
        }
        Ok(())
    }

    /// How consoles of `account_id` in `session` open: the account's setting, else the
    /// session's, else `[console]`'s.
    pub fn console_choice(&self, session: &str, account_id: &str) -> ConsoleChoice {
        let none = ConsoleChoice::default();
        let account = self.console.accounts.get(account_id).unwrap_or(&none);
        let session = self.console.sessions.get(session).unwrap_or(&none);
        account.or(session).or(&self.console.wide())
    }

    /// A role's console defaults, if the person set any.
    pub fn role_defaults(
        &self,
        session: &str,
        account_id: &str,
        role: &str,
    ) -> Option<&RoleDefaults> {
        self.roles
            .iter()
            .find(|r| r.session == session && r.account_id == account_id && r.role == role)
    }

    /// The oldest format version that knows every key this config uses: what the file must
    /// say, so that an older Rolecall reads the newer keys as a newer version's, not as typos.
    pub fn needed_version(&self) -> u32 {
        if !self.console.is_empty() || !self.roles.is_empty() {
            4
        } else if !self.registries.is_empty() {
            3
        } else if !self.environments.is_empty() {
            2
        } else {
            1
        }
    }

    pub fn session(&self, name: &str) -> Option<&SsoSession> {
        self.sessions.iter().find(|s| s.name == name)
    }

    /// Adds a session, or replaces the one with the same name.
    pub fn upsert_session(&mut self, session: SsoSession) {
        match self.sessions.iter_mut().find(|s| s.name == session.name) {
            Some(existing) => *existing = session,
            None => self.sessions.push(session),
        }
    }

    pub fn is_favourite(&self, session: &str, account_id: &str, role: &str) -> bool {
        self.favourites
            .iter()
            .any(|f| f.session == session && f.account_id == account_id && f.role == role)
    }

    /// Flips a favourite; returns whether it is one now.
    pub fn toggle_favourite(&mut self, fav: Favourite) -> bool {
        if let Some(i) = self.favourites.iter().position(|f| *f == fav) {
            self.favourites.remove(i);
            false
        } else {
            self.favourites.push(fav);
            true
        }
    }
}

/// `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa` or a CSS colour name (letters only): nothing that
/// could carry more CSS into a style attribute.
pub fn is_css_colour(s: &str) -> bool {
    match s.strip_prefix('#') {
        Some(hex) => {
            matches!(hex.len(), 3 | 4 | 6 | 8) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => (1..=30).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic()),
    }
}

#[cfg(test)]
mod tests;
