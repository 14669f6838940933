//! `rolecall prompt` (what this shell holds, for a prompt) and `rolecall status` (sessions and
//! held roles, for people and status bars).

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use rolecall_core::CoreError;
use rolecall_engine::held::{Held, short_duration};
use rolecall_engine::text::printable;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::backend::Backend;

pub const PROMPT_FORMAT: &str = "{account}/{role} {left}";

/// Fills a prompt format: `{account}`, `{account_id}`, `{role}`, `{left}`, `{expires}`.
pub fn fill(format: &str, held: &Held, now: SystemTime) -> String {
    let account = if held.account.is_empty() {
        &held.account_id
    } else {
        &held.account
    };
    let expires = held
        .expires_at
        .map(rolecall_engine::shell::rfc3339)
        .unwrap_or_default();
    format
        .replace("{account_id}", &held.account_id)
        .replace("{account}", account)
        .replace("{role}", &held.role)
        .replace("{left}", &held.left(now))
        .replace("{expires}", &expires)
}

/// Prints what this shell's credentials are for; nothing when they are not Rolecall's. Reads
/// the environment only: no file, no socket, no network.
pub fn prompt(format: Option<&str>) -> ExitCode {
    if let Some(held) = Held::read(|k| std::env::var(k).ok()) {
        let line = fill(format.unwrap_or(PROMPT_FORMAT), &held, SystemTime::now());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", printable(&line));
    }
    ExitCode::SUCCESS
}

#[derive(Debug, Serialize)]
struct SessionStatus {
    name: String,
    start_url: String,
    region: String,
    signed_in: bool,
    expires_at: Option<String>,
    seconds_left: Option<u64>,
    /// When the person must sign in again, and how long that is from now.
    session_ends_at: Option<String>,
    session_seconds_left: Option<u64>,
}

#[derive(Debug, Serialize)]
struct RoleStatus {
    session: String,
    account_id: String,
    account_name: String,
    role: String,
    expires_at: String,
    seconds_left: u64,
}

#[derive(Debug, Serialize)]
struct Status {
    /// Whether a Rolecall app or agent answered (without one, no role is held).
    agent: bool,
    sessions: Vec<SessionStatus>,
    /// Held roles, soonest expiry first.
    active: Vec<RoleStatus>,
}

fn seconds_until(rfc3339: &str, now: SystemTime) -> Option<u64> {
    let t = SystemTime::from(OffsetDateTime::parse(rfc3339, &Rfc3339).ok()?);
    Some(t.duration_since(now).map(|d| d.as_secs()).unwrap_or(0))
}

pub async fn status(no_agent: bool, json: bool) -> Result<ExitCode, CoreError> {
    let backend = Backend::choose(no_agent).await?;
    let agent = matches!(backend, Backend::Agent(_));
    let (sessions, active) = backend.status().await?;
    let now = SystemTime::now();
    let status = Status {
        agent,
        sessions: sessions
            .into_iter()
            .map(|s| SessionStatus {
                seconds_left: s.expires_at.as_deref().and_then(|t| seconds_until(t, now)),
                session_seconds_left: s
                    .session_ends_at
                    .as_deref()
                    .and_then(|t| seconds_until(t, now)),
                session_ends_at: s.session_ends_at,
                name: s.name,
                start_url: s.start_url,
                region: s.region,
                signed_in: s.signed_in,
                expires_at: s.expires_at,
            })
            .collect(),
        active: active
            .into_iter()
            .map(|a| RoleStatus {
                seconds_left: seconds_until(&a.expires_at, now).unwrap_or(0),
                session: a.role.session,
                account_id: a.role.account_id,
                account_name: a.role.account_name,
                role: a.role.role,
                expires_at: a.expires_at,
            })
            .collect(),
    };
    let mut out = std::io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&status)
            .map_err(|e| CoreError::Invalid(format!("cannot write the status: {e}")))?;
        let _ = writeln!(out, "{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let left = |s: u64| short_duration(Duration::from_secs(s));
    for s in &status.sessions {
        let state = match (s.signed_in, s.session_seconds_left, s.seconds_left) {
            (true, Some(session), _) => format!("signed in, sign-in ends in {}", left(session)),
            (true, None, Some(secs)) => format!("signed in, {} left", left(secs)),
            (true, None, None) => "signed in".into(),
            _ => "not signed in".into(),
        };
        let _ = writeln!(
            out,
            "{}  {}  {state}",
            printable(&s.name),
            printable(&s.start_url)
        );
        for r in status.active.iter().filter(|r| r.session == s.name) {
            let _ = writeln!(
                out,
                "  {} ({})  {}  {}",
                printable(&r.account_name),
                printable(&r.account_id),
                printable(&r.role),
                if r.seconds_left == 0 {
                    "expired".into()
                } else {
                    format!("{} left", left(r.seconds_left))
                }
            );
        }
    }
    if !agent {
        let _ = writeln!(
            out,
            "(no Rolecall app or agent is running: no role's credentials are held)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rolecall_engine::held::Holds;

    #[test]
    fn a_prompt_format_names_the_account_and_the_time_left() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let held = Held {
            account_id: "111122223333".into(),
            account: "payments-prod".into(),
            role: "Admin".into(),
            holds: Holds::Key("K".into()),
            expires_at: Some(now + Duration::from_secs(42 * 60)),
        };
        assert_eq!(fill(PROMPT_FORMAT, &held, now), "payments-prod/Admin 42m");
        assert_eq!(
            fill("[{account_id}:{role}]", &held, now),
            "[111122223333:Admin]"
        );
        let unnamed = Held {
            account: String::new(),
            ..held
        };
        assert_eq!(fill("{account}", &unnamed, now), "111122223333");
    }
}
