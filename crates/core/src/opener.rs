//! Opening a page for the person: the default browser, or `ROLECALL_OPENER=<program>` when set
//! (tests record and follow URLs with it). Used by the desktop app and the CLI alike.
//!
//! Only web pages are opened: `https:` anywhere, `http:` only on a loopback address (the
//! console handoff, the simulator). `file:`, `javascript:`, `smb:` and every other scheme a
//! service or a config could slip in is refused with a sentence. Console sign-in URLs never
//! come here: the browser gets a one-time loopback URL instead ([`crate::handoff`]).

use rolecall_engine::session::is_loopback;
use rolecall_engine::text::printable;

/// `raw` as a URL that may be opened, or why not.
pub fn checked_page(raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw)
        .map_err(|_| format!("{:?} is not a URL; it was not opened", printable(raw)))?;
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "{} is plain http to another machine; it was not opened",
            printable(raw)
        )),
        scheme => Err(format!(
            "{}: links of the kind {scheme}: are not opened",
            printable(raw)
        )),
    }
}

/// Hands `url` to `ROLECALL_OPENER` or the browser, if it is a page that may be opened; the
/// error says what was refused or which program failed.
pub fn open_url(url: &str) -> Result<(), String> {
    let url = checked_page(url)?;
    if let Some(opener) = std::env::var_os("ROLECALL_OPENER").filter(|o| !o.is_empty()) {
        return std::process::Command::new(&opener)
            .arg(url.as_str())
            .spawn()
            .map(drop)
            .map_err(|e| {
                format!(
                    "cannot run ROLECALL_OPENER ({}): {e}",
                    opener.to_string_lossy()
                )
            });
    }
    open::that_detached(url.as_str())
        .map_err(|e| format!("cannot open a browser ({e}); open the URL yourself"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_pages_are_opened() {
        assert!(checked_page("https://device.sso.eu-west-1.amazonaws.com/").is_ok());
        assert!(checked_page("http://127.0.0.1:4000/oidc/device").is_ok());
        assert!(checked_page("http://[::1]:4000/x").is_ok());
        for refused in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "smb://evil/share",
            "http://evil.example/",
            "ext+container:name=x&url=https://x",
            "not a url",
            "data:text/html,<script>",
        ] {
            let err = checked_page(refused).expect_err(refused);
            assert!(err.contains("not opened"), "{err}");
        }
        assert!(
            open_url("file:///etc/passwd").is_err(),
            "refused before any program runs"
        );
    }
}
