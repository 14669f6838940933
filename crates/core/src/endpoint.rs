//! The local credential endpoint: the container-credentials protocol on 127.0.0.1 (a port the
//! OS picks), so SDKs and the AWS CLI get credentials, and refresh them by themselves, with no
//! secret key in the shell. A shell gets `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`; the token is made for that one grant (one role) and can
//! be revoked.
//!
//! Defences: only the hash of each token is kept and compared in constant time against every
//! grant; a request whose `Host` is not loopback is refused (DNS rebinding); GET only; no body;
//! a grant ends when its session changes organisation or is removed, at its next request (the
//! config file is read again when it changed); connections are bounded and timed
//! (`rolecall_engine::local_http`), so another local user cannot stall it; every served request leaves
//! a log line naming the grant and the status, never a secret.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use rolecall_engine::clock::Clock;
use rolecall_engine::sync::lock;
use tokio_util::sync::CancellationToken;

use rolecall_engine::gate::{Gate, bound};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use rolecall_engine::secret::Secret;
use rolecall_engine::shell::rfc3339;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::rolecall::{Resolved, Rolecall};

const PATH: &str = "/v1/credentials";

#[derive(Debug)]
struct GrantRecord {
    id: String,
    resolved: Resolved,
    token_hash: [u8; 32],
    created: SystemTime,
    uses: u64,
    last_used: Option<SystemTime>,
    /// The process whose life the grant lasts, if it was asked for so.
    holder: Option<Holder>,
}

/// A process a grant lives as long as: its pid and its start time (from `/proc/<pid>/stat`),
/// so a pid used again by another process never keeps the grant alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pid: u32,
    started: u64,
}

impl Holder {
    /// The process `pid` as it is now; `None` where it cannot be told (not Linux, or gone).
    pub fn of(pid: u32) -> Option<Self> {
        Some(Self {
            pid,
            started: start_time(pid)?,
        })
    }

    /// Whether the process still runs (the same one, not a new one under its pid).
    pub fn alive(&self) -> bool {
        start_time(self.pid) == Some(self.started)
    }
}

/// Field 22 of `/proc/<pid>/stat`: when the process started, in clock ticks since boot. The
/// command's name (field 2) can hold spaces and parentheses, so fields are counted after its
/// last `)`. A zombie still has its entry: it counts as ended.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// A grant as listed in the app: no token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GrantInfo {
    pub id: String,
    pub session: String,
    pub account_id: String,
    pub account_name: String,
    pub role: String,
    /// Epoch seconds.
    pub created: u64,
    pub uses: u64,
    pub last_used: Option<u64>,
}

/// A new grant: the two values a shell needs.
#[derive(Debug, Clone)]
pub struct IssuedGrant {
    pub id: String,
    pub url: String,
    pub token: Secret,
}

impl IssuedGrant {
    /// The environment a shell needs; the token is a secret of its own, so the result is too.
    /// With a region, `AWS_REGION` and `AWS_DEFAULT_REGION` too.
    pub fn vars(&self, region: Option<&str>) -> Vec<(&'static str, Secret)> {
        let mut vars = vec![
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                Secret::new(self.url.clone()),
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", self.token.clone()),
        ];
        if let Some(region) = region.filter(|r| !r.is_empty()) {
            vars.push(("AWS_REGION", Secret::new(region)));
            vars.push(("AWS_DEFAULT_REGION", Secret::new(region)));
        }
        vars
    }
}

impl IssuedGrant {
    /// As [`IssuedGrant::vars`], with the token in a file instead of the environment
    /// (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, which current SDKs and the AWS CLI read on
    /// every call): the file is written here, readable by its owner alone, atomically.
    pub fn vars_with_token_file(
        &self,
        region: Option<&str>,
        path: &std::path::Path,
    ) -> std::io::Result<Vec<(&'static str, Secret)>> {
        rolecall_engine::files::write_atomic(
            path,
            self.token.expose().as_bytes(),
            rolecall_engine::files::Mode::Private,
        )?;
        let path = std::path::absolute(path)?;
        let path = path
            .to_str()
            .ok_or_else(|| std::io::Error::other("the token file's path is not UTF-8"))?;
        Ok(self
            .vars(region)
            .into_iter()
            .map(|(k, v)| {
                if k == "AWS_CONTAINER_AUTHORIZATION_TOKEN" {
                    ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Secret::new(path))
                } else {
                    (k, v)
                }
            })
            .collect())
    }
}

#[derive(Debug)]
struct Shared {
    core: Weak<Rolecall>,
    clock: Arc<dyn Clock>,
    grants: Mutex<Vec<GrantRecord>>,
    port: u16,
}

/// The running endpoint. Dropping it stops the server.
#[derive(Debug)]
pub struct CredentialEndpoint {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: CancellationToken,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn epoch(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl CredentialEndpoint {
    pub async fn start(core: &Arc<Rolecall>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            core: Arc::downgrade(core),
            clock: core.clock().clone(),
            grants: Mutex::new(Vec::new()),
            port: addr.port(),
        });
        let app = Router::new()
            .fallback(serve)
            .layer(DefaultBodyLimit::max(1024))
            .with_state(shared.clone());
        let stop = CancellationToken::new();
        rolecall_engine::local_http::spawn(
            "credential endpoint",
            listener,
            app,
            Gate::new(bound(256)),
            stop.clone(),
        );
        tracing::info!("credential endpoint listening on {addr}");
        Ok(Self { shared, addr, stop })
    }

    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, Vec<GrantRecord>> {
        self.shared
            .grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes a grant for one role and returns its token (shown once, never stored).
    pub fn grant(&self, resolved: &Resolved) -> IssuedGrant {
        self.grant_held_by(resolved, None)
    }

    /// [`CredentialEndpoint::grant`], ending when `holder` ends (checked at every request to
    /// the endpoint and every listing).
    pub fn grant_held_by(&self, resolved: &Resolved, holder: Option<Holder>) -> IssuedGrant {
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        let token = Secret::new(URL_SAFE_NO_PAD.encode(bytes));
        let mut id_bytes = [0u8; 6];
        rand::rng().fill(&mut id_bytes);
        let id = format!("g-{}", hex_lower(&id_bytes));
        self.grants().push(GrantRecord {
            id: id.clone(),
            resolved: resolved.clone(),
            token_hash: hash(token.expose()),
            created: self.shared.clock.now(),
            uses: 0,
            last_used: None,
            holder,
        });
        tracing::info!("credential endpoint: grant {id} made for {}", resolved.key);
        IssuedGrant {
            id,
            url: self.url(),
            token,
        }
    }

    pub fn list(&self) -> Vec<GrantInfo> {
        let mut grants = self.grants();
        end_orphans(&mut grants);
        grants
            .iter()
            .map(|g| GrantInfo {
                id: g.id.clone(),
                session: g.resolved.key.session.clone(),
                account_id: g.resolved.key.account_id.clone(),
                account_name: g.resolved.account_name.clone(),
                role: g.resolved.key.role.clone(),
                created: epoch(g.created),
                uses: g.uses,
                last_used: g.last_used.map(epoch),
            })
            .collect()
    }

    /// Revokes a grant; its token gets nothing from now on.
    pub fn revoke(&self, id: &str) -> bool {
        let mut grants = self.grants();
        let before = grants.len();
        grants.retain(|g| g.id != id);
        let revoked = grants.len() != before;
        if revoked {
            tracing::info!("credential endpoint: grant {id} revoked");
        }
        revoked
    }

    /// Revokes every grant of a session (sign-out).
    pub fn revoke_session(&self, session: &str) {
        self.grants().retain(|g| g.resolved.key.session != session);
    }
}

impl Drop for CredentialEndpoint {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Ends the grants whose holding process has ended.
fn end_orphans(grants: &mut Vec<GrantRecord>) {
    grants.retain(|g| {
        let alive = g.holder.is_none_or(|h| h.alive());
        if !alive {
            tracing::info!("credential endpoint: grant {} ended with its process", g.id);
        }
        alive
    });
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn host_is_loopback(headers: &HeaderMap, port: u16) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == format!("{name}:{port}"))
}

async fn serve(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if parts.method != Method::GET {
        tracing::info!("credential endpoint: {} {path} -> 405", parts.method);
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "only GET is served",
        );
    }
    if !host_is_loopback(&parts.headers, shared.port) {
        tracing::warn!("credential endpoint: refused a request for a non-loopback Host");
        return refuse(
            StatusCode::FORBIDDEN,
            "bad_host",
            "the Host header must name this loopback address",
        );
    }
    if path != PATH {
        return refuse(StatusCode::NOT_FOUND, "not_found", "no such path");
    }
    let presented = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let presented = presented.strip_prefix("Bearer ").unwrap_or(presented);
    let wanted = hash(presented);
    let resolved = {
        let mut grants = shared
            .grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        end_orphans(&mut grants);
        // Compare against every grant, whatever matches, so timing tells nothing.
        let mut found: Option<usize> = None;
        for (i, g) in grants.iter().enumerate() {
            if bool::from(g.token_hash.ct_eq(&wanted)) {
                found = Some(i);
            }
        }
        match found {
            Some(i) if !presented.is_empty() => {
                let g = &mut grants[i];
                g.uses += 1;
                g.last_used = Some(shared.clock.now());
                Some((g.id.clone(), g.resolved.clone()))
            }
            _ => None,
        }
    };
    let Some((id, resolved)) = resolved else {
        tracing::info!("credential endpoint: GET {path} with an unknown token -> 401");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad_token",
            "the authorization token is not valid or was revoked",
        );
    };
    let Some(core) = shared.core.upgrade() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopping",
            "Rolecall is stopping",
        );
    };
    // A grant is for a role of a session as it was configured; if the session now points at
    // another organisation (start URL, region or endpoints changed) or is gone, the grant ends.
    // The config is read again first when the file changed: an edit the agent or the app did
    // not make (`rolecall --no-agent session rm`, an editor) takes effect at this request.
    core.reload_config_if_changed();
    if core.session(Some(&resolved.key.session)).ok().as_ref() != Some(&resolved.session) {
        lock(&shared.grants).retain(|g| g.id != id);
        tracing::info!("credential endpoint: grant {id} ended: its session changed");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad_token",
            "the session this grant was made for has changed; make a new one",
        );
    }
    match core.credentials(&resolved).await {
        Ok(creds) => {
            tracing::info!("credential endpoint: grant {id} ({}) -> 200", resolved.key);
            let body = serde_json::json!({
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key.expose(),
                "Token": creds.session_token.expose(),
                "Expiration": rfc3339(creds.expiration),
            });
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Err(e) => {
            tracing::info!(
                "credential endpoint: grant {id} ({}) -> 503 {}",
                resolved.key,
                e.code()
            );
            refuse(StatusCode::SERVICE_UNAVAILABLE, &e.code(), &e.to_string())
        }
    }
}
