//! Text from outside (account and role names from the portal, codes and URLs from the service,
//! names in the config) shown to a person. Shown raw, such text can drive the terminal (ESC
//! sequences, BEL), reorder what is around it (bidi overrides make a fake "payments-prod" and
//! reverse a countdown), or hide characters (zero-width ones). [`printable`] makes every such
//! character visible as an escape, so what the person reads is what is there.
//!
//! Every human output goes through it: the CLI's lines and errors, the tray's labels, the
//! notifications. Machine output (JSON, shell text) is escaped by its own format instead.

use std::borrow::Cow;

/// Bidirectional formatting characters (embeddings, overrides, isolates and marks).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// A character that is not shown as itself: controls (C0, DEL, C1), bidi formatting, zero-width
/// characters, line and paragraph separators.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{200B}'..='\u{200D}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}'
        )
}

/// Whether `s` holds a character that [`printable`] would escape.
pub fn has_hidden(s: &str) -> bool {
    s.chars().any(is_hidden)
}

/// `s` with every hidden character written as `\u{…}`, so a terminal or a menu shows it
/// instead of obeying it. Borrows when there is nothing to escape.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !has_hidden(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`printable`], but keeps line breaks: for messages of several lines that Rolecall
/// wrote itself around values from outside.
pub fn printable_lines(s: &str) -> String {
    s.split('\n').map(printable).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_and_bidi_are_shown_not_obeyed() {
        assert_eq!(printable("payments-prod"), "payments-prod");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(printable("a\x1b]0;pwned\x07b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(printable("prod\u{202e}dorp"), "prod\\u{202e}dorp");
        assert_eq!(printable("x\u{200b}y\u{9b}z"), "x\\u{200b}y\\u{9b}z");
        assert_eq!(printable("two\nlines"), "two\\u{a}lines");
        assert_eq!(printable_lines("two\nli\x1bnes"), "two\nli\\u{1b}nes");
        assert_eq!(
            printable("R&D ✓ café"),
            "R&D ✓ café",
            "ordinary text is untouched"
        );
    }
}
