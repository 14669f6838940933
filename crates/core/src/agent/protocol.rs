//! What crosses the agent socket, as types shared by both ends: one [`Request`] line from the
//! CLI, then [`Line`]s from the agent (sign-in steps and heartbeats while it works, then one
//! answer or one error). A field the other end does not expect is a decoding error, never a
//! value picked out by key name.
//!
//! Secrets (role credentials, a grant's token, a console URL) cross only inside
//! [`SecretOnWire`], the one type that serialises a [`Secret`]: deliberately, here, and nowhere
//! else.

use std::time::SystemTime;

use rolecall_engine::api::{CallerIdentity, RoleCredentials};
use rolecall_engine::catalog::AccountRoles;
use rolecall_engine::secret::Secret;
use rolecall_engine::shell::rfc3339;
use rolecall_engine::signin::SignInEvent;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::endpoint::GrantInfo;
use crate::error::ErrorPayload;

/// What the CLI asks. `session: None` means the only configured session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    Ping,
    Sessions,
    List {
        session: Option<String>,
        refresh: bool,
    },
    Credentials {
        session: Option<String>,
        account: String,
        role: String,
    },
    /// A console sign-in. With `handoff`, the answer is a one-time loopback URL that the
    /// agent serves (for a browser); without, the federation URL itself (for `--print`).
    Console {
        session: Option<String>,
        account: String,
        role: String,
        ask: crate::console::ConsoleAsk,
        handoff: bool,
    },
    Whoami {
        session: Option<String>,
        account: String,
        role: String,
    },
    Grant {
        session: Option<String>,
        account: String,
        role: String,
        /// The grant ends when the process that asks for it ends, however it ends
        /// (`rolecall exec --endpoint`; the agent knows the process from the socket).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        while_i_live: bool,
    },
    Grants,
    Revoke {
        id: String,
    },
    /// Sessions and the roles whose credentials are held, for `rolecall status` and prompts.
    Status,
    /// `device_code: false` signs in the way the config prefers.
    Login {
        session: Option<String>,
        device_code: bool,
    },
    Logout {
        session: Option<String>,
    },
}

impl Request {
    /// The operation's name, for the agent's log (no arguments: they may name roles).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ping => "ping",
            Self::Sessions => "sessions",
            Self::List { .. } => "list",
            Self::Credentials { .. } => "credentials",
            Self::Console { .. } => "console",
            Self::Whoami { .. } => "whoami",
            Self::Grant { .. } => "grant",
            Self::Grants => "grants",
            Self::Revoke { .. } => "revoke",
            Self::Status => "status",
            Self::Login { .. } => "login",
            Self::Logout { .. } => "logout",
        }
    }
}

/// A step of a sign-in for the person to take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SignInStep {
    /// Type `user_code` on the page at `url`.
    DeviceCode {
        session: String,
        user_code: String,
        url: String,
        expires_at: String,
    },
    /// The browser finishes the sign-in on this page.
    OpenBrowser {
        session: String,
        url: String,
        expires_at: String,
    },
    KeychainUnavailable {
        message: String,
    },
}

impl SignInStep {
    /// The step an engine event asks of the person, if any.
    pub fn from_event(event: &SignInEvent) -> Option<Self> {
        Some(match event {
            SignInEvent::DeviceCode {
                session,
                user_code,
                verification_uri,
                verification_uri_complete,
                expires_at,
            } => Self::DeviceCode {
                session: session.clone(),
                user_code: user_code.clone(),
                url: verification_uri_complete
                    .clone()
                    .unwrap_or_else(|| verification_uri.clone()),
                expires_at: rfc3339(*expires_at),
            },
            SignInEvent::OpenBrowser {
                session,
                url,
                expires_at,
            } => Self::OpenBrowser {
                session: session.clone(),
                url: url.clone(),
                expires_at: rfc3339(*expires_at),
            },
            SignInEvent::KeychainUnavailable { message } => Self::KeychainUnavailable {
                message: message.clone(),
            },
            _ => return None,
        })
    }

    /// The session the step is for (`None`: every session).
    pub fn session(&self) -> Option<&str> {
        match self {
            Self::DeviceCode { session, .. } | Self::OpenBrowser { session, .. } => Some(session),
            Self::KeychainUnavailable { .. } => None,
        }
    }
}

/// A secret on the socket. Serialising it is what it is for; Debug stays redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretOnWire(pub Secret);

impl Serialize for SecretOnWire {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose())
    }
}

impl<'de> Deserialize<'de> for SecretOnWire {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(Secret::new(String::deserialize(d)?)))
    }
}

/// Role credentials on the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsOnWire {
    pub access_key_id: String,
    pub secret_access_key: SecretOnWire,
    pub session_token: SecretOnWire,
    /// RFC 3339.
    pub expiration: String,
}

impl From<&RoleCredentials> for CredentialsOnWire {
    fn from(c: &RoleCredentials) -> Self {
        Self {
            access_key_id: c.access_key_id.clone(),
            secret_access_key: SecretOnWire(c.secret_access_key.clone()),
            session_token: SecretOnWire(c.session_token.clone()),
            expiration: rfc3339(c.expiration),
        }
    }
}

impl CredentialsOnWire {
    pub fn into_credentials(self) -> Result<RoleCredentials, String> {
        let expiration = OffsetDateTime::parse(&self.expiration, &Rfc3339)
            .map_err(|e| format!("bad expiration from the agent: {e}"))?;
        Ok(RoleCredentials {
            access_key_id: self.access_key_id,
            secret_access_key: self.secret_access_key.0,
            session_token: self.session_token.0,
            expiration: SystemTime::from(expiration),
        })
    }
}

/// A session as `rolecall session ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionInfo {
    pub name: String,
    pub start_url: String,
    pub region: String,
    pub signed_in: bool,
    pub expires_at: Option<String>,
    /// When the person must sign in again (see `LoginStatus::session_ends_at`).
    #[serde(default)]
    pub session_ends_at: Option<String>,
}

/// Which role a set of credentials (or a grant) is for: ids as the portal gave them, the
/// account's name as the catalogue has it, and the role as the person knows it (a chained
/// role by its chain's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleOnWire {
    pub session: String,
    pub account_id: String,
    pub account_name: String,
    pub role: String,
}

/// A role whose credentials the agent holds (no secret: the access key id names them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveOnWire {
    pub role: RoleOnWire,
    pub access_key_id: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// The agent's answer to each request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case", deny_unknown_fields)]
pub enum Answer {
    Pong {
        version: String,
    },
    Sessions {
        sessions: Vec<SessionInfo>,
    },
    Catalog {
        accounts: Vec<AccountRoles>,
    },
    Credentials {
        credentials: CredentialsOnWire,
        region: String,
        role: RoleOnWire,
    },
    /// The URL, and where it opens (the caller starts the browser: it runs in the person's
    /// desktop session).
    Console {
        url: SecretOnWire,
        open_in: rolecall_engine::browser::OpenIn,
        mode: rolecall_engine::browser::ConsoleMode,
        identities: usize,
    },
    Whoami {
        identity: CallerIdentity,
    },
    Grant {
        id: String,
        url: String,
        token: SecretOnWire,
        region: String,
        role: RoleOnWire,
    },
    Grants {
        grants: Vec<GrantInfo>,
    },
    Revoked {
        revoked: bool,
    },
    Status {
        sessions: Vec<SessionInfo>,
        active: Vec<ActiveOnWire>,
    },
    SignedIn {
        session: String,
        expires_at: String,
    },
    SignedOut {
        session: String,
    },
}

/// One line from the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "line",
    content = "body",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum Line {
    /// A sign-in step to show the person.
    Step(SignInStep),
    /// Still working (every [`super::HEARTBEAT`]), so the CLI can tell a slow answer from a
    /// stalled agent.
    Alive,
    Done(Answer),
    Failed(ErrorPayload),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_strangers_are_refused() {
        let lines = [
            Line::Alive,
            Line::Step(SignInStep::DeviceCode {
                session: "corp".into(),
                user_code: "ABCD-EFGH".into(),
                url: "https://device.sso.eu-west-1.amazonaws.com/".into(),
                expires_at: "2030-01-01T00:00:00Z".into(),
            }),
            Line::Done(Answer::Revoked { revoked: true }),
            Line::Failed(ErrorPayload {
                code: "unknown_role".into(),
                message: "no".into(),
            }),
        ];
        for line in lines {
            let text = serde_json::to_string(&line).expect("json");
            assert_eq!(serde_json::from_str::<Line>(&text).expect("back"), line);
        }
        assert!(
            serde_json::from_str::<Request>(r#"{"op":"revoke","id":"g-1","extra":1}"#).is_err(),
            "an unexpected field is an error"
        );
        assert!(serde_json::from_str::<Line>(r#"{"ok":true,"data":{}}"#).is_err());
    }

    #[test]
    fn secrets_cross_only_inside_their_wire_type() {
        let wire = SecretOnWire(Secret::new("s3cr3t"));
        assert_eq!(format!("{wire:?}"), "SecretOnWire(<redacted>)");
        assert_eq!(serde_json::to_string(&wire).expect("json"), "\"s3cr3t\"");
    }
}
