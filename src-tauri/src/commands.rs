//! The webview's commands: each forwards to [`Desktop`] (or the core) and maps the error to
//! `{code, message}`. Secrets never come back: copying happens in Rust.

use std::sync::Arc;

use tauri::{AppHandle, Runtime, State};

use crate::desktop::{Desktop, SEARCH_ROWS};
use crate::view::{
    AppView, ChainView, ConsoleMenuView, ConsoleTarget, ErrorView, ImportView, LongTermKeysView,
    PreferencesView, RetiredView, RoleRef, SearchView, SettingsView,
};
use crate::{changed, copy_to_clipboard, start_sign_in, start_sweep};

type Res<T> = Result<T, ErrorView>;
type Ds<'a> = State<'a, Arc<Desktop>>;

#[tauri::command]
pub fn app_state(d: Ds<'_>) -> AppView {
    d.view()
}

/// Runs off the main thread (which draws the window and takes the next key).
///
/// `limit`: the rows to send (at most and by default 300). `grouped`: the rows in the list's
/// order (roles under their account, accounts by their best match) before they are cut, so a
/// short answer is exactly the top of the long one: the list asks for the rows that fit on
/// screen while the person types (the answer's size is most of the command's time) and for
/// the rest once typing pauses, and the rows shown never move when the rest comes.
#[tauri::command]
pub async fn search_roles(
    d: Ds<'_>,
    query: String,
    limit: Option<u32>,
    grouped: Option<bool>,
) -> Res<SearchView> {
    let d = d.inner().clone();
    let limit = limit.map_or(SEARCH_ROWS, |n| (n as usize).clamp(1, SEARCH_ROWS));
    let grouped = grouped.unwrap_or(false);
    let (roles, total) =
        tauri::async_runtime::spawn_blocking(move || d.search_counted(&query, limit, grouped))
            .await
            .map_err(|e| ErrorView {
                code: "internal".into(),
                message: format!("the search failed: {e}"),
            })?;
    Ok(SearchView {
        roles,
        total: u32::try_from(total).unwrap_or(u32::MAX),
    })
}

#[tauri::command]
pub fn add_session<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    name: String,
    start_url: String,
    region: String,
) -> Res<()> {
    d.add_session(&name, &start_url, &region)?;
    changed(&app);
    Ok(())
}

#[tauri::command]
pub async fn remove_session<R: Runtime>(app: AppHandle<R>, d: Ds<'_>, name: String) -> Res<()> {
    d.remove_session(&name).await?;
    changed(&app);
    Ok(())
}

#[tauri::command]
pub fn sign_in<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    session: String,
    device_code: bool,
) -> Res<()> {
    start_sign_in(&app, d.inner().clone(), &session, device_code)
}

/// Opens the page of the sign-in under way again (the person closed the tab, or it never
/// opened).
#[tauri::command]
pub fn open_sign_in_page(d: Ds<'_>, session: String) -> Res<()> {
    let url = d.sign_in_page(&session).ok_or_else(|| ErrorView {
        code: "no_sign_in".into(),
        message: format!("no sign-in of {session} is waiting"),
    })?;
    rolecall_core::opener::open_url(&url).map_err(|message| ErrorView {
        code: "open".into(),
        message,
    })
}

#[tauri::command]
pub fn cancel_sign_in(d: Ds<'_>, session: String) {
    d.core.signin().cancel(&session);
}

#[tauri::command]
pub async fn sign_out<R: Runtime>(app: AppHandle<R>, d: Ds<'_>, session: String) -> Res<()> {
    let s = d.core.session(Some(&session))?;
    d.sign_out(&s).await;
    changed(&app);
    Ok(())
}

#[tauri::command]
pub fn refresh_catalog<R: Runtime>(app: AppHandle<R>, d: Ds<'_>, session: String) -> Res<()> {
    start_sweep(&app, d.inner().clone(), &session)
}

#[tauri::command]
pub async fn open_console<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    role: RoleRef,
    target: Option<ConsoleTarget>,
) -> Res<()> {
    d.open_console(&role, &target.unwrap_or_default()).await?;
    changed(&app);
    Ok(())
}

#[tauri::command]
pub fn console_menu(d: Ds<'_>, role: RoleRef) -> ConsoleMenuView {
    d.console_menu(&role)
}

#[tauri::command]
pub fn set_console_mode<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    account_id: String,
    mode: Option<String>,
) -> Res<()> {
    d.set_console_mode(&account_id, mode.as_deref())?;
    changed(&app);
    Ok(())
}

/// Copies a `rolecall://` link to a role's console (for a runbook or a chat); returns it.
#[tauri::command]
pub fn copy_console_link(d: Ds<'_>, role: RoleRef, target: Option<ConsoleTarget>) -> Res<String> {
    let link = d.console_link(&role, &target.unwrap_or_default())?;
    crate::clipboard::CLIPBOARD.write_text(&link)?;
    Ok(link)
}

/// The person's answer to a `rolecall://` link waiting in the window.
#[tauri::command]
pub async fn answer_link<R: Runtime>(app: AppHandle<R>, d: Ds<'_>, id: u32, open: bool) -> Res<()> {
    let result = d.answer_link(id, open).await;
    changed(&app);
    Ok(result?)
}

#[tauri::command]
pub async fn copy_env<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    role: RoleRef,
    shell: Option<String>,
) -> Res<()> {
    let text = d.env_text(&role, shell.as_deref()).await?;
    copy_to_clipboard(d.inner(), text)?;
    changed(&app);
    Ok(())
}

#[tauri::command]
pub async fn copy_terminal_session<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    role: RoleRef,
    shell: Option<String>,
) -> Res<()> {
    let text = d.terminal_session(&role, shell.as_deref()).await?;
    copy_to_clipboard(d.inner(), text)?;
    changed(&app);
    Ok(())
}

#[tauri::command]
pub fn revoke_grant<R: Runtime>(app: AppHandle<R>, d: Ds<'_>, id: String) -> Res<()> {
    if !d.endpoint.revoke(&id) {
        return Err(ErrorView {
            code: "unknown_grant".into(),
            message: format!("no terminal session {id}"),
        });
    }
    changed(&app);
    Ok(())
}

#[tauri::command]
pub fn copy_credential_process(d: Ds<'_>, role: RoleRef) -> Res<()> {
    let line = rolecall_engine::secret::Secret::new(d.credential_process_line(&role)?);
    copy_to_clipboard(d.inner(), line)
}

#[tauri::command]
pub fn forget_credentials<R: Runtime>(app: AppHandle<R>, d: Ds<'_>, role: RoleRef) {
    d.forget(&role);
    changed(&app);
}

#[tauri::command]
pub fn toggle_favourite<R: Runtime>(app: AppHandle<R>, d: Ds<'_>, role: RoleRef) -> Res<bool> {
    let now = d.toggle_favourite(&role)?;
    changed(&app);
    Ok(now)
}

#[tauri::command]
pub fn set_shell(d: Ds<'_>, shell: String) -> Res<()> {
    let f = rolecall_engine::shell::ShellFormat::parse(&shell).ok_or_else(|| ErrorView {
        code: "invalid".into(),
        message: format!("unknown shell format {shell:?}"),
    })?;
    d.core.update_config(|c| c.preferences.shell = f)?;
    Ok(())
}

#[tauri::command]
pub fn set_autostart<R: Runtime>(app: AppHandle<R>, d: Ds<'_>, enabled: bool) -> Res<()> {
    d.core
        .update_config(|c| c.preferences.autostart = enabled)?;
    crate::apply_autostart(&app, enabled);
    Ok(())
}

#[tauri::command]
pub fn guess_region(start_url: String) -> Option<String> {
    rolecall_engine::session::guess_region(&start_url)
}

#[tauri::command]
pub fn hide_window<R: Runtime>(window: tauri::Window<R>) {
    crate::dismiss(&window);
}

/// A window drew its first roles: the benchmark reads these lines. The main window's first
/// frame also lets the tray, the shortcut and the background refresh start.
#[tauri::command]
pub fn report_visible<R: Runtime>(
    app: AppHandle<R>,
    window: tauri::Window<R>,
    roles: u32,
    page: Option<Vec<(String, f64)>>,
) {
    if window.label() == "picker" {
        tracing::info!("picker: roles visible ({roles} roles)");
        return;
    }
    // The page's own clock says when the frame was drawn (the call itself may wait behind
    // the page's next piece of work).
    let now = crate::desktop::ms(std::time::SystemTime::now()) as f64;
    let frame = page
        .as_ref()
        .and_then(|p| p.last().map(|(_, t)| *t))
        .filter(|t| (now - 60_000.0..=now).contains(t))
        .unwrap_or(now);
    // When the page's navigation began: what came before it is WebKit's start and
    // Rolecall's, what came after it the page's own (scripts/bench-desktop splits the two).
    let navigation = page
        .as_ref()
        .and_then(|p| p.first().map(|(_, t)| *t))
        .filter(|t| (now - 60_000.0..=frame).contains(t))
        .unwrap_or(frame);
    if let Some(p) = page {
        let at = |epoch_ms: f64| epoch_ms - crate::started_epoch_ms();
        // Names are the page's own (a few fixed words); shown printable, cut short.
        let p: Vec<String> = p
            .iter()
            .take(16)
            .map(|(name, t)| {
                let name: String = rolecall_engine::text::printable(name)
                    .chars()
                    .take(24)
                    .collect();
                format!("{name} {:.0}", at(*t))
            })
            .collect();
        tracing::debug!(
            "startup: page milestones (ms after start): {}",
            p.join(", ")
        );
    }
    tracing::info!(
        "startup: catalogue visible ({roles} roles) {:.0} ms after start, frame_epoch_ms={frame:.0} \
         navigation_epoch_ms={navigation:.0}",
        frame - crate::started_epoch_ms()
    );
    crate::finish_startup(&app);
}

#[tauri::command]
pub fn settings_state(d: Ds<'_>) -> SettingsView {
    d.settings()
}

/// Saves every preference; a new shortcut is registered (and the old one kept if the new one
/// cannot be), start at login follows the box.
#[tauri::command]
pub fn save_preferences<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    preferences: PreferencesView,
) -> Res<()> {
    let before = d.save_preferences(&preferences)?;
    if before.shortcut != preferences.shortcut.trim()
        && let Err(message) =
            crate::change_shortcut(&app, &before.shortcut, preferences.shortcut.trim())
    {
        // Keep the file and the registered shortcut in step.
        d.core
            .update_config(|c| c.preferences.shortcut = before.shortcut.clone())?;
        return Err(ErrorView {
            code: "shortcut".into(),
            message,
        });
    }
    if before.autostart != preferences.autostart {
        crate::apply_autostart(&app, preferences.autostart);
    }
    changed(&app);
    Ok(())
}

#[tauri::command]
pub fn set_account<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    account_id: String,
    alias: Option<String>,
    colour: Option<String>,
    environment: Option<String>,
) -> Res<()> {
    d.set_account(
        &account_id,
        alias.as_deref(),
        colour.as_deref(),
        environment.as_deref(),
    )?;
    changed(&app);
    Ok(())
}

#[tauri::command]
pub fn save_chain<R: Runtime>(app: AppHandle<R>, d: Ds<'_>, chain: ChainView) -> Res<()> {
    d.save_chain(&chain)?;
    changed(&app);
    Ok(())
}

#[tauri::command]
pub fn remove_chain<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    session: String,
    account_id: String,
    name: String,
) -> Res<()> {
    d.remove_chain(&session, &account_id, &name)?;
    changed(&app);
    Ok(())
}

#[tauri::command]
pub fn edit_session<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    name: String,
    start_url: String,
    region: String,
) -> Res<()> {
    d.edit_session(&name, &start_url, &region)?;
    changed(&app);
    Ok(())
}

#[tauri::command]
pub fn import_sessions<R: Runtime>(app: AppHandle<R>, d: Ds<'_>) -> Res<ImportView> {
    let done = d.import_sessions()?;
    changed(&app);
    Ok(done)
}

#[tauri::command]
pub fn open_settings<R: Runtime>(app: AppHandle<R>) {
    crate::show_settings(&app);
}

/// The "Long-term keys" panel: asks STS and IAM, so off the main thread.
#[tauri::command]
pub async fn long_term_keys<R: Runtime>(app: AppHandle<R>, d: Ds<'_>) -> Res<LongTermKeysView> {
    let view = d.long_term_keys_view().await;
    changed(&app);
    Ok(view)
}

#[tauri::command]
pub async fn retire_key<R: Runtime>(
    app: AppHandle<R>,
    d: Ds<'_>,
    session: String,
    profile: String,
    role: String,
    deactivate: bool,
) -> Res<RetiredView> {
    let done = d.retire_key(&session, &profile, &role, deactivate).await;
    changed(&app);
    Ok(done?)
}
