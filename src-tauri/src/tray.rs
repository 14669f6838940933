//! The tray menu: active credentials with their time left, favourites and recents (Open
//! console / Copy env / Forget), Sign in / Sign out per session, Open Rolecall, Quit.
//!
//! Linux trays send no click events, so the menu itself does the whole job. Menu ids are a
//! Rust enum ([`TrayAction`]) serialised into the id string, never matched by prefix.
#![cfg(desktop)]

use std::sync::Arc;
use std::time::SystemTime;

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
    CopyEnv(RoleRef),
    Forget(RoleRef),
    SignIn { session: String },
    SignOut { session: String },
    Picker,
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

/// `mm:ss` (or `h:mm:ss`) until `expires_ms`.
pub fn time_left(expires_ms: u64) -> String {
    let now = ms(SystemTime::now());
    let secs = expires_ms.saturating_sub(now) / 1000;
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, (secs % 3600) / 60, secs % 60)
    } else {
        format!("{:02}:{:02}", secs / 60, secs % 60)
    }
}

fn item<R: Runtime>(
    app: &AppHandle<R>,
    action: TrayAction,
    text: &str,
) -> tauri::Result<MenuItem<R>> {
    MenuItem::with_id(app, action.id(), text, true, None::<&str>)
}

fn role_menu<R: Runtime>(
    app: &AppHandle<R>,
    title: &str,
    role: &RoleRef,
    held: bool,
) -> tauri::Result<Submenu<R>> {
    let console = item(app, TrayAction::Console(role.clone()), "Open console")?;
    let env = item(app, TrayAction::CopyEnv(role.clone()), "Copy env")?;
    if held {
        let forget = item(app, TrayAction::Forget(role.clone()), "Forget credentials")?;
        Submenu::with_items(app, title, true, &[&console, &env, &forget])
    } else {
        Submenu::with_items(app, title, true, &[&console, &env])
    }
}

pub fn build_menu<R: Runtime>(
    app: &AppHandle<R>,
    desktop: &Arc<Desktop>,
) -> tauri::Result<Menu<R>> {
    let view = desktop.view();
    let mut items: Vec<Box<dyn IsMenuItem<R>>> = Vec::new();
    let held: std::collections::HashSet<(String, String, String)> = view
        .active
        .iter()
        .map(|a| (a.session.clone(), a.account_id.clone(), a.role.clone()))
        .collect();
    if view.active.is_empty() {
        items.push(Box::new(MenuItem::with_id(
            app,
            "none",
            "No active credentials",
            false,
            None::<&str>,
        )?));
    }
    for a in &view.active {
        let role = RoleRef {
            session: a.session.clone(),
            account_id: a.account_id.clone(),
            role: a.role.clone(),
        };
        let title = format!(
            "{} / {} ({} left)",
            a.account_name,
            a.role,
            time_left(a.expires_at_ms)
        );
        items.push(Box::new(role_menu(app, &title, &role, true)?));
    }
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    let all = desktop.search("", 400);
    let favourites: Vec<_> = all.iter().filter(|r| r.favourite).take(15).collect();
    let recents: Vec<_> = all
        .iter()
        .filter(|r| r.recent && !r.favourite)
        .take(10)
        .collect();
    for (label, list) in [("Favourites", favourites), ("Recent", recents)] {
        let subs: Vec<Submenu<R>> = list
            .iter()
            .map(|r| {
                let role = RoleRef {
                    session: r.session.clone(),
                    account_id: r.account_id.clone(),
                    role: r.role.clone(),
                };
                let is_held =
                    held.contains(&(r.session.clone(), r.account_id.clone(), r.role.clone()));
                role_menu(
                    app,
                    &format!("{} / {}", r.account_name, r.role),
                    &role,
                    is_held,
                )
            })
            .collect::<tauri::Result<_>>()?;
        let refs: Vec<&dyn IsMenuItem<R>> = subs.iter().map(|s| s as &dyn IsMenuItem<R>).collect();
        items.push(Box::new(Submenu::with_items(
            app,
            label,
            !refs.is_empty(),
            &refs,
        )?));
    }
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    for s in &view.sessions {
        let (action, text) = if s.signed_in {
            (
                TrayAction::SignOut {
                    session: s.name.clone(),
                },
                format!("Sign out of {}", s.name),
            )
        } else {
            (
                TrayAction::SignIn {
                    session: s.name.clone(),
                },
                format!("Sign in to {}", s.name),
            )
        };
        items.push(Box::new(item(app, action, &text)?));
    }
    items.push(Box::new(item(app, TrayAction::Picker, "Quick picker…")?));
    items.push(Box::new(item(app, TrayAction::Open, "Open Rolecall")?));
    items.push(Box::new(item(app, TrayAction::Quit, "Quit")?));
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|b| b.as_ref()).collect();
    Menu::with_items(app, &refs)
}

/// Rebuilds the menu and the title (the soonest expiry's time left).
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let desktop = app.state::<Arc<Desktop>>().inner().clone();
    match build_menu(app, &desktop) {
        Ok(menu) => {
            let _ = tray.set_menu(Some(menu));
        }
        Err(e) => tracing::warn!("tray menu: {e}"),
    }
    set_title(app);
}

pub fn set_title<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let desktop = app.state::<Arc<Desktop>>();
    let soonest = desktop
        .core
        .vault()
        .active()
        .first()
        .map(|a| ms(a.expires_at));
    let title = soonest.map(time_left);
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
    fn menu_ids_round_trip() {
        let role = RoleRef {
            session: "corp".into(),
            account_id: "111111111111".into(),
            role: "Admin|x".into(),
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
