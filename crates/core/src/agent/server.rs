//! The agent's side of the socket: the desktop app and `rolecall agent` serve it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::HEARTBEAT;
use super::protocol::{
    ActiveOnWire, Answer, CredentialsOnWire, Line, Request, RoleOnWire, SecretOnWire, SessionInfo,
    SignInStep,
};
use crate::endpoint::CredentialEndpoint;
use crate::error::CoreError;
use crate::handoff::Handoff;
use crate::rolecall::Rolecall;
use rolecall_engine::gate::{ACCEPT_PAUSE, Gate, REQUEST_READ_TIMEOUT, Ticket, bound};
use rolecall_engine::shell::rfc3339;

/// Requests are bounded: nothing legitimate comes near this.
const MAX_REQUEST: u64 = 64 * 1024;

/// A CLI that does not read its answer for this long is gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A running agent (the socket server). Dropping it stops serving and removes the socket.
#[derive(Debug)]
pub struct AgentServer {
    path: PathBuf,
    stop: CancellationToken,
}

impl Drop for AgentServer {
    fn drop(&mut self) {
        self.stop.cancel();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a request needs to be answered.
#[derive(Debug, Clone)]
struct Parts {
    core: Arc<Rolecall>,
    endpoint: Arc<CredentialEndpoint>,
    handoff: Arc<Handoff>,
}

#[cfg(unix)]
impl AgentServer {
    /// Listens on `path`, in a private folder made or checked first ([`super::private_dir`]).
    /// Fails if another agent answers there; replaces a stale socket; refuses to touch
    /// anything else in its place.
    pub async fn start(
        core: Arc<Rolecall>,
        endpoint: Arc<CredentialEndpoint>,
        handoff: Arc<Handoff>,
        path: &Path,
    ) -> std::io::Result<Self> {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let refuse = |m: String| std::io::Error::new(std::io::ErrorKind::PermissionDenied, m);
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        super::private_dir::prepare(dir).map_err(refuse)?;
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => {
                if let Ok(Ok(stream)) = tokio::time::timeout(
                    Duration::from_secs(1),
                    tokio::net::UnixStream::connect(path),
                )
                .await
                    && super::private_dir::check_peer(&stream).is_ok()
                {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::AddrInUse,
                        format!("another Rolecall agent is running ({})", path.display()),
                    ));
                }
                std::fs::remove_file(path)?;
            }
            Ok(_) => {
                return Err(refuse(format!(
                    "{} exists and is not a socket: not touched",
                    path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = tokio::net::UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        tracing::info!("agent listening on {}", path.display());
        let stop = CancellationToken::new();
        let parts = Parts {
            core,
            endpoint,
            handoff,
        };
        let gate = Gate::new(bound(64));
        let stopping = stop.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stopping.cancelled() => break,
                    accepted = listener.accept() => accepted,
                };
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!("agent: accept failed ({e}); pausing");
                        tokio::time::sleep(ACCEPT_PAUSE).await;
                        continue;
                    }
                };
                if let Err(e) = super::private_dir::check_peer(&stream) {
                    tracing::warn!("agent: connection refused: {e}");
                    continue;
                }
                let Some(ticket) = gate.admit() else {
                    tracing::debug!("agent: every connection is busy; one more was closed");
                    continue;
                };
                let parts = parts.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        result = handle(stream, &parts, &ticket) => {
                            if let Err(e) = result {
                                tracing::debug!("agent connection: {e}");
                            }
                        }
                        _ = ticket.closed() => tracing::debug!("agent: an idle connection was closed to make room"),
                    }
                });
            }
        });
        Ok(Self {
            path: path.to_owned(),
            stop,
        })
    }
}

async fn write_line(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    line: &Line,
) -> std::io::Result<()> {
    let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
    text.push('\n');
    tokio::time::timeout(WRITE_TIMEOUT, write.write_all(text.as_bytes()))
        .await
        .map_err(|_| std::io::Error::other("the client does not read its answer"))?
}

#[cfg(unix)]
async fn handle(
    stream: tokio::net::UnixStream,
    parts: &Parts,
    ticket: &Ticket,
) -> std::io::Result<()> {
    let client_pid = stream
        .peer_cred()
        .ok()
        .and_then(|c| c.pid())
        .and_then(|p| u32::try_from(p).ok());
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_REQUEST));
    tokio::time::timeout(REQUEST_READ_TIMEOUT, reader.read_line(&mut line))
        .await
        .map_err(|_| std::io::Error::other("no request line in time"))??;
    let _working = ticket.working();
    let request = match serde_json::from_str::<Request>(&line) {
        Ok(r) => r,
        Err(e) => {
            let error = CoreError::Invalid(format!("bad request: {e}"));
            return write_line(&mut write, &Line::Failed(error.payload())).await;
        }
    };
    tracing::info!("agent: {}", request.name());
    let (steps, mut step_rx) = mpsc::unbounded_channel();
    let work = answer(parts, request, steps, client_pid);
    tokio::pin!(work);
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            Some(step) = step_rx.recv() => write_line(&mut write, &Line::Step(step)).await?,
            _ = beat.tick() => write_line(&mut write, &Line::Alive).await?,
        }
    };
    while let Ok(step) = step_rx.try_recv() {
        write_line(&mut write, &Line::Step(step)).await?;
    }
    let last = match result {
        Ok(answer) => Line::Done(answer),
        Err(e) => Line::Failed(e.payload()),
    };
    write_line(&mut write, &last).await?;
    write.shutdown().await
}

/// Every configured session and its sign-in state.
pub fn session_infos(core: &Rolecall) -> Vec<SessionInfo> {
    core.sessions()
        .iter()
        .map(|s| {
            let st = core.signin().status(s);
            SessionInfo {
                name: s.name.clone(),
                start_url: s.start_url.clone(),
                region: s.region.to_string(),
                signed_in: st.signed_in,
                expires_at: st.expires_at.map(rfc3339),
                session_ends_at: st.session_ends_at.filter(|_| st.signed_in).map(rfc3339),
            }
        })
        .collect()
}

/// Which role `resolved` is, for the CLI to name it.
pub fn role_on_wire(core: &Rolecall, resolved: &crate::rolecall::Resolved) -> RoleOnWire {
    RoleOnWire {
        session: resolved.session.name.clone(),
        account_id: resolved.key.account_id.clone(),
        account_name: resolved.account_name.clone(),
        role: core.role_label(&resolved.key),
    }
}

async fn answer(
    parts: &Parts,
    request: Request,
    steps: mpsc::UnboundedSender<SignInStep>,
    client_pid: Option<u32>,
) -> Result<Answer, CoreError> {
    let Parts {
        core,
        endpoint,
        handoff,
    } = parts;
    if request == Request::Ping {
        return Ok(Answer::Pong {
            version: env!("CARGO_PKG_VERSION").into(),
        });
    }
    core.reload_config();
    if let Some(problem) = core.config_problem() {
        return Err(problem.into());
    }
    Ok(match request {
        Request::Ping => unreachable!("answered above"),
        Request::Sessions => Answer::Sessions {
            sessions: session_infos(core),
        },
        Request::List { session, refresh } => {
            let session = core.session(session.as_deref())?;
            let catalog = if refresh {
                core.refresh_catalog(&session, None).await?
            } else {
                core.catalog_or_sweep(&session).await?
            };
            Answer::Catalog {
                accounts: catalog.accounts.clone(),
            }
        }
        Request::Credentials {
            session,
            account,
            role,
        } => {
            let resolved = core.resolve(session.as_deref(), &account, &role).await?;
            let c = core.credentials(&resolved).await?;
            Answer::Credentials {
                credentials: CredentialsOnWire::from(&c),
                region: resolved.session.region.to_string(),
                role: role_on_wire(core, &resolved),
            }
        }
        Request::Console {
            session,
            account,
            role,
            ask,
            handoff: hand_off,
        } => {
            let resolved = core.resolve(session.as_deref(), &account, &role).await?;
            let opening = core.console(&resolved, &ask).await?;
            let url = if hand_off {
                handoff.offer(opening.url).url
            } else {
                opening.url
            };
            Answer::Console {
                url: SecretOnWire(url),
                open_in: opening.open_in,
                mode: opening.mode,
                identities: opening.identities,
            }
        }
        Request::Whoami {
            session,
            account,
            role,
        } => {
            let resolved = core.resolve(session.as_deref(), &account, &role).await?;
            Answer::Whoami {
                identity: core.whoami(&resolved).await?,
            }
        }
        Request::Grant {
            session,
            account,
            role,
            while_i_live,
        } => {
            let resolved = core.resolve(session.as_deref(), &account, &role).await?;
            let holder = match (while_i_live, client_pid) {
                (false, _) => None,
                (true, Some(pid)) => Some(crate::endpoint::Holder::of(pid).ok_or_else(|| {
                    CoreError::Invalid("the process asking for the grant cannot be followed".into())
                })?),
                (true, None) => {
                    return Err(CoreError::Invalid(
                        "this agent cannot tell which process asks for the grant".into(),
                    ));
                }
            };
            let g = endpoint.grant_held_by(&resolved, holder);
            Answer::Grant {
                id: g.id,
                url: g.url,
                token: SecretOnWire(g.token),
                region: resolved.session.region.to_string(),
                role: role_on_wire(core, &resolved),
            }
        }
        Request::Status => Answer::Status {
            sessions: session_infos(core),
            active: core
                .vault()
                .active()
                .into_iter()
                .map(|a| ActiveOnWire {
                    role: RoleOnWire {
                        account_name: core.account_name(&a.key.session, &a.key.account_id),
                        role: core.role_label(&a.key),
                        session: a.key.session,
                        account_id: a.key.account_id,
                    },
                    access_key_id: a.access_key_id,
                    expires_at: rfc3339(a.expires_at),
                })
                .collect(),
        },
        Request::Grants => Answer::Grants {
            grants: endpoint.list(),
        },
        Request::Revoke { id } => Answer::Revoked {
            revoked: endpoint.revoke(&id),
        },
        Request::Login {
            session,
            device_code,
        } => {
            let session = core.session(session.as_deref())?;
            let expires = core
                .sign_in_with_steps(&session, device_code, |step| {
                    let _ = steps.send(step);
                })
                .await?;
            Answer::SignedIn {
                session: session.name,
                expires_at: rfc3339(expires),
            }
        }
        Request::Logout { session } => {
            let session = core.session(session.as_deref())?;
            endpoint.revoke_session(&session.name);
            core.sign_out(&session).await;
            Answer::SignedOut {
                session: session.name,
            }
        }
    })
}
