//! Rolecall's application core, shared by the desktop app (`src-tauri`, whose commands are
//! one-liners into [`Rolecall`]) and the companion CLI:
//!
//! - [`Rolecall`]: config, sessions, sign-in, catalogue, credentials, console URLs.
//! - [`endpoint`]: the container-credentials endpoint on 127.0.0.1, one token per grant.
//! - [`agent`]: the local channel (a Unix socket in a folder of the user's own, peer uid
//!   checked on both ends) through which the CLI asks a running app, so one sign-in serves
//!   both and credentials are fetched once.
//! - [`handoff`]: console sign-in URLs reach the browser through a one-time loopback URL, never
//!   through a process's arguments.
//! - [`profiles`]: `credential_process` profiles in `~/.aws/config`, inside a marked block.
//!
//! Every local server here (endpoint, handoff, agent) sits behind the engine's
//! `rolecall_engine::gate` and `local_http`: bounded connections and timeouts, so another
//! local user cannot stall one.
//!
//! Role credentials leave this crate only to the process that asked for them: over the agent
//! socket to the CLI of the same user, or to an SDK holding a grant's token.

pub mod agent;
pub mod console;
pub mod endpoint;
mod error;
pub mod handoff;
pub mod hardening;
pub mod keys;
pub mod logging;
mod login;
pub mod opener;
pub mod profiles;
pub mod retire;
mod rolecall;

pub use error::{CoreError, ErrorPayload};
pub use rolecall::{Parts, Resolved, Rolecall, keychain_or_memory};
