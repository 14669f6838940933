//! Secrets as a type. A [`Secret`] prints `<redacted>` in Debug, has no `Serialize` (so it
//! cannot reach a JSON file, a log line or the webview by accident: the compiler refuses), and
//! is zeroized when dropped. The value is reachable only through [`Secret::expose`], which makes
//! every place that handles the plain text easy to find.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret string (access token, refresh token, secret access key, session token, client
/// secret, sign-in token).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plain text. Call it only where the secret must leave this type: a request to AWS,
    /// the OS keychain (SSO token only), the clipboard, an environment for a child process.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("wJalrXUtnFEMI/K7MDENG");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(<redacted>)");
        assert_eq!(s.expose(), "wJalrXUtnFEMI/K7MDENG");
    }
}
