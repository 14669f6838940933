//! The config file: TOML in the platform config folder (`~/.config/rolecall/config.toml`).
//!
//! Sessions, favourites, aliases and colours, role chains, preferences. Written atomically. A
//! file that does not parse gives an error naming line and column, is left exactly as it was
//! (saving over it is refused), and does not stop the app: it starts with defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::files::write_atomic;
use crate::session::{SsoSession, is_region, validate_start_url};
use crate::shell::ShellFormat;
use crate::signin::SignInMethod;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
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
#[serde(deny_unknown_fields)]
pub struct Favourite {
    pub session: String,
    pub account_id: String,
    pub role: String,
}

/// A role assumed from an SSO role (role chaining, at most one hour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChain {
    pub name: String,
    pub session: String,
    pub account_id: String,
    pub role: String,
    pub role_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
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
    #[serde(rename = "chain", skip_serializing_if = "Vec::is_empty")]
    pub chains: Vec<RoleChain>,
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
    #[error("{path} does not parse, so it was not overwritten; fix it or move it away first")]
    WouldOverwriteCorrupt { path: String },
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Parse { .. } => "config_parse",
            Self::Invalid { .. } => "config_invalid",
            Self::Io { .. } => "config_io",
            Self::WouldOverwriteCorrupt { .. } => "config_corrupt",
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Config {
    /// Parses and validates config text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            ConfigError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the config always serialises")
    }

    /// Names unique, start URLs and regions well formed, chains pointing at known sessions.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for s in &self.sessions {
            if s.name.trim().is_empty() {
                return Err("a session has an empty name".into());
            }
            if !names.insert(s.name.as_str()) {
                return Err(format!("two sessions are named {:?}", s.name));
            }
            validate_start_url(&s.start_url).map_err(|e| format!("session {:?}: {e}", s.name))?;
            if !is_region(&s.region) {
                return Err(format!(
                    "session {:?}: {:?} is not an AWS region (e.g. eu-west-1)",
                    s.name, s.region
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
            if !c.role_arn.starts_with("arn:") || !c.role_arn.contains(":role/") {
                return Err(format!(
                    "chain {:?}: {:?} is not a role ARN",
                    c.name, c.role_arn
                ));
            }
        }
        if let Some(r) = &self.preferences.console_region
            && !is_region(r)
        {
            return Err(format!("console_region {r:?} is not an AWS region"));
        }
        Ok(())
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

/// The config file on disk.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `config.toml` in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self::new(dir.join("config.toml"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    /// The config; defaults when there is no file yet.
    pub fn load(&self) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Config::parse(&text, &self.name()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(ConfigError::Io {
                path: self.name(),
                message: e.to_string(),
            }),
        }
    }

    /// The config, or defaults and the reason when the file is unusable: the app starts either way.
    pub fn load_or_default(&self) -> (Config, Option<ConfigError>) {
        match self.load() {
            Ok(c) => (c, None),
            Err(e) => {
                tracing::warn!("{e}");
                (Config::default(), Some(e))
            }
        }
    }

    /// Writes atomically. Refuses to replace a file that does not parse.
    pub fn save(&self, config: &Config) -> Result<(), ConfigError> {
        config.validate().map_err(|message| ConfigError::Invalid {
            path: self.name(),
            message,
        })?;
        if let Ok(text) = std::fs::read_to_string(&self.path)
            && toml::from_str::<toml::Value>(&text).is_err()
        {
            return Err(ConfigError::WouldOverwriteCorrupt { path: self.name() });
        }
        let text = format!(
            "# Rolecall configuration. Secrets are never stored here.\n{}",
            config.to_toml()
        );
        write_atomic(&self.path, text.as_bytes(), false).map_err(|e| ConfigError::Io {
            path: self.name(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r##"
[preferences]
warnings_seconds = [900, 120]
shell = "fish"
auto_renew = true

[[session]]
name = "corp"
start_url = "https://d-1234567890.awsapps.com/start"
region = "eu-west-1"

[[session]]
name = "sim"
start_url = "http://127.0.0.1:4000/start"
region = "us-east-1"
[session.endpoints]
oidc = "http://127.0.0.1:4000/oidc"

[[favourite]]
session = "corp"
account_id = "111111111111"
role = "Admin"

[aliases]
"111111111111" = "payments"

[colours]
"111111111111" = "#d13212"

[[chain]]
name = "deploy"
session = "corp"
account_id = "111111111111"
role = "Admin"
role_arn = "arn:aws:iam::222222222222:role/Deployer"
"##;

    #[test]
    fn parses_and_round_trips() {
        let config = Config::parse(SAMPLE, "sample").expect("parses");
        assert_eq!(config.preferences.shell, ShellFormat::Fish);
        assert_eq!(
            config.preferences.warnings(),
            vec![Duration::from_secs(900), Duration::from_secs(120)]
        );
        assert_eq!(
            config.preferences.clipboard_clear_seconds, 45,
            "defaults fill the rest"
        );
        assert_eq!(
            config.sessions[1].endpoints.oidc.as_deref(),
            Some("http://127.0.0.1:4000/oidc")
        );
        assert!(config.is_favourite("corp", "111111111111", "Admin"));
        assert_eq!(
            Config::parse(&config.to_toml(), "again").expect("round trip"),
            config
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let broken = "[preferences]\nshell = \"fish\"\nauto_renew = maybe\n";
        match Config::parse(broken, "cfg.toml") {
            Err(ConfigError::Parse {
                line, column, path, ..
            }) => {
                assert_eq!((path.as_str(), line, column), ("cfg.toml", 3, 14));
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
        let unknown = "[preferences]\nshel = \"fish\"\n";
        assert!(matches!(
            Config::parse(unknown, "x"),
            Err(ConfigError::Parse { line: 2, .. })
        ));
        let dup = "[[session]]\nname=\"a\"\nstart_url=\"https://x.awsapps.com/start\"\nregion=\"eu-west-1\"\n[[session]]\nname=\"a\"\nstart_url=\"https://y.awsapps.com/start\"\nregion=\"eu-west-1\"\n";
        assert!(matches!(
            Config::parse(dup, "x"),
            Err(ConfigError::Invalid { .. })
        ));
    }

    #[test]
    fn corrupt_files_are_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = ConfigFile::in_dir(dir.path());
        assert_eq!(file.load().expect("no file yet"), Config::default());
        let mut config = Config::parse(SAMPLE, "sample").expect("parses");
        file.save(&config).expect("saves");
        assert_eq!(file.load().expect("loads"), config);

        std::fs::write(file.path(), "[[session]\nbroken").expect("corrupt it");
        let (fallback, err) = file.load_or_default();
        assert_eq!(fallback, Config::default());
        assert!(matches!(err, Some(ConfigError::Parse { line: 1, .. })));
        config.preferences.auto_renew = false;
        assert!(matches!(
            file.save(&config),
            Err(ConfigError::WouldOverwriteCorrupt { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(file.path()).expect("read"),
            "[[session]\nbroken"
        );
    }
}
