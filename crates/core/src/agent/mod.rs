//! The agent channel: how the CLI asks a running Rolecall (the desktop app, or `rolecall agent`)
//! so that one sign-in serves both and credentials are fetched once.
//!
//! A Unix socket (`$XDG_RUNTIME_DIR/rolecall/agent.sock`, else `$TMPDIR/rolecall-<uid>/`)
//! in a folder that must be this user's own and closed to others ([`private_dir`]); both ends
//! check the other's uid. One [`protocol::Request`] line per connection, then
//! [`protocol::Line`]s back. Nobody can stall it: the gate bounds connections, a request line
//! must arrive within [`rolecall_engine::gate::REQUEST_READ_TIMEOUT`], the agent sends a heartbeat every
//! [`HEARTBEAT`] while it works and the CLI gives up after [`CLIENT_IDLE_TIMEOUT`] of silence.
//! Role credentials cross it only to the CLI that asked, never to a log.

mod client;
pub mod private_dir;
pub mod protocol;
mod server;

use std::path::PathBuf;
use std::time::Duration;

pub use client::AgentClient;
pub use protocol::{Answer, Line, Request, SignInStep};
pub use server::{AgentServer, role_on_wire, session_infos};

/// While a request is worked on, the agent says so this often.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// The CLI gives up on an agent that says nothing (not even a heartbeat) for this long.
pub const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the CLI waits for a running agent to answer a ping before working without it.
pub const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// `ROLECALL_AGENT_SOCKET`, else `$XDG_RUNTIME_DIR/rolecall/agent.sock`, else
/// `$TMPDIR/rolecall-<uid>/agent.sock`. Whatever the path, its folder is checked before use.
pub fn socket_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ROLECALL_AGENT_SOCKET").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(p).join("rolecall"))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("rolecall-{}", user_id())));
    base.join("agent.sock")
}

#[cfg(unix)]
fn user_id() -> String {
    private_dir::my_uid().to_string()
}

#[cfg(not(unix))]
fn user_id() -> String {
    std::env::var("USERNAME").unwrap_or_else(|_| "user".into())
}
