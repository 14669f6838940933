//! The tray menu: active credentials with their time left, favourites and recents (Open
//! console / Copy env / Forget), Sign in / Sign out per session, Open Rolecall, Quit.
//!
//! Linux trays send no click events, so the menu itself does the whole job. Menu ids are a
//! Rust enum ([`TrayAction`]) serialised into the id string, never matched by prefix.
#![cfg(desktop)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rolecall_engine::sync::lock;
use rolecall_engine::text::printable;

use serde::{Deserialize, Serialize};
use tauri::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::{AppHandle, Manager, Runtime};

use crate::desktop::{Desktop, ms};
use crate::view::RoleRef;

pub const TRAY_ID: &str = "rolecall";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "a", rename_all = "snake_case")]
pub enum TrayAction {
    Console(RoleRef),
    /// The console at a page: a service (`ec2`) or a path.
    ConsoleAt {
        role: RoleRef,
        place: String,
    },
    CopyEnv(RoleRef),
    Forget(RoleRef),
    SignIn {
        session: String,
    },
    SignOut {
        session: String,
    },
    Picker,
    Settings,
    Open,
    Quit,
}

impl TrayAction {
    pub fn id(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    pub fn parse(id: &str) -> Option<Self> {
        serde_json::from_str(id).ok()
    }
}

/// `mm:ss` (or `h:mm:ss`) from `now_ms` until `expires_ms` (both from the app's clock).
pub fn time_left(expires_ms: u64, now_ms: u64) -> String {
    let secs = expires_ms.saturating_sub(now_ms) / 1000;
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, (secs % 3600) / 60, secs % 60)
    } else {
        format!("{:02}:{:02}", secs / 60, secs % 60)
    }
}

/// What the menu shows, computed from the app's state without Tauri: the menu is built from
/// it, and a refresh that would show the same menu leaves the tray alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Greyed-out text.
    Note(String),
    Separator,
    /// A role: Open console / Copy env, and Forget when its credentials are held.
    Role {
        /// From [`role_title`]: the account's name, id and the role.
        title: String,
        role: RoleRef,
        held: bool,
        /// Console pages offered beside Open console (favourites: their recent pages, their
        /// own, the common services).
        places: Vec<String>,
    },
    /// A submenu of roles (greyed out when empty).
    Group {
        label: String,
        roles: Vec<Entry>,
    },
    Item {
        action: TrayAction,
        text: String,
    },
}

/// The menu's model: active credentials with their time left, favourites and recents, sign
/// in or out per session, the picker, the window, Quit.
pub fn model(desktop: &Desktop) -> Vec<Entry> {
    let view = desktop.view();
    let now = ms(desktop.core.clock().now());
    let mut entries = Vec::new();
    let key = |session: &str, account_id: &str, role: &str, chain: Option<&str>| {
        (
            session.to_owned(),
            account_id.to_owned(),
            role.to_owned(),
            chain.map(str::to_owned),
        )
    };
    let held: HashSet<_> = view
        .active
        .iter()
        .map(|a| key(&a.session, &a.account_id, &a.role, a.chain_arn.as_deref()))
        .collect();
    if view.active.is_empty() {
        entries.push(Entry::Note("No active credentials".into()));
    }
    for a in &view.active {
        entries.push(Entry::Role {
            title: role_title(
                a.alias.as_deref().unwrap_or(&a.account_name),
                &a.account_id,
                &role_name(&a.role, a.chain.as_deref()),
                &format!(" ({} left)", time_left(a.expires_at_ms, now)),
            ),
            role: RoleRef {
                session: a.session.clone(),
                account_id: a.account_id.clone(),
                role: a.role.clone(),
                chain: a.chain_arn.clone(),
            },
            held: true,
            places: Vec::new(),
        });
    }
    entries.push(Entry::Separator);
    let all = desktop.search("", 400);
    let role = |r: &crate::view::RoleView| Entry::Role {
        title: role_title(
            r.alias.as_deref().unwrap_or(&r.account_name),
            &r.account_id,
            &role_name(&r.role, r.chain.as_deref()),
            "",
        ),
        role: RoleRef {
            session: r.session.clone(),
            account_id: r.account_id.clone(),
            role: r.role.clone(),
            chain: r.chain_arn.clone(),
        },
        held: held.contains(&key(
            &r.session,
            &r.account_id,
            &r.role,
            r.chain_arn.as_deref(),
        )),
        places: Vec::new(),
    };
    // A favourite's console pages: where it was opened lately, its own page, and the
    // services most opened.
    let favourite = |r: &crate::view::RoleView| {
        let mut entry = role(r);
        if let Entry::Role { role, places, .. } = &mut entry {
            let menu = desktop.console_menu(role);
            for p in menu
                .recent
                .into_iter()
                .chain(menu.default_destination)
                .chain(["ec2", "s3", "cloudwatch", "iam"].map(String::from))
            {
                if !places.contains(&p) {
                    places.push(p);
                }
            }
            places.truncate(8);
        }
        entry
    };
    entries.push(Entry::Group {
        label: "Favourites".into(),
        roles: all
            .iter()
            .filter(|r| r.favourite)
            .take(15)
            .map(favourite)
            .collect(),
    });
    entries.push(Entry::Group {
        label: "Recent".into(),
        roles: all
            .iter()
            .filter(|r| r.recent && !r.favourite)
            .take(10)
            .map(role)
            .collect(),
    });
    entries.push(Entry::Separator);
    for s in &view.sessions {
        let session = s.name.clone();
        if let (true, Some(end)) = (s.ending_soon, s.session_ends_at_ms) {
            entries.push(Entry::Item {
                text: format!(
                    "Sign in again to {} (sign-in ends in {})",
                    printable(&s.name),
                    time_left(end, now)
                ),
                action: TrayAction::SignIn {
                    session: session.clone(),
                },
            });
        }
        entries.push(if s.signed_in {
            Entry::Item {
                text: format!("Sign out of {}", printable(&s.name)),
                action: TrayAction::SignOut { session },
            }
        } else {
            Entry::Item {
                text: format!("Sign in to {}", printable(&s.name)),
                action: TrayAction::SignIn { session },
            }
        });
    }
    for (action, text) in [
        (TrayAction::Picker, "Quick picker…"),
        (TrayAction::Open, "Open Rolecall"),
        (TrayAction::Settings, "Settings…"),
        (TrayAction::Quit, "Quit"),
    ] {
        entries.push(Entry::Item {
            action,
            text: text.into(),
        });
    }
    entries
}

/// A role as a menu shows it: a chained role by its chain's name, with the one-hour cap.
fn role_name(role: &str, chain: Option<&str>) -> String {
    match chain {
        Some(name) => format!(
            "{} (chained from {}, 1 h)",
            printable(name),
            printable(role)
        ),
        None => printable(role).into_owned(),
    }
}

/// The fewest characters of an account's name a role's label keeps.
const NAME_MIN: usize = 8;

/// A role's title in the menu: `name (account id) / role`, then `suffix` (the time left).
/// `name` is the account's alias if the person gave it one, as in the window.
/// `role` is as [`role_name`] shows it. Only the name is ever shortened: the account id and
/// the role stay whole, so two accounts given one name (a sandbox renamed after production)
/// never read alike, and no long name can hide which role an entry acts on. The label stays
/// within [`LABEL_MAX`] unless the role alone needs more.
pub fn role_title(name: &str, account_id: &str, role: &str, suffix: &str) -> String {
    named_role(name, account_id, role, suffix, LABEL_MAX)
}

/// A role as a notification names it: as in the menu, but whole (a notification has room).
pub fn role_words(account_name: &str, account_id: &str, role: &str) -> String {
    named_role(account_name, account_id, role, "", usize::MAX)
}

/// `name (account id) / role` and `suffix` within `max` characters, only the name shortened.
/// An account whose name is not known (its name is its id) is named by its id alone.
fn named_role(name: &str, account_id: &str, role: &str, suffix: &str, max: usize) -> String {
    let (name, tail) = if name == account_id {
        ("", format!("{account_id} / {role}{suffix}"))
    } else {
        (name, format!(" ({account_id}) / {role}{suffix}"))
    };
    let room = max.saturating_sub(tail.chars().count()).max(NAME_MIN);
    format!("{}{tail}", shorten(&printable(name), room))
}

/// Text as the menu toolkit must be given it, once it is as short as it should be: an `&` is
/// a character, not the mark of a keyboard mnemonic. A role's title is shaped by
/// [`role_title`], so it is never cut again.
pub fn role_label(title: &str) -> String {
    title.replace('&', "&&")
}

/// `text` in at most `max` characters, ending in "…" when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    } else {
        text.to_owned()
    }
}

/// Menu labels are short, and say what they say: longer than this, a name ends in "…", and an
/// `&` is a character, not the mark of a keyboard mnemonic (which would show "R&D" as "R_D").
pub const LABEL_MAX: usize = 60;

/// A model's text as the menu toolkit must be given it.
pub fn menu_label(text: &str) -> String {
    role_label(&shorten(text, LABEL_MAX))
}

fn item<R: Runtime>(
    app: &AppHandle<R>,
    action: &TrayAction,
    text: &str,
) -> tauri::Result<MenuItem<R>> {
    MenuItem::with_id(app, action.id(), menu_label(text), true, None::<&str>)
}

fn build_entry<R: Runtime>(
    app: &AppHandle<R>,
    entry: &Entry,
) -> tauri::Result<Box<dyn IsMenuItem<R>>> {
    Ok(match entry {
        Entry::Note(text) => Box::new(MenuItem::new(app, menu_label(text), false, None::<&str>)?),
        Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
        Entry::Item { action, text } => Box::new(item(app, action, text)?),
        Entry::Role {
            title,
            role,
            held,
            places,
        } => {
            let mut items: Vec<Box<dyn IsMenuItem<R>>> = vec![Box::new(item(
                app,
                &TrayAction::Console(role.clone()),
                "Open console",
            )?)];
            if !places.is_empty() {
                let pages = places
                    .iter()
                    .map(|place| {
                        item(
                            app,
                            &TrayAction::ConsoleAt {
                                role: role.clone(),
                                place: place.clone(),
                            },
                            place,
                        )
                    })
                    .collect::<tauri::Result<Vec<_>>>()?;
                let refs: Vec<&dyn IsMenuItem<R>> =
                    pages.iter().map(|p| p as &dyn IsMenuItem<R>).collect();
                items.push(Box::new(Submenu::with_items(
                    app,
                    "Open console at",
                    true,
                    &refs,
                )?));
            }
            items.push(Box::new(item(
                app,
                &TrayAction::CopyEnv(role.clone()),
                "Copy env",
            )?));
            if *held {
                items.push(Box::new(item(
                    app,
                    &TrayAction::Forget(role.clone()),
                    "Forget credentials",
                )?));
            }
            let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|b| b.as_ref()).collect();
            Box::new(Submenu::with_items(app, role_label(title), true, &refs)?)
        }
        Entry::Group { label, roles } => {
            let subs = roles
                .iter()
                .map(|r| build_entry(app, r))
                .collect::<tauri::Result<Vec<_>>>()?;
            let refs: Vec<&dyn IsMenuItem<R>> = subs.iter().map(|b| b.as_ref()).collect();
            Box::new(Submenu::with_items(
                app,
                menu_label(label),
                !refs.is_empty(),
                &refs,
            )?)
        }
    })
}

pub fn build_menu<R: Runtime>(app: &AppHandle<R>, model: &[Entry]) -> tauri::Result<Menu<R>> {
    let items = model
        .iter()
        .map(|e| build_entry(app, e))
        .collect::<tauri::Result<Vec<_>>>()?;
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|b| b.as_ref()).collect();
    Menu::with_items(app, &refs)
}

/// The model the tray shows now, so that a refresh with nothing new does not rebuild it.
static SHOWN: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// The menu for the state now (for a new tray). Main thread only.
pub fn menu_now<R: Runtime>(app: &AppHandle<R>, desktop: &Desktop) -> tauri::Result<Menu<R>> {
    let now = model(desktop);
    let menu = build_menu(app, &now)?;
    *lock(&SHOWN) = now;
    Ok(menu)
}

/// Rebuilds the menu if what it shows changed, and sets the title (the soonest expiry's time
/// left), on the main thread ([`crate::main_thread`] says why), from any thread.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    let _ = app.run_on_main_thread(move || refresh_here(&handle));
}

/// Sets the title and tooltip (the soonest expiry's time left) on the main thread, from any
/// thread.
pub fn set_title<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    let _ = app.run_on_main_thread(move || set_title_here(&handle));
}

fn refresh_here<R: Runtime>(app: &AppHandle<R>) {
    if !crate::main_thread::check("the tray's refresh") {
        return;
    }
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let desktop = app.state::<Arc<Desktop>>().inner().clone();
    let now = model(&desktop);
    if *lock(&SHOWN) != now {
        match build_menu(app, &now) {
            Ok(menu) => {
                let _ = tray.set_menu(Some(menu));
                *lock(&SHOWN) = now;
            }
            Err(e) => tracing::warn!("tray menu: {e}"),
        }
    }
    set_title_here(app);
}

fn set_title_here<R: Runtime>(app: &AppHandle<R>) {
    if !crate::main_thread::check("the tray's title") {
        return;
    }
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let desktop = app.state::<Arc<Desktop>>();
    let now = ms(desktop.core.clock().now());
    let soonest = desktop
        .core
        .vault()
        .active()
        .first()
        .map(|a| ms(a.expires_at));
    let title = soonest.map(|t| time_left(t, now));
    let _ = tray.set_title(title.as_deref());
    let tooltip = match &title {
        Some(t) => format!("Rolecall: credentials expire in {t}"),
        None => "Rolecall: no active credentials".into(),
    };
    let _ = tray.set_tooltip(Some(&tooltip));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chained_role_is_named_by_its_chain_with_its_cap() {
        assert_eq!(
            role_name("AdministratorAccess", Some("deploy")),
            "deploy (chained from AdministratorAccess, 1 h)"
        );
        assert_eq!(role_name("Admin\u{202e}", None), "Admin\\u{202e}");
    }

    #[test]
    fn a_role_label_always_shows_its_account_id_and_its_whole_role() {
        // A long name: no cut may hide which role (or which account) an entry acts on.
        let long = "payments-production-".repeat(4);
        let admin = role_label(&role_title(
            &long,
            "111111111111",
            "AdministratorAccess",
            "",
        ));
        let read = role_label(&role_title(&long, "111111111111", "ReadOnlyAccess", ""));
        assert_ne!(admin, read);
        assert!(
            admin.ends_with(" (111111111111) / AdministratorAccess"),
            "{admin}"
        );
        assert!(admin.starts_with("payments-production-"), "{admin}");
        assert!(admin.chars().count() <= LABEL_MAX, "{admin}");
        // Two accounts given one name (a sandbox renamed after production) read differently.
        let real = role_label(&role_title("payments-prod", "111111111111", "Admin", ""));
        let twin = role_label(&role_title("payments-prod", "222222222222", "Admin", ""));
        assert_ne!(real, twin);
        assert_eq!(real, "payments-prod (111111111111) / Admin");
        // Held credentials say their time left after the role, whole too.
        let held = role_label(&role_title(&long, "111111111111", "Admin", " (12:00 left)"));
        assert!(
            held.ends_with(" (111111111111) / Admin (12:00 left)"),
            "{held}"
        );
        // A role as long as IAM allows (64) keeps the id and the role whole, and some name.
        let role = "R".repeat(64);
        let label = role_label(&role_title(&long, "111111111111", &role, ""));
        assert!(
            label.ends_with(&format!(" (111111111111) / {role}")),
            "{label}"
        );
        assert!(label.starts_with("paym"), "{label}");
        // Ampersands stay characters; hidden characters are shown.
        assert_eq!(
            role_label(&role_title("R&D\u{202e}", "111111111111", "Admin", "")),
            "R&&D\\u{202e} (111111111111) / Admin"
        );
    }

    proptest::proptest! {
        /// Whatever the names: a label ends with the account id and the whole role, and two
        /// entries for different accounts or different roles never read alike.
        #[test]
        fn no_two_roles_share_a_label(
            name in "\\PC{0,120}",
            other in "\\PC{0,120}",
            role in "[A-Za-z0-9+=,.@_-]{1,64}",
            other_role in "[A-Za-z0-9+=,.@_-]{1,64}",
            id in 0u64..1_000_000_000_000,
            other_id in 0u64..1_000_000_000_000,
        ) {
            let (id, other_id) = (format!("{id:012}"), format!("{other_id:012}"));
            // A name that is its account's id is the unknown name (`role_words`' test).
            proptest::prop_assume!(name != id);
            let title = role_title(&name, &id, &role, "");
            let label = role_label(&title);
            let tail = format!(" ({id}) / {role}");
            proptest::prop_assert!(label.ends_with(&tail.replace('&', "&&")), "{label}");
            // As shown: the toolkit shows `&&` as one `&`.
            proptest::prop_assert!(
                title.chars().count() <= LABEL_MAX.max(tail.chars().count() + NAME_MIN),
                "{title}"
            );
            proptest::prop_assert!(!label.chars().any(rolecall_engine::text::is_hidden));
            if id != other_id || role != other_role {
                proptest::prop_assert_ne!(label, role_label(&role_title(&other, &other_id, &other_role, "")));
            }
        }
    }

    #[test]
    fn a_notification_names_the_account_id_of_its_role() {
        assert_eq!(
            role_words("payments-prod", "111111111111", "Admin"),
            "payments-prod (111111111111) / Admin"
        );
        assert_ne!(
            role_words("payments-prod", "111111111111", "Admin"),
            role_words("payments-prod", "222222222222", "Admin")
        );
        assert_eq!(
            role_words("111111111111", "111111111111", "Admin"),
            "111111111111 / Admin"
        ); // The same in the menu, where the account's name falls back to its id.
        assert_eq!(
            role_title("111111111111", "111111111111", "Admin", " (12:00 left)"),
            "111111111111 / Admin (12:00 left)"
        );
    }

    #[test]
    fn labels_keep_their_ampersands_and_stay_short() {
        assert_eq!(menu_label("R&D / Admin"), "R&&D / Admin");
        let long = "a".repeat(100);
        let label = menu_label(&long);
        assert_eq!(label.chars().count(), LABEL_MAX);
        assert!(label.ends_with('…'));
    }

    #[test]
    fn menu_ids_round_trip() {
        let role = RoleRef {
            session: "corp".into(),
            account_id: "111111111111".into(),
            role: "Admin|x".into(),
            chain: None,
        };
        for action in [
            TrayAction::Console(role.clone()),
            TrayAction::CopyEnv(role.clone()),
            TrayAction::Forget(role),
            TrayAction::SignIn {
                session: "corp".into(),
            },
            TrayAction::SignOut {
                session: "corp".into(),
            },
            TrayAction::Open,
            TrayAction::Quit,
        ] {
            assert_eq!(TrayAction::parse(&action.id()), Some(action));
        }
        assert_eq!(TrayAction::parse("console|corp"), None);
    }
}
