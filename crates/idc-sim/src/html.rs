//! Escaping for the few HTML and XML pages the simulator writes.

/// Escapes text for an HTML/XML text node or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A whole page in the simulator's plain style.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
<style>body{{font-family:sans-serif;max-width:40rem;margin:3rem auto;color:#16191f}}\
.code{{font-size:2rem;font-family:monospace;letter-spacing:.2rem}}\
button{{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}}\
dt{{font-weight:bold}}</style></head><body>\n{}\n</body></html>\n",
        escape(title),
        body
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
