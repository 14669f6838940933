//! Rolecall's desktop shell (Tauri 2): windows, tray, clipboard, notifications, global shortcut.
//! Everything else is in `rolecall-core` and `rolecall-engine`; commands are one-liners into
//! [`desktop::Desktop`].
//!
//! It must never hand a secret to the webview: views carry names and times, copying happens
//! here, and URLs that sign in to the console are opened from here.

#[cfg(target_os = "linux")]
pub mod bus;
pub mod clipboard;
mod commands;
pub mod desktop;
mod keys;
pub mod main_thread;
pub mod tray;
pub mod view;

use std::sync::Arc;
use std::time::Duration;

use rolecall_engine::secret::Secret;
use rolecall_engine::signin::SignInEvent;
use rolecall_engine::text::printable;
use rolecall_engine::vault::VaultEvent;
use tauri::{AppHandle, Emitter, Manager, Runtime, WindowEvent};

use crate::clipboard::CLIPBOARD;

use desktop::{Desktop, Launch, open_url};
use tray::{TRAY_ID, TrayAction};
use view::{ErrorView, RoleRef};

/// Tells the windows to re-read the state, and rebuilds the tray menu.
/// Milliseconds since the app started.
pub fn since_start_ms() -> u128 {
    STARTED.get().map_or(0, |(t, _)| t.elapsed().as_millis())
}

/// The wall-clock time the app started, in ms since the Unix epoch (to place the page's own
/// timings on the same scale).
pub fn started_epoch_ms() -> f64 {
    STARTED
        .get()
        .map_or(0.0, |(_, wall)| desktop::ms(*wall) as f64)
}

pub fn changed<R: Runtime>(app: &AppHandle<R>) {
    let _ = app.emit("state-changed", ());
    tray::refresh(app);
}

/// Puts a secret on the clipboard and clears it later if it is still there.
pub fn copy_to_clipboard(desktop: &Arc<Desktop>, text: Secret) -> Result<(), ErrorView> {
    CLIPBOARD.write_secret(text.expose())?;
    let generation = desktop.next_clipboard();
    if let Some(after) = desktop.clipboard_clear_after() {
        let desktop = desktop.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(after).await;
            let ours = CLIPBOARD
                .read_text()
                .is_some_and(|now| now == text.expose());
            if desktop.clipboard_current(generation) && ours {
                let _ = CLIPBOARD.clear();
                tracing::info!("clipboard cleared");
            }
        });
    }
    Ok(())
}

pub fn start_sign_in<R: Runtime>(
    app: &AppHandle<R>,
    desktop: Arc<Desktop>,
    session: &str,
    device_code: bool,
) -> Result<(), ErrorView> {
    let s = desktop.core.session(Some(session))?;
    let method = desktop.core.sign_in_method(device_code);
    desktop.signing_in(&s.name, device_code);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if desktop.core.sign_in(&s, method).await.is_ok() {
            // The banner's count is looked for again after each sign-in (file reads: off
            // the async workers).
            let d = desktop.clone();
            let _ = tauri::async_runtime::spawn_blocking(move || d.count_long_term_keys()).await;
            let _ = start_sweep(&app, desktop, &s.name);
        }
    });
    Ok(())
}

/// Sweeps a session's catalogue in the background, with progress in the window.
pub fn start_sweep<R: Runtime>(
    app: &AppHandle<R>,
    desktop: Arc<Desktop>,
    session: &str,
) -> Result<(), ErrorView> {
    let s = desktop.core.session(Some(session))?;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let d = desktop.clone();
        let name = s.name.clone();
        let progress_app = app.clone();
        let progress = tauri::async_runtime::spawn(async move {
            let mut last = std::time::Instant::now();
            while let Some(event) = rx.recv().await {
                if d.on_sweep_event(&name, &event) && last.elapsed() > Duration::from_millis(150) {
                    last = std::time::Instant::now();
                    let _ = progress_app.emit("state-changed", ());
                }
            }
        });
        desktop.sweep_error(&s.name, None);
        // The accounts of recent roles first (then the favourites', which the core adds).
        let recent: Vec<String> = desktop
            .recents()
            .into_iter()
            .filter(|k| k.session == s.name)
            .map(|k| k.account_id)
            .collect();
        let result = desktop
            .core
            .refresh_catalog_first(&s, Some(tx), recent)
            .await;
        let _ = progress.await;
        desktop.sweep_finished(&s.name);
        if let Err(e) = result {
            desktop.sweep_error(&s.name, Some(&e));
        }
        changed(&app);
    });
    Ok(())
}

fn is_link(arg: &str) -> bool {
    arg.starts_with(&format!("{}:", rolecall_engine::deeplink::SCHEME))
}

/// A `rolecall://` link: opened at once for a role used lately, else shown in the window
/// for the person to answer. A link that is not understood is reported, never guessed at.
pub fn link_arrived<R: Runtime>(app: &AppHandle<R>, link: String) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(desktop) = app.try_state::<Arc<Desktop>>().map(|d| d.inner().clone()) else {
            return;
        };
        match desktop.link_arrived(&link).await {
            Ok(true) => show_main(&app),
            Ok(false) => {}
            Err(e) => report(&app, Err(ErrorView::from(e))),
        }
        changed(&app);
    });
}

/// When the app started: monotonic for durations, wall-clock to line up with the page's clock.
static STARTED: std::sync::OnceLock<(std::time::Instant, std::time::SystemTime)> =
    std::sync::OnceLock::new();

/// The window `label`, created from its configuration if it is not there (windows are dropped
/// while hidden: a web view costs far more memory than the rest of Rolecall).
fn ensure_window<R: Runtime>(app: &AppHandle<R>, label: &str) -> Option<tauri::WebviewWindow<R>> {
    if let Some(w) = app.get_webview_window(label) {
        return Some(w);
    }
    let config = window_config(app, label)?;
    let serving = app.clone();
    let built = tauri::WebviewWindowBuilder::from_config(app, &config).map(|b| {
        if label == "picker" {
            // The picker's first 8 roles, in the list's own order of relevance.
            b.on_web_resource_request(move |_request, response| {
                put_first_view(&serving, desktop::PICKER_ROWS, false, response);
            })
        } else {
            b
        }
    });
    match built.and_then(|b| b.build()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::error!("cannot open the {label} window: {e}");
            None
        }
    }
}

/// The window `label` as `tauri.conf.json` declares it.
fn window_config<R: Runtime>(
    app: &AppHandle<R>,
    label: &str,
) -> Option<tauri::utils::config::WindowConfig> {
    app.config()
        .app
        .windows
        .iter()
        .find(|w| w.label == label)
        .cloned()
}

/// Brings a window up, in front, with the focus.
fn present<R: Runtime>(w: &tauri::WebviewWindow<R>) {
    let _ = w.show();
    let _ = w.unminimize();
    let _ = w.set_focus();
}

fn keep_loaded<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<Arc<Desktop>>()
        .is_some_and(|d| d.core.config().preferences.keep_window_loaded)
}

/// Hides a window, or drops it (and its web view) unless the person chose to keep it loaded.
pub fn dismiss<R: Runtime>(window: &tauri::Window<R>) {
    tracing::debug!("dismissing the {} window", window.label());
    if keep_loaded(window.app_handle()) {
        let _ = window.hide();
    } else {
        let _ = window.destroy();
    }
}

/// A later launch of Rolecall handed its arguments over: the window comes up, and a
/// `rolecall://` link among them is acted on as any link is.
fn later_launch<R: Runtime>(app: &AppHandle<R>, args: &[String]) {
    // `rolecall-desktop --picker`: what a desktop's own shortcut settings bind where the
    // global shortcut cannot be grabbed (Wayland).
    if args.iter().any(|a| a == PICKER_ARG) {
        show_picker(app);
    } else {
        show_main(app);
    }
    for link in args.iter().filter(|a| is_link(a)) {
        link_arrived(app, link.clone());
    }
}

/// Shows the main window. One made here is shown once its page has loaded, not before: WebKit
/// (without GPU compositing) can hold the app's main thread for up to 500 ms waiting for a
/// window shown while its page loads to be drawn, and that thread serves the page its own
/// files (README, Benchmarks). Loaded first, the page is drawn at once, with its roles.
fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        present(&w);
        return;
    }
    let Some(mut config) = window_config(app, "main") else {
        return;
    };
    config.visible = false;
    let shown = std::sync::atomic::AtomicBool::new(false);
    let serving = app.clone();
    let rows = desktop::rows_on_screen(config.height);
    let built = tauri::WebviewWindowBuilder::from_config(app, &config)
        .map(|b| {
            b.on_web_resource_request(move |_request, response| {
                put_first_view(&serving, rows, true, response);
            })
            .on_page_load(move |w, page| {
                if page.event() == tauri::webview::PageLoadEvent::Finished
                    && !shown.swap(true, std::sync::atomic::Ordering::SeqCst)
                {
                    tracing::debug!("startup: main page loaded at {} ms", since_start_ms());
                    // Not from inside WebKit's page-load signal: from a task, as any other
                    // window call.
                    tauri::async_runtime::spawn(async move { present(&w) });
                }
            })
        })
        .and_then(|b| b.build());
    if let Err(e) = built {
        tracing::error!("cannot open the main window: {e}");
    }
}

/// The main page (or the picker's) as it is served, with its first frame's state and `rows`
/// in it ([`view::FirstView`]; `grouped`: in the main list's order): the page draws them as
/// its script runs, instead of asking with two commands whose answers wait behind the main
/// thread showing the window. Left as it is (the page then asks) for any response but HTML,
/// or before Rolecall's core is open.
fn put_first_view<R: Runtime>(
    app: &AppHandle<R>,
    rows: usize,
    grouped: bool,
    response: &mut tauri::http::Response<std::borrow::Cow<'static, [u8]>>,
) {
    let html = response
        .headers()
        .get(tauri::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let Some(desktop) = app.try_state::<Arc<Desktop>>().filter(|_| html) else {
        return;
    };
    let Ok(json) = serde_json::to_string(&desktop.first_view(rows, grouped)) else {
        return;
    };
    let page = String::from_utf8_lossy(response.body());
    if let Some(page) = view::with_block_in_body(&page, &view::first_view_block(&json)) {
        *response.body_mut() = page.into_bytes().into();
        // A window made later gets the page anew, with the state of then.
        response.headers_mut().insert(
            tauri::http::header::CACHE_CONTROL,
            tauri::http::HeaderValue::from_static("no-store"),
        );
    }
}

pub(crate) fn show_settings<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = ensure_window(app, "settings") {
        present(&w);
    }
}

/// The argument that shows the quick picker (a second launch hands it to the running app).
pub const PICKER_ARG: &str = "--picker";

/// How long a focus-out of the picker must last before the picker goes.
const FOCUS_SETTLE: Duration = Duration::from_millis(200);

/// Whether the picker shown last has had the focus since (see `on_window_event`).
static PICKER_HAD_FOCUS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn show_picker<R: Runtime>(app: &AppHandle<R>) {
    tracing::debug!("showing the quick picker");
    PICKER_HAD_FOCUS.store(false, std::sync::atomic::Ordering::SeqCst);
    if let Some(w) = ensure_window(app, "picker") {
        let _ = w.center();
        let _ = w.show();
        let _ = w.set_focus();
        let _ = app.emit_to("picker", "picker-shown", ());
    }
}

fn on_tray<R: Runtime>(app: &AppHandle<R>, id: &str) {
    let Some(action) = TrayAction::parse(id) else {
        return;
    };
    let desktop = app.state::<Arc<Desktop>>().inner().clone();
    let app = app.clone();
    match action {
        TrayAction::Open => show_main(&app),
        TrayAction::Picker => show_picker(&app),
        TrayAction::Settings => show_settings(&app),
        TrayAction::Quit => app.exit(0),
        TrayAction::SignIn { session } => {
            let _ = start_sign_in(&app, desktop, &session, false);
            show_main(&app);
        }
        TrayAction::SignOut { session } => {
            tauri::async_runtime::spawn(async move {
                if let Ok(s) = desktop.core.session(Some(&session)) {
                    desktop.sign_out(&s).await;
                }
                changed(&app);
            });
        }
        TrayAction::Forget(role) => {
            desktop.forget(&role);
            changed(&app);
        }
        TrayAction::Console(role) => {
            tauri::async_runtime::spawn(async move {
                tray_console(&app, &desktop, &role, view::ConsoleTarget::default()).await
            });
        }
        TrayAction::ConsoleAt { role, place } => {
            let target = match rolecall_engine::console::Destination::parse(&place) {
                rolecall_engine::console::Destination::Path(path) => view::ConsoleTarget {
                    path: Some(path),
                    ..view::ConsoleTarget::default()
                },
                rolecall_engine::console::Destination::Service(service) => view::ConsoleTarget {
                    service: Some(service),
                    ..view::ConsoleTarget::default()
                },
            };
            tauri::async_runtime::spawn(async move {
                tray_console(&app, &desktop, &role, target).await
            });
        }
        TrayAction::CopyEnv(role) => {
            tauri::async_runtime::spawn(async move {
                let result = match desktop.env_text(&role, None).await {
                    Ok(text) => copy_to_clipboard(&desktop, text),
                    Err(e) => Err(e.into()),
                };
                report(&app, result);
                changed(&app);
            });
        }
    }
}

async fn tray_console<R: Runtime>(
    app: &AppHandle<R>,
    desktop: &Arc<Desktop>,
    role: &RoleRef,
    target: view::ConsoleTarget,
) {
    let result = desktop
        .open_console(role, &target)
        .await
        .map_err(ErrorView::from);
    report(app, result);
    changed(app);
}

/// Failures of tray actions have no window to show them: a notification says what happened.
fn report<R: Runtime>(app: &AppHandle<R>, result: Result<(), ErrorView>) {
    if let Err(e) = result {
        notify(app, &e.message);
    }
}

/// A desktop notification from Rolecall (on Linux over the session bus: [`bus::notify`]).
fn notify<R: Runtime>(app: &AppHandle<R>, text: &str) {
    #[cfg(target_os = "linux")]
    {
        let _ = app;
        bus::notify("Rolecall", &notification_text(text));
    }
    #[cfg(not(target_os = "linux"))]
    {
        use tauri_plugin_notification::NotificationExt;
        let _ = app
            .notification()
            .builder()
            .title("Rolecall")
            .body(notification_text(text))
            .show();
    }
}

fn notify_vault<R: Runtime>(app: &AppHandle<R>, desktop: &Desktop, event: &VaultEvent) {
    let name = |key: &rolecall_engine::vault::RoleKey| {
        tray::role_words(
            &desktop.account_name(&key.session, &key.account_id),
            &key.account_id,
            &key.role,
        )
    };
    let body = match event {
        VaultEvent::Warning { key, remaining, .. } => {
            let secs = remaining.as_secs();
            let left = if secs < 120 {
                format!("{secs} s")
            } else {
                format!("{} min", secs.div_ceil(60))
            };
            format!("Credentials for {} expire in {left}", name(key))
        }
        VaultEvent::Expired { key } => {
            format!(
                "Credentials for {} expired and were wiped from memory",
                name(key)
            )
        }
        VaultEvent::ClockSuspect { key, remaining } => {
            format!(
                "Credentials for {} came with only {} s left: this computer's clock may be wrong. They will not be renewed automatically.",
                name(key),
                remaining.as_secs()
            )
        }
        _ => return,
    };
    notify(app, &body);
}

/// What the person hears of a sign-in by itself: that it ends soon (with the time left and
/// what to do) and that it has ended.
fn notify_sign_in<R: Runtime>(app: &AppHandle<R>, desktop: &Desktop, event: &SignInEvent) {
    let body = match event {
        SignInEvent::EndingSoon { session, ends_at } => {
            let left = ends_at
                .duration_since(desktop.core.clock().now())
                .unwrap_or_default()
                .as_secs();
            let left = if left < 120 {
                format!("{left} s")
            } else {
                format!("{} min", left.div_ceil(60))
            };
            format!(
                "Your sign-in to {session} ends in {left}. Sign in again now (tray or window) and your roles keep working without a break."
            )
        }
        SignInEvent::Ended { session } => format!(
            "Your sign-in to {session} has ended. Sign in again to get credentials for its roles."
        ),
        _ => return,
    };
    notify(app, &body);
}

/// A notification body as the notification server must be given it: hidden characters made
/// visible, and the markup some servers read in bodies (`<b>`, `&amp;`) escaped, so a name
/// is shown as it is.
pub fn notification_text(text: &str) -> String {
    printable(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn pump_events<R: Runtime>(app: &AppHandle<R>, desktop: Arc<Desktop>) {
    // The long-term keys banner: the AWS files, the environment and the shell histories are
    // read once at start, off the main thread.
    let (a, d) = (app.clone(), desktop.clone());
    tauri::async_runtime::spawn_blocking(move || {
        if d.count_long_term_keys() > 0 {
            changed(&a);
        }
    });
    let mut sign_ins = desktop.core.signin().subscribe();
    // After the subscription, so that no warning is said before anyone listens.
    tauri::async_runtime::spawn(desktop.core.watch_session_endings());
    let (a, d) = (app.clone(), desktop.clone());
    tauri::async_runtime::spawn(async move {
        loop {
            match sign_ins.recv().await {
                Ok(event) => {
                    if let Some(url) = d.on_sign_in_event(&event) {
                        open_url(&url);
                    }
                    notify_sign_in(&a, &d, &event);
                    changed(&a);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    });
    let mut vault = desktop.core.vault().subscribe();
    let (a, d) = (app.clone(), desktop.clone());
    tauri::async_runtime::spawn(async move {
        loop {
            match vault.recv().await {
                Ok(event) => {
                    notify_vault(&a, &d, &event);
                    changed(&a);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    });
    // The tray's countdown ticks every second; its menu labels every 15 s.
    let a = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut tick = 0u64;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            tick += 1;
            if tick.is_multiple_of(15) {
                tray::refresh(&a);
            } else {
                tray::set_title(&a);
            }
        }
    });
}

static STARTUP_DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Builds the tray and registers the shortcut and autostart, once, on the main thread.
pub fn finish_startup<R: Runtime>(app: &AppHandle<R>) {
    if STARTUP_DONE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let handle = app.clone();
    let _ = app.run_on_main_thread(move || {
        let desktop = handle.state::<Arc<Desktop>>().inner().clone();
        if let Err(e) = build_tray(&handle, &desktop) {
            tracing::error!("cannot build the tray: {e}");
        }
        tracing::debug!("startup: tray built at {} ms", since_start_ms());
        let prefs = desktop.core.config().preferences.clone();
        register_shortcut(&handle, &prefs.shortcut);
        // The cached catalogue is on screen: now refresh signed-in sessions in the background.
        for s in desktop.core.sessions() {
            if desktop.core.signin().status(&s).signed_in {
                let _ = start_sweep(&handle, desktop.clone(), &s.name);
            }
        }
        apply_autostart(&handle, prefs.autostart);
    });
}

/// Makes the login autostart entry (an XDG autostart file on Linux, starting Rolecall hidden
/// in the tray) match the preference.
pub(crate) fn apply_autostart<R: Runtime>(app: &AppHandle<R>, wanted: bool) {
    use tauri_plugin_autostart::ManagerExt;
    let autolaunch = app.autolaunch();
    let enabled = autolaunch.is_enabled().unwrap_or(false);
    let result = match (wanted, enabled) {
        (true, _) => autolaunch.enable().map(|()| "enabled"),
        (false, true) => autolaunch.disable().map(|()| "disabled"),
        (false, false) => return,
    };
    match result {
        Ok(what) => tracing::info!("start at login {what}"),
        Err(e) => tracing::warn!("cannot change the start at login setting: {e}"),
    }
}

fn build_tray<R: Runtime>(app: &AppHandle<R>, desktop: &Arc<Desktop>) -> tauri::Result<()> {
    let menu = tray::menu_now(app, desktop)?;
    let mut tray = tauri::tray::TrayIconBuilder::with_id(TRAY_ID)
        .menu(&menu)
        .tooltip("Rolecall")
        .on_menu_event(|app, event| on_tray(app, event.id().as_ref()));
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// Replaces the quick picker's global shortcut; on failure the old one stays registered and the
/// error says why (taken by another program, not a shortcut).
pub(crate) fn change_shortcut<R: Runtime>(
    app: &AppHandle<R>,
    old: &str,
    new: &str,
) -> Result<(), String> {
    use tauri_plugin_global_shortcut::GlobalShortcutExt;
    if !STARTUP_DONE.load(std::sync::atomic::Ordering::SeqCst) {
        // Not registered yet: the start-up registers what the config says.
        return Ok(());
    }
    let shortcuts = app.global_shortcut();
    let _ = shortcuts.unregister(old);
    match shortcuts.register(new) {
        Ok(()) => {
            tracing::info!("quick picker shortcut is now {new}");
            Ok(())
        }
        Err(e) => {
            let _ = shortcuts.register(old);
            Err(format!(
                "cannot use {new} as the quick picker's shortcut ({e}); {old} is kept"
            ))
        }
    }
}

fn register_shortcut<R: Runtime>(app: &AppHandle<R>, shortcut: &str) {
    use tauri_plugin_global_shortcut::GlobalShortcutExt;
    let failed = app.global_shortcut().register(shortcut).is_err();
    if failed {
        tracing::warn!("cannot register the quick picker shortcut {shortcut}");
    }
    desktop::SHORTCUT_FAILED.store(failed, std::sync::atomic::Ordering::SeqCst);
}

/// The command handler, shared by the app and the mock-runtime tests.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        commands::app_state,
        commands::search_roles,
        commands::add_session,
        commands::remove_session,
        commands::sign_in,
        commands::cancel_sign_in,
        commands::sign_out,
        commands::refresh_catalog,
        commands::console_menu,
        commands::set_console_mode,
        commands::copy_console_link,
        commands::answer_link,
        commands::open_console,
        commands::copy_env,
        commands::copy_credential_process,
        commands::copy_terminal_session,
        commands::revoke_grant,
        commands::forget_credentials,
        commands::toggle_favourite,
        commands::set_shell,
        commands::set_autostart,
        commands::guess_region,
        commands::hide_window,
        commands::report_visible,
        commands::open_sign_in_page,
        commands::settings_state,
        commands::save_preferences,
        commands::set_account,
        commands::save_chain,
        commands::remove_chain,
        commands::edit_session,
        commands::import_sessions,
        commands::open_settings,
        commands::long_term_keys,
        commands::retire_key,
    ]
}

pub fn run() {
    // The thread that runs the event loop: the only one that may touch the tray and menus.
    main_thread::claim();
    // Before any secret exists: no core file, not dumpable (WebKit's own processes are
    // dumpable again, and hold none).
    rolecall_core::hardening::keep_secrets_in_this_process();
    rolecall_core::logging::init("info");
    STARTED.get_or_init(|| (std::time::Instant::now(), std::time::SystemTime::now()));
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        // GTK would panic; say what is missing instead.
        eprintln!(
            "rolecall: the desktop app needs a graphical session (neither DISPLAY nor \
             WAYLAND_DISPLAY is set); from a terminal, use the `rolecall` command"
        );
        std::process::exit(1);
    }
    // Read lossily: `std::env::args` panics on an argument that is not UTF-8, and anyone
    // can start Rolecall with one (a crafted link in a browser); such a link is then simply
    // not understood, and said so.
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Started with `--picker`, Rolecall starts with the quick picker shown and no main window.
    let picker = args.iter().any(|a| a == PICKER_ARG);
    let hidden = picker || args.iter().any(|a| a == "--hidden");
    let links: Vec<String> = args.iter().filter(|a| is_link(a)).cloned().collect();
    let launch = Launch {
        demo: args.iter().any(|a| a == "--demo"),
        no_agent: args.iter().any(|a| a == "--no-agent"),
        home: None,
    };
    // One Rolecall per login: a later launch hands its arguments (a `rolecall://` link) to
    // the running one and exits, before it opens anything.
    #[cfg(target_os = "linux")]
    let owner = match bus::claim(&args) {
        Ok(bus::Claim::First(owner)) => Some(owner),
        Ok(bus::Claim::HandedOver) => std::process::exit(0),
        Ok(bus::Claim::Alone(why)) => {
            tracing::warn!("{why}: a second launch will start a second Rolecall");
            None
        }
        Err(message) => {
            eprintln!("rolecall: {message}");
            std::process::exit(1);
        }
    };
    let builder = tauri::Builder::default();
    #[cfg(not(target_os = "linux"))]
    let builder = builder
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            later_launch(app, &args)
        }))
        .plugin(tauri_plugin_notification::init());
    let builder = builder
        // Started at login, Rolecall waits in the tray.
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec!["--hidden"]),
        ))
        .plugin(
            tauri_plugin_global_shortcut::Builder::new()
                .with_handler(|app, _shortcut, event| {
                    if event.state() == tauri_plugin_global_shortcut::ShortcutState::Pressed {
                        tracing::debug!("quick picker shortcut pressed");
                        show_picker(app);
                    }
                })
                .build(),
        )
        .invoke_handler(handler())
        .on_window_event(|window, event| match event {
            // Closing a window hides it (or drops its web view): Rolecall lives in the tray
            // until Quit.
            WindowEvent::CloseRequested { api, .. } if keep_loaded(window.app_handle()) => {
                api.prevent_close();
                let _ = window.hide();
            }
            // The picker goes when the person moves on from it: never before it had the focus
            // (a window manager that refuses a background app the focus, as for a picker
            // brought up by `--picker`), and not for a focus that comes straight back (a
            // window being shown can lose and regain it within a millisecond).
            WindowEvent::Focused(true) if window.label() == "picker" => {
                PICKER_HAD_FOCUS.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            WindowEvent::Focused(false)
                if window.label() == "picker"
                    && PICKER_HAD_FOCUS.load(std::sync::atomic::Ordering::SeqCst) =>
            {
                let window = window.clone();
                tauri::async_runtime::spawn(async move {
                    tokio::time::sleep(FOCUS_SETTLE).await;
                    if !window.is_focused().unwrap_or(false) {
                        PICKER_HAD_FOCUS.store(false, std::sync::atomic::Ordering::SeqCst);
                        dismiss(&window);
                    }
                });
            }
            _ => {}
        })
        .setup(move |app| {
            tracing::debug!("startup: setup at {} ms", since_start_ms());
            // Rolecall's own start (the keychain over D-Bus, the config, the catalogue cache,
            // the endpoint) runs on its own thread while this one creates the window: WebKit
            // starts its processes meanwhile. Commands wait for nothing: the page's first call
            // is served by this thread's event loop, after `setup` has returned.
            let opening = std::thread::Builder::new()
                .name("rolecall-open".into())
                .spawn(move || tauri::async_runtime::block_on(Desktop::open(launch)))?;
            let handle = app.handle().clone();
            #[cfg(target_os = "linux")]
            if let Some(owner) = owner {
                let app = handle.clone();
                owner.serve(move |args| later_launch(&app, &args));
            }
            if !hidden {
                show_main(&handle);
            }
            tracing::debug!("startup: window created at {} ms", since_start_ms());
            let desktop = match opening.join() {
                Ok(Ok(desktop)) => Arc::new(desktop),
                Ok(Err(message)) => return Err(message.into()),
                Err(_) => return Err("Rolecall's start failed (see the log above)".into()),
            };
            tracing::debug!("startup: core open at {} ms", since_start_ms());
            app.manage(desktop.clone());
            // The tray, shortcut and autostart wait until the window shows the catalogue (or
            // 1.5 s): building them holds the main thread, which WebKit needs to load the page.
            let later = handle.clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                finish_startup(&later);
            });
            pump_events(&handle, desktop.clone());
            if picker {
                show_picker(&handle);
            }
            for link in links {
                link_arrived(&handle, link);
            }
            Ok(())
        });
    let app = match builder.build(tauri::generate_context!()) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("rolecall: cannot start the desktop app: {e}");
            std::process::exit(1);
        }
    };
    app.run(|_app, event| {
        // With every window closed Rolecall stays in the tray; only Quit (an exit code) ends it.
        if let tauri::RunEvent::ExitRequested {
            code: None, api, ..
        } = event
        {
            api.prevent_exit();
        }
    });
}
