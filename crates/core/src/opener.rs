//! Opening a URL for the person: the default browser, or `ROLECALL_OPENER=<program>` when set
//! (tests record and follow URLs with it). Used by the desktop app and the CLI alike.

/// Hands `url` to `ROLECALL_OPENER` or the browser; the error says which failed.
pub fn open_url(url: &str) -> Result<(), String> {
    if let Some(opener) = std::env::var_os("ROLECALL_OPENER").filter(|o| !o.is_empty()) {
        return std::process::Command::new(&opener)
            .arg(url)
            .spawn()
            .map(drop)
            .map_err(|e| {
                format!(
                    "cannot run ROLECALL_OPENER ({}): {e}",
                    opener.to_string_lossy()
                )
            });
    }
    open::that_detached(url)
        .map_err(|e| format!("cannot open a browser ({e}); open the URL yourself"))
}
