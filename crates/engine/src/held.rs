//! What a shell holds: the variables that say which role the credentials in an environment are
//! for, written beside the credentials by `rolecall env`, `rolecall exec` and the app's "copy as
//! environment variables", and read back by `rolecall prompt` and a nested `rolecall exec`.
//!
//! They carry no secret: the account's id and name, the role, and what the names belong to
//! (the access key id of the keys beside them, or the endpoint grant's id). A reader believes
//! them only while that still matches the credentials in the same environment, so keys set by
//! hand or by another tool after `rolecall env` are never shown under Rolecall's names.
//!
//! Names come from the portal and the config: they are made safe for every shell format and
//! prompt (printable ASCII of a small set; anything else becomes `_`) and cut to 64 characters.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::secret::Secret;

pub const ACCOUNT_ID: &str = "ROLECALL_ACCOUNT_ID";
pub const ACCOUNT: &str = "ROLECALL_ACCOUNT";
pub const ROLE: &str = "ROLECALL_ROLE";
/// `key:<access key id>` or `grant:<grant id>`.
pub const HOLDS: &str = "ROLECALL_HOLDS";

/// The AWS variables that choose credentials, cleared from a command's environment before
/// Rolecall's are set, so nothing set earlier takes precedence over them or mixes with them.
pub const AWS_CREDENTIAL_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    ACCOUNT_ID,
    ACCOUNT,
    ROLE,
    HOLDS,
];

const MAX: usize = 64;

/// A name made safe for any shell format and any prompt.
pub fn safe(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " ._+=,@:/()-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(MAX)
        .collect();
    if name.chars().count() > MAX {
        out.pop();
        out.push('~');
    }
    out
}

/// What held credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holds {
    Key(String),
    Grant(String),
}

impl Holds {
    fn render(&self) -> String {
        match self {
            Self::Key(k) => format!("key:{}", safe(k)),
            Self::Grant(g) => format!("grant:{}", safe(g)),
        }
    }
}

/// The marker variables for credentials of a role.
pub fn marker_vars(
    account_id: &str,
    account_name: &str,
    role: &str,
    holds: &Holds,
) -> Vec<(&'static str, Secret)> {
    vec![
        (ACCOUNT_ID, Secret::new(safe(account_id))),
        (ACCOUNT, Secret::new(safe(account_name))),
        (ROLE, Secret::new(safe(role))),
        (HOLDS, Secret::new(holds.render())),
    ]
}

/// The role an environment's credentials are for, as its markers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub account_id: String,
    pub account: String,
    pub role: String,
    pub holds: Holds,
    /// When the keys expire (`AWS_CREDENTIAL_EXPIRATION`); `None` for an endpoint grant, whose
    /// credentials renew by themselves.
    pub expires_at: Option<SystemTime>,
}

impl Held {
    /// Reads an environment. `None` unless the markers are there and still describe the
    /// credentials beside them: the same access key id, or an endpoint grant with no keys set
    /// over it (keys in the environment take precedence over the endpoint in every SDK).
    pub fn read(env: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        let holds = get(HOLDS)?;
        let holds = if let Some(key) = holds.strip_prefix("key:") {
            if get("AWS_ACCESS_KEY_ID").as_deref() != Some(key) {
                return None;
            }
            Holds::Key(key.to_owned())
        } else if let Some(grant) = holds.strip_prefix("grant:") {
            if get("AWS_ACCESS_KEY_ID").is_some()
                || get("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_none()
                || (get("AWS_CONTAINER_AUTHORIZATION_TOKEN").is_none()
                    && get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").is_none())
            {
                return None;
            }
            Holds::Grant(grant.to_owned())
        } else {
            return None;
        };
        let expires_at = match holds {
            Holds::Key(_) => Some(
                get("AWS_CREDENTIAL_EXPIRATION")
                    .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok())
                    .map(SystemTime::from)?,
            ),
            Holds::Grant(_) => None,
        };
        Some(Self {
            account_id: safe(&get(ACCOUNT_ID)?),
            account: safe(&get(ACCOUNT).unwrap_or_default()),
            role: safe(&get(ROLE)?),
            holds,
            expires_at,
        })
    }

    /// Whether these are the credentials of `account_id`'s `role` (as the markers write them).
    pub fn is(&self, account_id: &str, role: &str) -> bool {
        self.account_id == safe(account_id) && self.role == safe(role)
    }

    /// Time left, as a prompt shows it: `42m`, `3h05m`, `expired`, or `auto` for a grant.
    pub fn left(&self, now: SystemTime) -> String {
        match self.expires_at {
            None => "auto".into(),
            Some(t) => match t.duration_since(now) {
                Ok(d) if d >= Duration::from_secs(1) => short_duration(d),
                _ => "expired".into(),
            },
        }
    }
}

/// `45s`, `42m`, `3h05m`.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn marked(holds: &Holds) -> Vec<(String, String)> {
        marker_vars("111122223333", "payments-prod", "Admin", holds)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.expose().to_owned()))
            .collect()
    }

    #[test]
    fn markers_are_believed_only_beside_the_keys_they_name() {
        let mut e: HashMap<String, String> = marked(&Holds::Key("ASIAEXAMPLE".into()))
            .into_iter()
            .collect();
        e.insert("AWS_ACCESS_KEY_ID".into(), "ASIAEXAMPLE".into());
        e.insert(
            "AWS_CREDENTIAL_EXPIRATION".into(),
            "2030-01-01T00:00:00Z".into(),
        );
        let held = Held::read(|k| e.get(k).cloned()).expect("held");
        assert_eq!(held.account, "payments-prod");
        assert!(held.is("111122223333", "Admin"));
        assert!(!held.is("111122223333", "ReadOnly"));
        // Keys set over them by hand: the markers no longer describe the shell.
        e.insert("AWS_ACCESS_KEY_ID".into(), "AKIAOTHER".into());
        assert_eq!(Held::read(|k| e.get(k).cloned()), None);
        // No expiry beside keys: not Rolecall's either.
        e.insert("AWS_ACCESS_KEY_ID".into(), "ASIAEXAMPLE".into());
        e.remove("AWS_CREDENTIAL_EXPIRATION");
        assert_eq!(Held::read(|k| e.get(k).cloned()), None);
    }

    #[test]
    fn a_grant_marker_is_believed_only_while_no_keys_take_precedence() {
        let mut e: HashMap<String, String> =
            marked(&Holds::Grant("g-1".into())).into_iter().collect();
        assert_eq!(Held::read(|k| e.get(k).cloned()), None);
        e.extend(env(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/c"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "t"),
        ]));
        let held = Held::read(|k| e.get(k).cloned()).expect("held");
        assert_eq!(held.left(SystemTime::now()), "auto");
        e.insert("AWS_ACCESS_KEY_ID".into(), "AKIAOTHER".into());
        assert_eq!(Held::read(|k| e.get(k).cloned()), None);
    }

    #[test]
    fn a_grant_whose_token_is_in_a_file_is_held_too() {
        let mut e: HashMap<String, String> =
            marked(&Holds::Grant("g-1".into())).into_iter().collect();
        e.extend(env(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/c"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/run/user/1000/t"),
        ]));
        assert!(Held::read(|k| e.get(k).cloned()).is_some());
    }

    #[test]
    fn hostile_names_become_safe_for_every_shell_and_prompt() {
        for name in [
            "a'b\"c",
            "$(reboot)",
            "`id`",
            "%F{red}x",
            "\\[\\e]0;pwn\\a\\]",
            "é\u{202e}x",
            "a\nb\rc\u{1b}[2J",
        ] {
            let s = safe(name);
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " ._+=,@:/()-_".contains(c)),
                "{s:?}"
            );
        }
        let long = safe(&"x".repeat(200));
        assert_eq!(long.chars().count(), MAX);
        assert!(long.ends_with('~'));
        for (_, v) in marker_vars("1", "a'b\nc", "$(x)", &Holds::Key("K".into())) {
            for f in [
                crate::shell::ShellFormat::Dotenv,
                crate::shell::ShellFormat::Cmd,
            ] {
                crate::shell::render_vars(f, &[("X", v.expose())]).expect("every format");
            }
        }
    }

    #[test]
    fn time_left_reads_as_a_prompt_shows_it() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let held = |secs: i64| Held {
            account_id: "1".into(),
            account: "a".into(),
            role: "r".into(),
            holds: Holds::Key("K".into()),
            expires_at: Some(if secs >= 0 {
                now + Duration::from_secs(secs as u64)
            } else {
                now - Duration::from_secs((-secs) as u64)
            }),
        };
        assert_eq!(held(45).left(now), "45s");
        assert_eq!(held(42 * 60 + 5).left(now), "42m");
        assert_eq!(held(3 * 3600 + 5 * 60).left(now), "3h05m");
        assert_eq!(held(0).left(now), "expired");
        assert_eq!(held(-60).left(now), "expired");
    }
}
