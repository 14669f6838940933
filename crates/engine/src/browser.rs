//! How a console opens in a browser: which browser (detected on `PATH`), which profile or
//! Firefox container, and the exact command line.
//!
//! The URL handed to a browser is never the console sign-in URL itself (it would sit in the
//! process's arguments, readable by every local user) but the one-time loopback URL of the
//! console handoff, which leads there once.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::text::has_hidden;

/// How a console opens (the "How consoles open" setting). Version 4 of the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ConsoleMode {
    /// The AWS console's multi-session support (up to five identities side by side in one
    /// browser, opted into per browser): the new identity is added, nothing is signed out.
    MultiSession,
    /// A Firefox container per account, with its colour and icon.
    Container,
    /// A browser profile per account (Chromium family or Firefox).
    Profile,
    /// Sign the browser out of the console first: one identity at a time, in any browser.
    #[default]
    Switch,
}

impl ConsoleMode {
    pub const ALL: [ConsoleMode; 4] = [
        Self::MultiSession,
        Self::Container,
        Self::Profile,
        Self::Switch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MultiSession => "multi-session",
            Self::Container => "container",
            Self::Profile => "profile",
            Self::Switch => "switch",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// A mode by its name, or the sentence that says which names there are (the CLI, the
    /// app's menu and Settings all answer a wrong name with it).
    pub fn from_name(s: &str) -> Result<Self, String> {
        Self::parse(s).ok_or_else(|| {
            format!(
                "unknown console mode {:?}: one of {}",
                crate::text::printable(s),
                Self::ALL.map(Self::as_str).join(", ")
            )
        })
    }

    /// Whether the browser is signed out of the console before the new identity signs in.
    /// Multi-session must not be: a sign-out ends every identity of the browser. Elsewhere a
    /// second identity without a sign-out is refused by the console.
    pub fn signs_out_first(self) -> bool {
        self != Self::MultiSession
    }
}

impl std::fmt::Display for ConsoleMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A browser Rolecall knows how to start with a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BrowserKind {
    Firefox,
    Chromium,
    Chrome,
    Brave,
    Edge,
}

impl BrowserKind {
    pub const ALL: [BrowserKind; 5] = [
        Self::Firefox,
        Self::Chromium,
        Self::Chrome,
        Self::Brave,
        Self::Edge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firefox => "firefox",
            Self::Chromium => "chromium",
            Self::Chrome => "chrome",
            Self::Brave => "brave",
            Self::Edge => "edge",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// The program names it is installed under, most usual first.
    pub fn programs(self) -> &'static [&'static str] {
        match self {
            Self::Firefox => &["firefox", "firefox-esr"],
            Self::Chromium => &["chromium", "chromium-browser"],
            Self::Chrome => &["google-chrome", "google-chrome-stable"],
            Self::Brave => &["brave-browser", "brave"],
            Self::Edge => &["microsoft-edge", "microsoft-edge-stable"],
        }
    }

    pub fn is_firefox(self) -> bool {
        self == Self::Firefox
    }
}

impl std::fmt::Display for BrowserKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An installed browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Browser {
    pub kind: BrowserKind,
    pub program: PathBuf,
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `kind`'s program on `path` (a `PATH` value), if installed.
pub fn find(kind: BrowserKind, path: Option<&OsStr>) -> Option<Browser> {
    let dirs: Vec<PathBuf> = std::env::split_paths(path?)
        .filter(|d| d.is_absolute())
        .collect();
    kind.programs().iter().find_map(|name| {
        dirs.iter()
            .map(|d| d.join(name))
            .find(|p| executable(p))
            .map(|program| Browser { kind, program })
    })
}

/// Every known browser installed on `path`, in [`BrowserKind::ALL`] order.
pub fn detect(path: Option<&OsStr>) -> Vec<Browser> {
    BrowserKind::ALL
        .into_iter()
        .filter_map(|k| find(k, path))
        .collect()
}

/// A profile name as the person wrote it: printable, not an option.
pub fn validate_profile(profile: &str) -> Result<(), String> {
    if profile.trim().is_empty()
        || profile.starts_with('-')
        || has_hidden(profile)
        || profile.chars().count() > 100
    {
        return Err(format!(
            "browser profile {:?} must be 1 to 100 printable characters and not start with '-'",
            crate::text::printable(profile)
        ));
    }
    Ok(())
}

/// The colours of Firefox containers (all but `toolbar`, which has none).
pub const CONTAINER_COLOURS: [&str; 8] = [
    "blue",
    "turquoise",
    "green",
    "yellow",
    "orange",
    "red",
    "pink",
    "purple",
];

/// A Firefox container for an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    pub name: String,
    pub colour: String,
    pub icon: String,
}

impl Container {
    /// The container of account `account_id` named `name` (`name (account id)`: no two
    /// accounts share one), in an environment's colour and
    /// icon (prod red, staging orange, dev green, sandbox turquoise); another account gets a
    /// colour of its own that stays the same from one opening to the next.
    pub fn for_account(account_id: &str, name: &str, environment: Option<&str>) -> Self {
        let by_env = match environment.map(str::to_ascii_lowercase).as_deref() {
            Some("prod" | "production" | "live") => Some(("red", "fence")),
            Some("staging" | "stage" | "preprod" | "uat") => Some(("orange", "briefcase")),
            Some("dev" | "development" | "test") => Some(("green", "tree")),
            Some("sandbox") => Some(("turquoise", "chill")),
            _ => None,
        };
        let (colour, icon) = by_env.unwrap_or_else(|| {
            let n = account_id.bytes().fold(0usize, |acc, b| {
                acc.wrapping_mul(31).wrapping_add(b as usize)
            });
            (
                CONTAINER_COLOURS[n % CONTAINER_COLOURS.len()],
                "fingerprint",
            )
        });
        // The id makes the container the account's own: the extension finds a container by
        // its name, so two accounts of one name would otherwise share one cookie jar.
        let name: String = crate::text::printable(name).chars().take(60).collect();
        let name = name.trim();
        Self {
            name: if name.is_empty() || name == account_id {
                account_id.to_owned()
            } else {
                format!("{name} ({account_id})")
            },
            colour: colour.to_owned(),
            icon: icon.to_owned(),
        }
    }

    /// The `ext+container:` URL that opens `url` in this container (the "Open external links
    /// in a container" extension).
    pub fn url(&self, url: &str) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("name", &self.name)
            .append_pair("url", url)
            .append_pair("color", &self.colour)
            .append_pair("icon", &self.icon)
            .finish();
        format!("ext+container:{query}")
    }
}

/// Where a console opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum OpenIn {
    /// The default browser (or `ROLECALL_OPENER`).
    Default,
    /// A chosen browser, in a profile when one is named.
    Browser {
        browser: Browser,
        profile: Option<String>,
    },
    /// Firefox, in a container.
    Container {
        browser: Browser,
        container: Container,
    },
}

/// A browser's command line: the program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl OpenIn {
    /// The command line that opens `url` (the handoff's one-time loopback URL), or `None`
    /// for the default browser.
    pub fn launch(&self, url: &str) -> Option<Launch> {
        match self {
            Self::Default => None,
            Self::Browser { browser, profile } => {
                let mut args = Vec::new();
                match (browser.kind.is_firefox(), profile) {
                    (true, Some(p)) => args.extend(["-P".to_owned(), p.clone()]),
                    (false, Some(p)) => args.push(format!("--profile-directory={p}")),
                    (_, None) => {}
                }
                if browser.kind.is_firefox() {
                    args.push("--new-tab".into());
                }
                args.push(url.to_owned());
                Some(Launch {
                    program: browser.program.clone(),
                    args,
                })
            }
            Self::Container { browser, container } => Some(Launch {
                program: browser.program.clone(),
                args: vec![container.url(url)],
            }),
        }
    }

    /// Which browser cookie jar an identity lands in: consoles opened in one jar share the
    /// console's sign-in (and its limit of five identities with multi-session).
    pub fn jar(&self) -> String {
        match self {
            Self::Default => "default".into(),
            Self::Browser { browser, profile } => format!(
                "{}|{}",
                browser.program.display(),
                profile.as_deref().unwrap_or("")
            ),
            Self::Container { browser, container } => {
                format!("{}|container:{}", browser.program.display(), container.name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn browser(kind: BrowserKind, program: &str) -> Browser {
        Browser {
            kind,
            program: program.into(),
        }
    }

    const URL: &str = "http://127.0.0.1:41234/open/abc";

    #[test]
    fn profiles_open_with_each_browsers_own_flag() {
        let chromium = OpenIn::Browser {
            browser: browser(BrowserKind::Chromium, "/usr/bin/chromium"),
            profile: Some("Profile 2".into()),
        };
        assert_eq!(
            chromium.launch(URL),
            Some(Launch {
                program: "/usr/bin/chromium".into(),
                args: vec!["--profile-directory=Profile 2".into(), URL.into()],
            })
        );
        let firefox = OpenIn::Browser {
            browser: browser(BrowserKind::Firefox, "/usr/bin/firefox-esr"),
            profile: Some("work".into()),
        };
        assert_eq!(
            firefox.launch(URL).expect("launch").args,
            ["-P", "work", "--new-tab", URL]
        );
        let plain = OpenIn::Browser {
            browser: browser(BrowserKind::Brave, "/usr/bin/brave-browser"),
            profile: None,
        };
        assert_eq!(plain.launch(URL).expect("launch").args, [URL]);
        assert_eq!(OpenIn::Default.launch(URL), None);
    }

    #[test]
    fn a_container_url_carries_every_parameter_encoded() {
        let c = Container::for_account("111122223333", "payments & co/prod", Some("prod"));
        assert_eq!((c.colour.as_str(), c.icon.as_str()), ("red", "fence"));
        let open = OpenIn::Container {
            browser: browser(BrowserKind::Firefox, "/usr/bin/firefox"),
            container: c,
        };
        let launch = open.launch(URL).expect("launch");
        assert_eq!(
            launch.args,
            [
                "ext+container:name=payments+%26+co%2Fprod+%28111122223333%29&url=http%3A%2F%2F127.0.0.1%3A41234%2Fopen%2Fabc&color=red&icon=fence"
            ]
        );
    }

    /// A container is a cookie jar the person reads by its name: two accounts that share a
    /// name (two organisations' `prod`, or names alike up to the cut) must never share one,
    /// or one account's console would sign the other's out and wear its label and colour.
    #[test]
    fn two_accounts_of_one_name_never_share_a_container() {
        let firefox = browser(BrowserKind::Firefox, "/usr/bin/firefox");
        let jar = |id: &str, name: &str| {
            let container = Container::for_account(id, name, Some("prod"));
            assert!(container.name.contains(id), "{container:?}");
            OpenIn::Container {
                browser: firefox.clone(),
                container,
            }
            .jar()
        };
        assert_ne!(jar("111111111111", "prod"), jar("222222222222", "prod"));
        let long = "payments-".repeat(10);
        assert_ne!(
            jar("111111111111", &format!("{long}eu")),
            jar("222222222222", &format!("{long}us"))
        );
        assert_eq!(
            Container::for_account("111111111111", "prod", None).name,
            "prod (111111111111)"
        );
    }

    #[test]
    fn an_account_keeps_its_container_colour_and_hostile_names_are_tamed() {
        let a = Container::for_account("111122223333", "a", None);
        let b = Container::for_account("111122223333", "a", None);
        assert_eq!(a, b);
        assert!(CONTAINER_COLOURS.contains(&a.colour.as_str()));
        let hostile = Container::for_account("111122223333", "evil\u{202e}\nname", None);
        assert!(!hostile.name.contains('\n') && !hostile.name.contains('\u{202e}'));
        let empty = Container::for_account("111122223333", "  ", None);
        assert_eq!(empty.name, "111122223333");
    }

    #[test]
    fn profiles_that_look_like_options_or_hide_characters_are_refused() {
        assert!(validate_profile("Profile 1").is_ok());
        for bad in [
            "",
            " ",
            "--remote-debugging-port=9222",
            "a\u{202e}b",
            "x\ny",
        ] {
            assert!(validate_profile(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn browsers_are_found_on_the_path_by_their_program_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let make = |name: &str, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            let p = dir.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        };
        make("firefox-esr", 0o755);
        make("chromium", 0o644); // not executable: not a browser
        make("google-chrome-stable", 0o755);
        let path = std::env::join_paths([dir.path(), Path::new("relative/bin")]).expect("path");
        let found = detect(Some(&path));
        assert_eq!(
            found,
            vec![
                Browser {
                    kind: BrowserKind::Firefox,
                    program: dir.path().join("firefox-esr")
                },
                Browser {
                    kind: BrowserKind::Chrome,
                    program: dir.path().join("google-chrome-stable")
                },
            ]
        );
        assert_eq!(find(BrowserKind::Firefox, None), None);
    }

    #[test]
    fn only_multi_session_keeps_the_identities_already_signed_in() {
        assert!(!ConsoleMode::MultiSession.signs_out_first());
        for m in [
            ConsoleMode::Switch,
            ConsoleMode::Container,
            ConsoleMode::Profile,
        ] {
            assert!(m.signs_out_first(), "{m}");
        }
        for m in ConsoleMode::ALL {
            assert_eq!(ConsoleMode::parse(m.as_str()), Some(m));
        }
    }
}
