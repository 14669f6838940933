//! Which thread may touch the tray and menus.
//!
//! Tauri's tray and menu handles wrap `Rc`s (tray-icon's `TrayIcon`, muda's menus) and are
//! marked `Send + Sync` on the promise that only the main thread touches them; tauri does not
//! check it (tauri #15523). Looking one up, cloning it or dropping it on a tokio worker races the
//! main thread's reference counts: the app aborted in CI with "unsafe precondition(s) violated"
//! inside `TrayIcon::clone`, from a tray refresh on a worker. So every tray and menu call is
//! sent to the main thread (`AppHandle::run_on_main_thread`, which runs at once when already
//! there), and the functions that make such calls refuse, loudly, to run anywhere else.

use std::sync::OnceLock;
use std::thread::ThreadId;

static MAIN: OnceLock<ThreadId> = OnceLock::new();

/// Records the calling thread as the main one (the thread that runs the event loop). The first
/// call wins.
pub fn claim() {
    MAIN.get_or_init(|| std::thread::current().id());
}

/// Whether this is the main thread.
pub fn here() -> bool {
    MAIN.get() == Some(&std::thread::current().id())
}

/// What the log says when a tray or menu call is about to run off the main thread (the
/// end-to-end tests fail on it).
pub const OFF_MAIN_THREAD: &str = "was called off the main thread";

/// `true` on the main thread; elsewhere logs an error naming `what` and returns `false`, so the
/// caller skips its tray or menu calls instead of racing the main thread.
pub fn check(what: &str) -> bool {
    let here = here();
    if !here {
        tracing::error!(
            "{what} {OFF_MAIN_THREAD}, where tray and menu handles must never be touched; skipped"
        );
    }
    here
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_claimed_thread_may_touch_the_tray() {
        claim();
        assert!(here() && check("a test"));
        let elsewhere = std::thread::spawn(|| (here(), check("a test")))
            .join()
            .expect("the thread ran");
        assert_eq!(elsewhere, (false, false));
    }
}
