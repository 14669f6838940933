//! Errors as the person reads them, each with a stable code that front ends branch on (never
//! on the message). They cross to the UI and over the agent channel as `{code, message}`.

use rolecall_engine::api::ApiError;
use rolecall_engine::catalog::SweepError;
use rolecall_engine::config::ConfigError;
use rolecall_engine::signin::SignInError;
use rolecall_engine::vault::VaultError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Sweep(#[from] SweepError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "no session is configured: add one with `rolecall session add <name> --start-url <url> --region <region>` or `rolecall session import`"
    )]
    NoSession,
    #[error("several sessions are configured ({}); say which with --session", .0.join(", "))]
    WhichSession(Vec<String>),
    #[error("no session named {0:?} (see `rolecall session ls`)")]
    UnknownSession(String),
    #[error("no account {account:?} in session {session}{}", hint(.hints))]
    UnknownAccount {
        account: String,
        session: String,
        hints: Vec<String>,
    },
    #[error("{account:?} matches several accounts: {}; use the account id", .candidates.join(", "))]
    AmbiguousAccount {
        account: String,
        candidates: Vec<String>,
    },
    #[error("no role {role:?} in account {account}; its roles: {}", .roles.join(", "))]
    UnknownRole {
        role: String,
        account: String,
        roles: Vec<String>,
    },
    #[error("{0}")]
    Api(String),
    #[error("{0}")]
    Invalid(String),
    /// The command line asks for something that cannot be done as asked (exit code 2).
    #[error("{0}")]
    Usage(String),
    #[error(
        "the Rolecall agent is not running: start the Rolecall app (or `rolecall agent`) first"
    )]
    NoAgent,
    /// The agent socket's folder or the process behind it is not this user's.
    #[error("{0}")]
    AgentRefused(String),
    #[error("the Rolecall agent stopped answering ({0}); try again, or add --no-agent")]
    AgentStalled(String),
    #[error("{message}")]
    Remote { code: String, message: String },
    /// An answer to a `rolecall://` link that is no longer the one waiting: another arrived
    /// and replaced it before the person answered.
    #[error("another link arrived before your answer and is shown now: read it, then answer it")]
    LinkChanged,
}

fn hint(hints: &[String]) -> String {
    if hints.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", hints.join(", "))
    }
}

impl CoreError {
    pub fn code(&self) -> String {
        match self {
            Self::SignIn(e) => e.code().into(),
            Self::Vault(e) => e.code().into(),
            Self::Sweep(e) => e.code().into(),
            Self::Config(e) => e.code().into(),
            Self::NoSession => "no_session".into(),
            Self::WhichSession(_) => "which_session".into(),
            Self::UnknownSession(_) => "unknown_session".into(),
            Self::UnknownAccount { .. } => "unknown_account".into(),
            Self::AmbiguousAccount { .. } => "ambiguous_account".into(),
            Self::UnknownRole { .. } => "unknown_role".into(),
            Self::Api(_) => "aws_error".into(),
            Self::Invalid(_) => "invalid".into(),
            Self::Usage(_) => "usage".into(),
            Self::NoAgent => "no_agent".into(),
            Self::AgentRefused(_) => "agent_refused".into(),
            Self::AgentStalled(_) => "agent_stalled".into(),
            Self::LinkChanged => "link_changed".into(),
            Self::Remote { code, .. } => code.clone(),
        }
    }

    pub fn from_api(e: ApiError) -> Self {
        Self::Api(e.to_string())
    }

    pub fn payload(&self) -> ErrorPayload {
        ErrorPayload {
            code: self.code(),
            message: self.to_string(),
        }
    }
}

/// `{code, message}`: how an error crosses to the UI and the agent channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorPayload {
    pub code: String,
    pub message: String,
}

impl From<ErrorPayload> for CoreError {
    fn from(p: ErrorPayload) -> Self {
        Self::Remote {
            code: p.code,
            message: p.message,
        }
    }
}
