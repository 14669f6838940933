//! When a new main window is shown. It is made hidden; its page loads and asks for its state
//! and first roles. Once both are in, the page says so (`page_ready`) in the task that builds
//! them into its first view, and the window is shown: its first frame is drawn once, whole.
//! Never before the page has loaded: WebKit (without GPU compositing) can hold the main thread
//! for up to 500 ms waiting for a window shown while its page loads to be drawn. A page that
//! never says it is ready is shown `PAGE_GRACE` after its load all the same.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// When a new main window is shown: once its page has loaded *and* said it is ready, whichever
/// comes last, or `PAGE_GRACE` after the load.
#[derive(Debug, Clone, Default)]
pub struct Reveal(Arc<Mutex<RevealState>>);

#[derive(Debug, Default)]
struct RevealState {
    /// Which main window this is about: one dropped (closed) and made anew is another.
    window: u64,
    loaded: bool,
    ready: bool,
    shown: bool,
}

impl Reveal {
    pub const PAGE_GRACE: Duration = Duration::from_secs(1);

    fn state(&self) -> MutexGuard<'_, RevealState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new main window, hidden: what is said of it takes the number this returns.
    pub fn begin(&self) -> u64 {
        let mut s = self.state();
        *s = RevealState {
            window: s.window + 1,
            ..RevealState::default()
        };
        s.window
    }

    /// Window `window`'s page loaded: true if it is to be shown now (its page is ready too).
    pub fn loaded(&self, window: u64) -> bool {
        let mut s = self.state();
        if s.window != window {
            return false;
        }
        s.loaded = true;
        s.ready && !std::mem::replace(&mut s.shown, true)
    }

    /// The main window's page said it is ready: true if it is to be shown now (its page has
    /// loaded too).
    pub fn ready(&self) -> bool {
        let mut s = self.state();
        s.ready = true;
        s.loaded && !std::mem::replace(&mut s.shown, true)
    }

    /// The grace after window `window`'s load is over: true if it is to be shown now (it was
    /// not yet).
    pub fn give_up(&self, window: u64) -> bool {
        let mut s = self.state();
        s.window == window && !std::mem::replace(&mut s.shown, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_ready_before_its_load_is_shown_at_the_load_once() {
        let r = Reveal::default();
        let w = r.begin();
        assert!(!r.ready(), "not shown before its page has loaded");
        assert!(r.loaded(w), "shown once loaded");
        assert!(!r.give_up(w), "the grace's end shows it no second time");
        assert!(
            !r.ready(),
            "a second word from the page shows it no second time"
        );
    }

    #[test]
    fn a_page_ready_after_its_load_is_shown_when_ready_once() {
        let r = Reveal::default();
        let w = r.begin();
        assert!(!r.loaded(w), "loaded but not ready: still hidden");
        assert!(r.ready());
        assert!(!r.give_up(w));
    }

    #[test]
    fn a_page_that_never_says_ready_is_shown_after_the_grace() {
        let r = Reveal::default();
        let w = r.begin();
        assert!(!r.loaded(w));
        assert!(r.give_up(w));
        assert!(!r.ready(), "a late word shows it no second time");
    }

    #[test]
    fn a_new_main_window_starts_hidden_again() {
        let r = Reveal::default();
        let w = r.begin();
        assert!(!r.loaded(w));
        assert!(r.ready());
        // Dropped and made anew (closed, then opened from the tray).
        let w = r.begin();
        assert!(!r.ready(), "the new window's page has not loaded yet");
        assert!(r.loaded(w));
    }

    // Closed and opened again within the grace of the first one's load: what is said of the
    // first one must not show (or hold back) the second.
    #[test]
    fn the_grace_of_a_dropped_window_leaves_the_new_one_alone() {
        let r = Reveal::default();
        let first = r.begin();
        assert!(!r.loaded(first));
        let second = r.begin();
        assert!(
            !r.give_up(first),
            "the dropped window's grace shows nothing"
        );
        assert!(
            !r.loaded(first),
            "nor does a late load of the dropped window"
        );
        assert!(!r.loaded(second));
        assert!(r.ready(), "the new window is shown when its page is ready");
    }
}
