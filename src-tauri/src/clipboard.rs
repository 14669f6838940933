//! The system clipboard, written from Rust only (the web view never holds a secret).
//!
//! Credentials are offered marked as a secret for clipboard managers, whose histories can live
//! on disk: the `x-kde-passwordManagerHint` type on Linux (X11 and Wayland; KDE's Klipper,
//! GPaste and others leave such data out), the history and cloud exclusions on Windows, the
//! concealed type on macOS. On Linux the clipboard's text is served by this process while it
//! owns it, and data marked so is not handed to a clipboard manager when Rolecall quits.
//!
//! One `arboard::Clipboard` serves for the app's life (made at the first copy): on X11 and
//! Wayland the text lives only as long as the clipboard that offered it.

use std::sync::Mutex;

use rolecall_engine::sync::lock;

use crate::view::ErrorView;

pub struct Clipboard {
    inner: Mutex<Option<arboard::Clipboard>>,
}

/// The app's clipboard.
pub static CLIPBOARD: Clipboard = Clipboard {
    inner: Mutex::new(None),
};

impl std::fmt::Debug for Clipboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clipboard").finish_non_exhaustive()
    }
}

impl Clipboard {
    fn with<T>(
        &self,
        act: impl FnOnce(&mut arboard::Clipboard) -> Result<T, arboard::Error>,
    ) -> Result<T, String> {
        let mut inner = lock(&self.inner);
        let clipboard = match inner.as_mut() {
            Some(c) => c,
            None => inner.insert(arboard::Clipboard::new().map_err(|e| e.to_string())?),
        };
        act(clipboard).map_err(|e| e.to_string())
    }

    /// A write, with its failure as the window shows it.
    fn write(
        &self,
        act: impl FnOnce(&mut arboard::Clipboard) -> Result<(), arboard::Error>,
    ) -> Result<(), ErrorView> {
        self.with(act).map_err(|e| ErrorView {
            code: "clipboard".into(),
            message: format!("cannot write to the clipboard: {e}"),
        })
    }

    /// Puts `text` on the clipboard, marked as a secret that clipboard histories leave out.
    pub fn write_secret(&self, text: &str) -> Result<(), ErrorView> {
        self.write(|c| {
            let set = c.set();
            #[cfg(all(
                unix,
                not(any(target_os = "macos", target_os = "android", target_os = "emscripten"))
            ))]
            let set = arboard::SetExtLinux::exclude_from_history(set);
            #[cfg(windows)]
            let set = arboard::SetExtWindows::exclude_from_cloud(
                arboard::SetExtWindows::exclude_from_history(set),
            );
            #[cfg(target_os = "macos")]
            let set = arboard::SetExtApple::exclude_from_history(set);
            set.text(text)
        })
    }

    /// Puts `text` (no secret: a link for a runbook) on the clipboard.
    pub fn write_text(&self, text: &str) -> Result<(), ErrorView> {
        self.write(|c| c.set().text(text))
    }

    /// The clipboard's text, if it holds text.
    pub fn read_text(&self) -> Option<String> {
        self.with(|c| c.get_text()).ok()
    }

    pub fn clear(&self) -> Result<(), String> {
        self.with(|c| c.clear())
    }
}
