//! How a console opens: the mode (multi-session, container, profile, switch), the browser and
//! its command line, and the identities Rolecall has signed in per browser cookie jar (the
//! console's multi-session holds five at most).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::Mutex;

use rolecall_engine::browser::{
    Browser, BrowserKind, ConsoleMode, Container, OpenIn, find, validate_profile,
};
use rolecall_engine::config::ConsoleChoice;
use rolecall_engine::secret::Secret;
use rolecall_engine::sync::lock;
use rolecall_engine::vault::RoleKey;
use serde::{Deserialize, Serialize};

use crate::error::CoreError;

/// Identities a browser holds side by side with the console's multi-session.
pub const MULTI_SESSION_LIMIT: usize = 5;

/// What the person asked of a console; what is unset comes from the role's defaults and the
/// "How consoles open" settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsoleAsk {
    pub mode: Option<ConsoleMode>,
    /// A console service (`ec2`).
    pub service: Option<String>,
    /// A console path (`/ec2/home#Instances:`); wins over `service`.
    pub path: Option<String>,
    pub region: Option<String>,
    /// Console session length (900 s to 12 h, clamped; chained roles get the service's hour).
    pub session_seconds: Option<u64>,
    /// Open even when the browser already holds five identities.
    pub force: bool,
}

/// A console ready to open: the sign-in URL (a secret) and where it opens.
#[derive(Debug)]
pub struct ConsoleOpening {
    pub url: Secret,
    pub open_in: OpenIn,
    pub mode: ConsoleMode,
    /// Identities Rolecall has signed in in that browser, this one included.
    pub identities: usize,
}

/// Where a console of `mode` opens, from the settings `choice`, for an account (`label`: its
/// alias or name). Browsers are looked up on `path` (a `PATH` value).
pub fn open_in(
    mode: ConsoleMode,
    choice: &ConsoleChoice,
    account_id: &str,
    label: &str,
    environment: Option<&str>,
    path: Option<&OsStr>,
) -> Result<OpenIn, CoreError> {
    let installed = |kind: BrowserKind| {
        find(kind, path).ok_or_else(|| {
            CoreError::Invalid(format!(
                "{kind} is not installed (none of {} is on PATH)",
                kind.programs().join(", ")
            ))
        })
    };
    let chosen = |kinds: &[BrowserKind]| -> Result<Browser, CoreError> {
        match choice.browser {
            Some(kind) => installed(kind),
            None => kinds.iter().find_map(|k| find(*k, path)).ok_or_else(|| {
                CoreError::Invalid(format!(
                    "no browser for profiles is installed ({}); install one or set browser in [console]",
                    kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                ))
            }),
        }
    };
    if let Some(p) = &choice.profile {
        validate_profile(p).map_err(CoreError::Invalid)?;
    }
    match mode {
        ConsoleMode::Container => {
            if choice.browser.is_some_and(|b| !b.is_firefox()) {
                return Err(CoreError::Invalid(
                    "containers are Firefox's: the container mode needs browser = \"firefox\""
                        .into(),
                ));
            }
            Ok(OpenIn::Container {
                browser: installed(BrowserKind::Firefox)?,
                container: Container::for_account(account_id, label, environment),
            })
        }
        ConsoleMode::Profile => {
            let browser = chosen(&[
                BrowserKind::Chromium,
                BrowserKind::Chrome,
                BrowserKind::Brave,
                BrowserKind::Edge,
                BrowserKind::Firefox,
            ])?;
            let profile = match (&choice.profile, browser.kind.is_firefox()) {
                (Some(p), _) => p.clone(),
                // A Chromium-family browser makes the folder of a new profile itself.
                (None, false) => format!("rolecall-{account_id}"),
                (None, true) => {
                    return Err(CoreError::Invalid(format!(
                        "Firefox opens only profiles that exist: name one with profile = \"...\" in [console.accounts.\"{account_id}\"]"
                    )));
                }
            };
            Ok(OpenIn::Browser {
                browser,
                profile: Some(profile),
            })
        }
        ConsoleMode::MultiSession | ConsoleMode::Switch => match choice.browser {
            None => Ok(OpenIn::Default),
            Some(kind) => Ok(OpenIn::Browser {
                browser: installed(kind)?,
                profile: choice.profile.clone(),
            }),
        },
    }
}

/// The console identities Rolecall signed in, per browser cookie jar.
#[derive(Debug, Default)]
pub struct Jars {
    signed_in: Mutex<HashMap<String, Vec<RoleKey>>>,
}

impl Jars {
    /// Refuses a sixth identity in a multi-session jar unless `force`.
    pub fn check(
        &self,
        jar: &str,
        key: &RoleKey,
        mode: ConsoleMode,
        force: bool,
    ) -> Result<(), CoreError> {
        if mode != ConsoleMode::MultiSession || force {
            return Ok(());
        }
        let signed_in = lock(&self.signed_in);
        let held = signed_in.get(jar).map_or(&[][..], Vec::as_slice);
        if held.len() >= MULTI_SESSION_LIMIT && !held.contains(key) {
            return Err(CoreError::Usage(format!(
                "this browser already holds {MULTI_SESSION_LIMIT} console identities that Rolecall opened, the most the console's multi-session allows: sign out of one in the console, open this one with --mode switch, or open it anyway with --force"
            )));
        }
        Ok(())
    }

    /// Notes `key` as signed in in `jar`; returns how many identities the jar holds.
    pub fn record(&self, jar: &str, key: &RoleKey, mode: ConsoleMode) -> usize {
        let mut signed_in = lock(&self.signed_in);
        let held = signed_in.entry(jar.to_owned()).or_default();
        if mode.signs_out_first() {
            held.clear();
        }
        if !held.contains(key) {
            held.push(key.clone());
        }
        held.len()
    }
}

/// Opens `url` (the handoff's one-time loopback URL) where `open_in` says.
pub fn launch(open_in: &OpenIn, url: &str) -> Result<(), String> {
    crate::opener::checked_page(url)?;
    let Some(launch) = open_in.launch(url) else {
        return crate::opener::open_url(url);
    };
    std::process::Command::new(&launch.program)
        .args(&launch.args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot start {}: {e}", launch.program.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(account: &str) -> RoleKey {
        RoleKey::new("s", account, "Admin")
    }

    #[test]
    fn a_sixth_identity_in_a_multi_session_browser_is_refused_unless_forced() {
        let jars = Jars::default();
        let m = ConsoleMode::MultiSession;
        for i in 0..5 {
            let k = key(&format!("10000000000{i}"));
            jars.check("default", &k, m, false).expect("room");
            assert_eq!(jars.record("default", &k, m), i + 1);
        }
        let sixth = key("100000000009");
        let err = jars.check("default", &sixth, m, false).expect_err("sixth");
        assert!(err.to_string().contains("--force"), "{err}");
        jars.check("default", &key("100000000002"), m, false)
            .expect("an identity already there is opened again");
        jars.check("other-profile", &sixth, m, false)
            .expect("another browser has room");
        jars.check("default", &sixth, m, true).expect("forced");
        // Switching signs the browser out: one identity left.
        assert_eq!(jars.record("default", &sixth, ConsoleMode::Switch), 1);
        jars.check("default", &key("100000000001"), m, false)
            .expect("room again");
    }

    #[test]
    fn each_mode_opens_where_it_should() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["firefox", "chromium"] {
            use std::os::unix::fs::PermissionsExt;
            let p = dir.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let path = Some(dir.path().as_os_str());
        let none = ConsoleChoice::default();
        let id = "111122223333";
        assert_eq!(
            open_in(ConsoleMode::Switch, &none, id, "pay", None, path).expect("switch"),
            OpenIn::Default
        );
        match open_in(ConsoleMode::Profile, &none, id, "pay", None, path).expect("profile") {
            OpenIn::Browser { browser, profile } => {
                assert_eq!(browser.kind, BrowserKind::Chromium);
                assert_eq!(profile.as_deref(), Some("rolecall-111122223333"));
            }
            other => panic!("{other:?}"),
        }
        match open_in(ConsoleMode::Container, &none, id, "pay", Some("prod"), path)
            .expect("container")
        {
            OpenIn::Container { browser, container } => {
                assert_eq!(browser.kind, BrowserKind::Firefox);
                assert_eq!(container.name, "pay (111122223333)");
                assert_eq!(container.colour, "red");
            }
            other => panic!("{other:?}"),
        }
        let firefox = ConsoleChoice {
            browser: Some(BrowserKind::Firefox),
            ..ConsoleChoice::default()
        };
        let err = open_in(ConsoleMode::Profile, &firefox, id, "pay", None, path)
            .expect_err("a Firefox profile must be named");
        assert!(err.to_string().contains("profile = "), "{err}");
        let edge = ConsoleChoice {
            browser: Some(BrowserKind::Edge),
            ..ConsoleChoice::default()
        };
        let err = open_in(ConsoleMode::MultiSession, &edge, id, "pay", None, path)
            .expect_err("edge is not installed");
        assert!(err.to_string().contains("microsoft-edge"), "{err}");
    }
}
