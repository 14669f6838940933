//! Rolecall's application core, shared by the desktop app (`src-tauri`, whose commands are
//! one-liners into [`Rolecall`]) and the companion CLI:
//!
//! - [`Rolecall`]: config, sessions, sign-in, catalogue, credentials, console URLs.
//! - [`endpoint`]: the container-credentials endpoint on 127.0.0.1, one token per grant.
//! - [`agent`]: the local channel (a Unix socket, 0600, in the runtime folder) through which the
//!   CLI asks a running app, so one sign-in serves both and credentials are fetched once.
//! - [`profiles`]: `credential_process` profiles in `~/.aws/config`, inside a marked block.
//!
//! Role credentials leave this crate only to the process that asked for them: over the agent
//! socket to the CLI of the same user, or to an SDK holding a grant's token.

pub mod agent;
pub mod endpoint;
mod error;
pub mod opener;
pub mod profiles;
mod rolecall;

pub use error::{CoreError, ErrorPayload};
pub use rolecall::{Parts, Resolved, Rolecall, keychain_or_memory};
