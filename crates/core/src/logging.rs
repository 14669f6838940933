//! Logs of the CLI and the desktop app: `ROLECALL_LOG` (a level, such as `debug`, or targets
//! and levels, such as `rolecall_core=trace,info`), to standard error. No level may print a secret:
//!
//! - The HTTP, TLS and AWS SDK crates log at most at `info`, whatever level is asked for: at
//!   `debug` and `trace` they print whole requests and answers, with the
//!   `x-amz-sso_bearer_token` header, credentials, tokens and client secrets in them.
//! - Every line also passes [`redact`], which masks the value after any name that carries a
//!   secret (a header, a query parameter, a JSON field), in case a future dependency logs one
//!   at `info`.
//!
//! - Every hidden character of a line (controls, bidi formatting, line separators) is written as
//!   an escape ([`EscapedFields`]): a name from the portal cannot drive the terminal or begin a
//!   line of its own.
//!
//! Rolecall's own code never formats a secret: [`rolecall_engine::secret::Secret`]'s Debug is
//! redacted and it has no Display.

use std::io::Write;

use rolecall_engine::text::printable;
use tracing::Level;
use tracing_subscriber::filter::{Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// Crates whose `debug` and `trace` output holds requests and answers.
const CAPPED: &[&str] = &[
    "aws_smithy",
    "aws_sdk",
    "aws_sigv4",
    "aws_runtime",
    "aws_config",
    "aws_credential_types",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "tower",
    "tower_http",
    "axum",
    "http",
    "tokio_rustls",
    "keyring",
    "secret_service",
    "zbus",
];

fn capped(target: &str) -> bool {
    CAPPED.iter().any(|c| {
        target == *c
            || target
                .strip_prefix(c)
                .is_some_and(|rest| rest.starts_with("::") || rest.starts_with('_'))
    })
}

/// Names after which a secret value follows (compared ignoring case).
const SECRET_NAMES: &[&str] = &[
    "x-amz-sso_bearer_token",
    "x-amz-sso-bearer-token",
    "x-amz-security-token",
    "authorization",
    "signintoken",
    "sessiontoken",
    "session_token",
    "secretaccesskey",
    "secret_access_key",
    "sessionkey",
    "accesstoken",
    "access_token",
    "refreshtoken",
    "refresh_token",
    "clientsecret",
    "client_secret",
    "devicecode",
    "device_code",
    "codeverifier",
    "code_verifier",
    "\"token\"",
    "token=",
    "session=",
];

fn secret_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+/=_-.%~".contains(&b)
}

/// `line` with the value after each secret-bearing name replaced by `<redacted>`.
pub fn redact(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let Some((start, name)) = SECRET_NAMES
            .iter()
            .filter_map(|n| lower[at..].find(n).map(|i| (at + i, n.len())))
            .min()
        else {
            break;
        };
        let mut value = start + name;
        // Skip what sits between a name and its value: quotes, colons, equals, spaces,
        // "Bearer ".
        let mut skipped = 0;
        while value < bytes.len() && b"\"': =\\".contains(&bytes[value]) && skipped < 6 {
            value += 1;
            skipped += 1;
        }
        if lower[value..].starts_with("bearer ") {
            value += "bearer ".len();
        }
        let mut end = value;
        while end < bytes.len() && secret_char(bytes[end]) {
            end += 1;
        }
        if end - value >= 6 {
            out.push_str(&line[copied..value]);
            out.push_str("<redacted>");
            copied = end;
        }
        at = end.max(start + 1);
    }
    out.push_str(&line[copied..]);
    out
}

/// Standard error, each formatted event redacted.
#[derive(Debug, Default, Clone, Copy)]
struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// What `ROLECALL_LOG` asks for (`value`), else `default`; a value that is not a filter gives
/// `default` and says why, for the logger to print once it is installed.
fn filter(value: Option<&str>, default: &str) -> (Targets, Option<String>) {
    let fallback = || default.parse().unwrap_or_else(|_| Targets::new());
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => (fallback(), None),
        Some(v) => match v.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (
                fallback(),
                Some(format!(
                    "ROLECALL_LOG={v:?} is not a log filter ({e}); logging at {default:?}. \
                     Give a level (error, warn, info, debug, trace) or target=level pairs, \
                     such as rolecall_core=debug,info."
                )),
            ),
        },
    }
}

/// How an event's fields are written: as `fmt`'s default does (the message, then `name=value`
/// pairs, without the `log.` fields of records from the `log` crate), but with every hidden
/// character ([`printable`]) written as an escape. A message holds names from the portal and
/// the config and errors from the network, formatted as they are; written raw, a role name could
/// move the terminal's cursor, set its title, clear the screen or begin a line of its own that
/// looks like Rolecall's ("... INFO signed out").
#[derive(Debug, Default, Clone, Copy)]
struct EscapedFields;

impl<'w> fmt::FormatFields<'w> for EscapedFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct EscapingVisitor<'w> {
    writer: fmt::format::Writer<'w>,
    first: bool,
    result: std::fmt::Result,
}

impl tracing::field::Visit for EscapingVisitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        let text = format!("{value:?}");
        let text = printable(&text);
        let gap = if std::mem::take(&mut self.first) {
            ""
        } else {
            " "
        };
        self.result = if field.name() == "message" {
            write!(self.writer, "{gap}{text}")
        } else {
            write!(self.writer, "{gap}{}={text}", field.name())
        };
    }
}

/// Installs the logger: `ROLECALL_LOG`, else `default` (`warn` for the CLI, `info` for the
/// app). Colours only on a terminal. Filters are targets and levels
/// (`tracing_subscriber::filter::Targets`): no span or field filters, so no regular-expression
/// engine is linked for them.
pub fn init(default: &str) {
    let value = std::env::var("ROLECALL_LOG").ok();
    let (filter, complaint) = filter(value.as_deref(), default);
    let cap = filter_fn(|meta| !(capped(meta.target()) && *meta.level() > Level::INFO));
    let layer = fmt::layer()
        .fmt_fields(EscapedFields)
        .with_writer(|| RedactingStderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter)
        .with_filter(cap);
    let _ = tracing_subscriber::registry().with(layer).try_init();
    if let Some(complaint) = complaint {
        tracing::warn!("{complaint}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_masked_after_their_names() {
        let line = r#"request headers: {"x-amz-sso_bearer_token": "aoaAAAAGc3RzZWNyZXQ", "user-agent": "x"}"#;
        assert_eq!(
            redact(line),
            r#"request headers: {"x-amz-sso_bearer_token": "<redacted>", "user-agent": "x"}"#
        );
        assert_eq!(
            redact("GET /federation?Action=login&SigninToken=abcdefghij&Issuer=x"),
            "GET /federation?Action=login&SigninToken=<redacted>&Issuer=x"
        );
        assert_eq!(
            redact("authorization: Bearer Zm9vYmFyYmF6cXV4 next"),
            "authorization: Bearer <redacted> next"
        );
        assert_eq!(
            redact(r#"{"accessToken":"tok_123456","expiresIn":3600}"#),
            r#"{"accessToken":"<redacted>","expiresIn":3600}"#
        );
        assert_eq!(redact("agent: credentials"), "agent: credentials");
    }

    /// What one event logs, through the same formatting as [`init`]'s.
    fn logged(event: impl FnOnce()) -> String {
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let layer = fmt::layer()
            .fmt_fields(EscapedFields)
            .with_writer(move || Sink(sink.clone()))
            .with_ansi(false);
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), event);
        let bytes = out.lock().expect("log").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[derive(Debug)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_hostile_name_in_a_log_line_cannot_drive_the_terminal_or_forge_a_line() {
        // A role name from the portal, as the vault's auto-renew logs it at info.
        let role = "Admin\x1b]0;pwned\x07\x1b[2J\n2026-11-30T00:00:00Z  INFO signed out\u{202e}";
        let account = "prod\r\x1b[1A";
        let out = logged(|| {
            tracing::info!("auto-renew of 111111111111/{role} failed");
            tracing::warn!(account, "cannot list the roles");
            // A record of the `log` crate, as tracing-log hands it on.
            tracing::info!(log.target = "tao", log.line = 7, "from the log crate");
        });
        assert_eq!(out.lines().count(), 3, "{out}");
        assert!(
            out.contains("from the log crate\n") && !out.contains("log."),
            "{out}"
        );
        assert!(
            !out.chars()
                .any(|c| c != '\n' && rolecall_engine::text::is_hidden(c)),
            "{out:?}"
        );
        assert!(out.contains("Admin\\u{1b}]0;pwned\\u{7}"), "{out}");
        assert!(out.contains("\\u{a}2026-11-30"), "{out}");
        assert!(out.contains("\\u{202e}"), "{out}");
        assert!(out.contains("account=\"prod\\r\\u{1b}[1A\""), "{out}");
        assert!(out.contains("cannot list the roles account="), "{out}");
    }

    #[test]
    fn a_log_level_or_targets_are_a_filter() {
        use tracing_subscriber::filter::LevelFilter;
        let (t, complaint) = filter(Some("debug"), "warn");
        assert!(complaint.is_none());
        assert!(t.would_enable("rolecall_engine::sweep", &Level::DEBUG));
        assert!(!t.would_enable("rolecall_engine::sweep", &Level::TRACE));
        let (t, complaint) = filter(Some("rolecall_core=trace,info"), "warn");
        assert!(complaint.is_none());
        assert!(t.would_enable("rolecall_core::agent", &Level::TRACE));
        assert!(t.would_enable("rolecall_engine", &Level::INFO));
        assert!(!t.would_enable("rolecall_engine", &Level::DEBUG));
        let (t, complaint) = filter(None, "warn");
        assert!(complaint.is_none());
        assert_eq!(t.default_level(), Some(LevelFilter::WARN));
        let (t, _) = filter(Some("  "), "info");
        assert_eq!(t.default_level(), Some(LevelFilter::INFO));
    }

    #[test]
    fn a_log_filter_that_is_not_one_logs_at_the_default_and_says_so() {
        use tracing_subscriber::filter::LevelFilter;
        for bad in [
            "rolecall_core=verbose",
            "rolecall=debug=trace",
            "info,x=1.5",
        ] {
            let (t, complaint) = filter(Some(bad), "warn");
            assert_eq!(t.default_level(), Some(LevelFilter::WARN), "{bad}");
            let complaint = complaint.expect("a complaint");
            assert!(
                complaint.contains("ROLECALL_LOG") && complaint.contains(bad),
                "{complaint}"
            );
        }
    }

    #[test]
    fn dependencies_are_capped_but_rolecall_is_not() {
        assert!(capped("aws_smithy_runtime::client::orchestrator"));
        assert!(capped("hyper_util::client"));
        assert!(capped("reqwest"));
        assert!(!capped("rolecall_core::agent"));
        assert!(!capped("httparse_like_but_ours"));
    }
}
