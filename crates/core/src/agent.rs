//! The agent channel: how the CLI asks a running Rolecall (the desktop app, or `rolecall agent`)
//! so that one sign-in serves both and credentials are fetched once.
//!
//! A Unix socket in the runtime folder (`$XDG_RUNTIME_DIR/rolecall/agent.sock`; the folder is
//! 0700 and the socket 0600, so only the same user can connect). One JSON request per
//! connection, one JSON line back (a sign-in first streams `{"event": ...}` lines). Role
//! credentials cross it only to the CLI that asked, never to a log.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rolecall_engine::shell::rfc3339;
use rolecall_engine::signin::{SignInEvent, SignInMethod};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::endpoint::CredentialEndpoint;
use crate::error::{CoreError, ErrorPayload};
use crate::rolecall::Rolecall;

/// Requests are bounded: nothing legitimate comes near this.
const MAX_REQUEST: usize = 64 * 1024;

/// `ROLECALL_AGENT_SOCKET`, else `$XDG_RUNTIME_DIR/rolecall/agent.sock`, else a per-user
/// folder in the temporary directory.
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
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid().to_string())
        .unwrap_or_else(|_| "user".into())
}

#[cfg(not(unix))]
fn user_id() -> String {
    std::env::var("USERNAME").unwrap_or_else(|_| "user".into())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
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
    Console {
        session: Option<String>,
        account: String,
        role: String,
        service: Option<String>,
        region: Option<String>,
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
    },
    Grants,
    Revoke {
        id: String,
    },
    Login {
        session: Option<String>,
        device_code: bool,
    },
    Logout {
        session: Option<String>,
    },
}

/// A running agent (the socket server). Dropping it stops serving and removes the socket.
#[derive(Debug)]
pub struct AgentServer {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AgentServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
impl AgentServer {
    /// Listens on `path`. Fails if another agent answers there; replaces a stale socket.
    pub async fn start(
        core: Arc<Rolecall>,
        endpoint: Arc<CredentialEndpoint>,
        path: &Path,
    ) -> std::io::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        if path.exists() {
            if tokio::net::UnixStream::connect(path).await.is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    format!("another Rolecall agent is running ({})", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let listener = tokio::net::UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        tracing::info!("agent listening on {}", path.display());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (core, endpoint) = (core.clone(), endpoint.clone());
                tokio::spawn(async move {
                    if let Err(e) = handle(stream, core, endpoint).await {
                        tracing::debug!("agent connection: {e}");
                    }
                });
            }
        });
        Ok(Self {
            path: path.to_owned(),
            task,
        })
    }
}

#[cfg(unix)]
async fn handle(
    stream: tokio::net::UnixStream,
    core: Arc<Rolecall>,
    endpoint: Arc<CredentialEndpoint>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_REQUEST as u64));
    reader.read_line(&mut line).await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Err(e) => Err(CoreError::Invalid(format!("bad request: {e}"))),
        Ok(request) => {
            tracing::info!("agent: {}", op_name(&request));
            core.reload_config();
            answer(&core, &endpoint, request, &mut write).await
        }
    };
    let body = match reply {
        Ok(data) => json!({ "ok": true, "data": data }),
        Err(e) => json!({ "ok": false, "error": e.payload() }),
    };
    write.write_all(format!("{body}\n").as_bytes()).await?;
    write.shutdown().await
}

fn op_name(r: &Request) -> &'static str {
    match r {
        Request::Ping => "ping",
        Request::Sessions => "sessions",
        Request::List { .. } => "list",
        Request::Credentials { .. } => "credentials",
        Request::Console { .. } => "console",
        Request::Whoami { .. } => "whoami",
        Request::Grant { .. } => "grant",
        Request::Grants => "grants",
        Request::Revoke { .. } => "revoke",
        Request::Login { .. } => "login",
        Request::Logout { .. } => "logout",
    }
}

/// What a sign-in event looks like on the channel.
pub fn event_json(e: &SignInEvent) -> Option<Value> {
    Some(match e {
        SignInEvent::DeviceCode {
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_at,
            ..
        } => json!({
            "kind": "device_code", "user_code": user_code, "verification_uri": verification_uri,
            "verification_uri_complete": verification_uri_complete, "expires_at": rfc3339(*expires_at),
        }),
        SignInEvent::OpenBrowser {
            url, expires_at, ..
        } => {
            json!({ "kind": "open_browser", "url": url, "expires_at": rfc3339(*expires_at) })
        }
        SignInEvent::KeychainUnavailable { message } => {
            json!({ "kind": "keychain_unavailable", "message": message })
        }
        _ => return None,
    })
}

#[cfg(unix)]
async fn answer(
    core: &Arc<Rolecall>,
    endpoint: &Arc<CredentialEndpoint>,
    request: Request,
    write: &mut tokio::net::unix::OwnedWriteHalf,
) -> Result<Value, CoreError> {
    Ok(match request {
        Request::Ping => json!({ "agent": "rolecall", "version": env!("CARGO_PKG_VERSION") }),
        Request::Sessions => {
            let list: Vec<Value> = core
                .sessions()
                .iter()
                .map(|s| {
                    let st = core.signin().status(s);
                    json!({ "name": s.name, "start_url": s.start_url, "region": s.region, "signed_in": st.signed_in,
                            "expires_at": st.expires_at.map(rfc3339) })
                })
                .collect();
            Value::Array(list)
        }
        Request::List { session, refresh } => {
            let session = core.session(session.as_deref())?;
            let catalog = if refresh {
                core.refresh_catalog(&session, None).await?
            } else {
                core.catalog_or_sweep(&session).await?
            };
            serde_json::to_value(&catalog.accounts)
                .map_err(|e| CoreError::Invalid(e.to_string()))?
        }
        Request::Credentials {
            session,
            account,
            role,
        } => {
            let resolved = core.resolve(session.as_deref(), &account, &role).await?;
            let c = core.credentials(&resolved).await?;
            json!({ "AccessKeyId": c.access_key_id, "SecretAccessKey": c.secret_access_key.expose(),
                    "SessionToken": c.session_token.expose(), "Expiration": rfc3339(c.expiration) })
        }
        Request::Console {
            session,
            account,
            role,
            service,
            region,
        } => {
            let resolved = core.resolve(session.as_deref(), &account, &role).await?;
            let url = core
                .console_url(&resolved, service.as_deref(), region.as_deref())
                .await?;
            json!({ "url": url.expose() })
        }
        Request::Whoami {
            session,
            account,
            role,
        } => {
            let resolved = core.resolve(session.as_deref(), &account, &role).await?;
            serde_json::to_value(core.whoami(&resolved).await?)
                .map_err(|e| CoreError::Invalid(e.to_string()))?
        }
        Request::Grant {
            session,
            account,
            role,
        } => {
            let resolved = core.resolve(session.as_deref(), &account, &role).await?;
            let g = endpoint.grant(&resolved);
            json!({ "id": g.id, "url": g.url, "token": g.token.expose() })
        }
        Request::Grants => {
            serde_json::to_value(endpoint.list()).map_err(|e| CoreError::Invalid(e.to_string()))?
        }
        Request::Revoke { id } => json!({ "revoked": endpoint.revoke(&id) }),
        Request::Login {
            session,
            device_code,
        } => {
            let session = core.session(session.as_deref())?;
            let method = if device_code {
                SignInMethod::DeviceCode
            } else {
                SignInMethod::Pkce
            };
            let mut events = core.signin().subscribe();
            let signin = core.clone();
            let s = session.clone();
            let mut task = tokio::spawn(async move { signin.sign_in(&s, method).await });
            let expires = loop {
                tokio::select! {
                    done = &mut task => break done.map_err(|e| CoreError::Invalid(e.to_string()))??,
                    event = events.recv() => {
                        if let Ok(e) = event
                            && let Some(v) = event_json(&e)
                        {
                            let _ = write.write_all(format!("{}\n", json!({ "event": v })).as_bytes()).await;
                        }
                    }
                }
            };
            json!({ "session": session.name, "expires_at": rfc3339(expires) })
        }
        Request::Logout { session } => {
            let session = core.session(session.as_deref())?;
            endpoint.revoke_session(&session.name);
            core.sign_out(&session).await;
            json!({ "session": session.name })
        }
    })
}

/// The CLI's side of the channel.
#[derive(Debug, Clone)]
pub struct AgentClient {
    path: PathBuf,
}

#[cfg(unix)]
impl AgentClient {
    /// `Some` when an agent answers at `path`.
    pub async fn connect(path: &Path) -> Option<Self> {
        tokio::net::UnixStream::connect(path).await.ok()?;
        Some(Self {
            path: path.to_owned(),
        })
    }

    pub async fn call(&self, request: &Request) -> Result<Value, CoreError> {
        self.call_with_events(request, |_| {}).await
    }

    /// Sends a request; `on_event` sees each event line before the answer.
    pub async fn call_with_events(
        &self,
        request: &Request,
        mut on_event: impl FnMut(&Value),
    ) -> Result<Value, CoreError> {
        let stream = tokio::net::UnixStream::connect(&self.path)
            .await
            .map_err(|_| CoreError::NoAgent)?;
        let (read, mut write) = stream.into_split();
        let line = serde_json::to_string(request).map_err(|e| CoreError::Invalid(e.to_string()))?;
        write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| CoreError::Invalid(format!("the agent hung up: {e}")))?;
        let mut lines = BufReader::new(read).lines();
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(|e| CoreError::Invalid(format!("the agent hung up: {e}")))?
        {
            let value: Value = serde_json::from_str(&line)
                .map_err(|e| CoreError::Invalid(format!("bad answer from the agent: {e}")))?;
            if let Some(event) = value.get("event") {
                on_event(event);
                continue;
            }
            if value.get("ok") == Some(&Value::Bool(true)) {
                return Ok(value.get("data").cloned().unwrap_or(Value::Null));
            }
            let payload: ErrorPayload = serde_json::from_value(
                value.get("error").cloned().unwrap_or_default(),
            )
            .unwrap_or(ErrorPayload {
                code: "agent_error".into(),
                message: "the agent failed".into(),
            });
            return Err(payload.into());
        }
        Err(CoreError::Invalid(
            "the agent closed the connection without an answer".into(),
        ))
    }
}

#[cfg(not(unix))]
impl AgentClient {
    pub async fn connect(_path: &Path) -> Option<Self> {
        None
    }
    pub async fn call(&self, _request: &Request) -> Result<Value, CoreError> {
        Err(CoreError::NoAgent)
    }
    pub async fn call_with_events(
        &self,
        _request: &Request,
        _on_event: impl FnMut(&Value),
    ) -> Result<Value, CoreError> {
        Err(CoreError::NoAgent)
    }
}
