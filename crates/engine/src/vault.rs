//! The credential vault: role credentials fetched on demand and held **in memory only**.
//!
//! - One fetch in flight per (session, account, role[, chained role]) however many ask
//!   ([`SingleFlight`]).
//! - Time, retry pauses included, only through the [`Clock`]: expiry, warnings and renewal are
//!   tested on a fake clock.
//! - Each entry has a timer on the [`Clock`]: warnings at the configured times before expiry
//!   (default 10 min and 1 min), optional auto-renew shortly before expiry while the SSO
//!   session is valid, and at expiry the credentials are removed (their secrets zeroized on drop)
//!   and an event says so.
//! - Role chaining: AssumeRole from an SSO role into a configured role ARN, capped at 1 hour.
//! - Verify: STS GetCallerIdentity.
//!
//! It must never write credentials anywhere: no file, no log, no keychain, no event payload.
//! Events carry keys and times only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::api::{ApiError, AwsConnector, CallerIdentity, RoleCredentials};
use crate::clock::Clock;
use crate::pacer::{Pacers, Priority};
use crate::session::SsoSession;
use crate::signin::{SignIn, SignInError};
use crate::single_flight::{Abandoned, SingleFlight};
use crate::sync::lock;

/// Role chaining is capped at one hour by STS.
pub const CHAIN_CAP: Duration = Duration::from_secs(3600);

/// The longest role credentials IAM Identity Center hands out (a permission set's session
/// lasts 12 hours at most). An answer that claims more is believed only this far.
pub const SSO_CAP: Duration = Duration::from_secs(12 * 3600);

/// Which credentials: a role of an account through a session, optionally chained onward.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoleKey {
    pub session: String,
    pub account_id: String,
    pub role: String,
    /// The role ARN assumed from this role, for chained credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
}

impl RoleKey {
    pub fn new(session: &str, account_id: &str, role: &str) -> Self {
        Self {
            session: session.into(),
            account_id: account_id.into(),
            role: role.into(),
            chain: None,
        }
    }

    pub fn chained(&self, role_arn: &str) -> Self {
        Self {
            chain: Some(role_arn.into()),
            ..self.clone()
        }
    }

    fn base(&self) -> Self {
        Self {
            chain: None,
            ..self.clone()
        }
    }
}

impl std::fmt::Display for RoleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.session, self.account_id, self.role)?;
        if let Some(chain) = &self.chain {
            write!(f, " -> {chain}")?;
        }
        Ok(())
    }
}

/// What the vault tells its listeners. No secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultEvent {
    Issued {
        key: RoleKey,
        expires_at: SystemTime,
    },
    Warning {
        key: RoleKey,
        expires_at: SystemTime,
        remaining: Duration,
    },
    Renewed {
        key: RoleKey,
        expires_at: SystemTime,
    },
    Expired {
        key: RoleKey,
    },
    Forgotten {
        key: RoleKey,
    },
    /// Credentials came with less time left than the renewal margin: this machine's clock
    /// is probably ahead. They are not renewed automatically (renewing would bring the same),
    /// and this is said once per vault.
    ClockSuspect {
        key: RoleKey,
        remaining: Duration,
    },
}

#[derive(Debug, Clone)]
pub struct VaultOptions {
    /// Warnings before expiry, in any order.
    pub warnings: Vec<Duration>,
    pub auto_renew: bool,
    /// With auto-renew: renew when this much is left.
    pub renew_before: Duration,
    /// Credentials with less than this left are fetched again instead of handed out.
    pub min_remaining: Duration,
    /// Session name for AssumeRole.
    pub chain_session_name: String,
}

impl Default for VaultOptions {
    fn default() -> Self {
        Self {
            warnings: vec![Duration::from_secs(600), Duration::from_secs(60)],
            auto_renew: false,
            renew_before: Duration::from_secs(300),
            min_remaining: Duration::from_secs(60),
            chain_session_name: "rolecall".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error("no access to role {role} in account {account}: {message}")]
    Forbidden {
        account: String,
        role: String,
        message: String,
    },
    #[error("AWS is throttling requests; try again in a moment")]
    Throttled,
    #[error("cannot reach AWS: {0}")]
    Network(String),
    #[error("AWS refused the request: {0}")]
    Refused(String),
}

impl VaultError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::SignIn(e) => e.code(),
            Self::Forbidden { .. } => "forbidden",
            Self::Throttled => "throttled",
            Self::Network(_) => "network",
            Self::Refused(_) => "refused",
        }
    }

    fn from_api(key: &RoleKey, e: ApiError) -> Self {
        match e {
            ApiError::Forbidden(message) => Self::Forbidden {
                account: key.account_id.clone(),
                role: key.role.clone(),
                message,
            },
            ApiError::Throttled => Self::Throttled,
            ApiError::Network(m) | ApiError::Server(m) => Self::Network(m),
            ApiError::Unauthorized(_) => {
                Self::SignIn(SignInError::SignInRequired(key.session.clone()))
            }
            other => Self::Refused(other.to_string()),
        }
    }
}

/// A summary of held credentials, for display: no secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveRole {
    pub key: RoleKey,
    pub access_key_id: String,
    pub expires_at: SystemTime,
}

#[derive(Debug)]
struct Entry {
    creds: RoleCredentials,
    timer: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Inner {
    signin: Arc<SignIn>,
    connector: Arc<dyn AwsConnector>,
    clock: Arc<dyn Clock>,
    options: VaultOptions,
    entries: Mutex<HashMap<RoleKey, Entry>>,
    /// One fetch per key at a time; entries exist only while a fetch runs.
    fetches: SingleFlight<RoleKey, Result<RoleCredentials, VaultError>>,
    events: broadcast::Sender<VaultEvent>,
    /// Turns at the portal's throttle, shared with the sweeps: while a sweep runs, a role's
    /// credentials take the next turn instead of being refused with 429.
    pacers: Arc<Pacers>,
    /// Whether [`VaultEvent::ClockSuspect`] was said already.
    clock_suspected: std::sync::atomic::AtomicBool,
}

/// Holds role credentials in memory and hands them out.
#[derive(Debug, Clone)]
pub struct CredentialVault {
    inner: Arc<Inner>,
}

impl CredentialVault {
    pub fn new(
        signin: Arc<SignIn>,
        connector: Arc<dyn AwsConnector>,
        clock: Arc<dyn Clock>,
        options: VaultOptions,
    ) -> Self {
        let (events, _) = broadcast::channel(256);
        Self {
            inner: Arc::new(Inner {
                signin,
                connector,
                clock,
                options,
                entries: Mutex::new(HashMap::new()),
                fetches: SingleFlight::default(),
                events,
                pacers: Arc::new(Pacers::default()),
                clock_suspected: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// The sessions' portal pacers: a sweep that runs on one shares the throttle with the
    /// credential requests, which go first.
    pub fn pacers(&self) -> Arc<Pacers> {
        self.inner.pacers.clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<VaultEvent> {
        self.inner.events.subscribe()
    }

    /// Credentials for a role, from memory when they have time left, else fetched once.
    pub async fn get(
        &self,
        session: &SsoSession,
        key: &RoleKey,
    ) -> Result<RoleCredentials, VaultError> {
        if let Some(creds) = self.held(key) {
            return Ok(creds);
        }
        // The fetch runs as a task of its own: a client that gives up waiting (an SDK's own
        // timeout) must not take the fetch other clients of the role wait on with it.
        let (vault, session_owned, key_owned) = (self.clone(), session.clone(), key.clone());
        self.inner
            .fetches
            .run_shared(key, move |_| async move {
                let (session, key) = (&session_owned, &key_owned);
                // Another caller may have stored them while this one waited its turn.
                if let Some(creds) = vault.held(key) {
                    return Ok(creds);
                }
                let creds = match &key.chain {
                    None => vault.inner.fetch_sso(session, key).await?,
                    Some(role_arn) => {
                        let base = vault.get_boxed(session, key.base()).await?;
                        vault.inner.assume(session, key, &base, role_arn).await?
                    }
                };
                Ok(vault.inner.store(session, key, creds, false))
            })
            .await
            .unwrap_or_else(|Abandoned| {
                Err(VaultError::Network(
                    "the fetch was cancelled; try again".into(),
                ))
            })
    }

    /// [`CredentialVault::get`] as a boxed future that says it is `Send`: a chained role's
    /// fetch asks for its base role's credentials from inside a task, and the compiler cannot
    /// tell on its own that a future which awaits itself is `Send`.
    fn get_boxed<'a>(
        &'a self,
        session: &'a SsoSession,
        key: RoleKey,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<RoleCredentials, VaultError>> + Send + 'a>,
    > {
        Box::pin(async move { self.get(session, &key).await })
    }

    /// Held credentials with at least `min_remaining` left.
    fn held(&self, key: &RoleKey) -> Option<RoleCredentials> {
        let now = self.inner.clock.now();
        let entries = lock(&self.inner.entries);
        entries
            .get(key)
            .filter(|e| e.creds.expiration > now + self.inner.options.min_remaining)
            .map(|e| e.creds.clone())
    }

    /// Every held set of credentials, soonest expiry first.
    pub fn active(&self) -> Vec<ActiveRole> {
        let mut list: Vec<_> = lock(&self.inner.entries)
            .iter()
            .map(|(k, e)| ActiveRole {
                key: k.clone(),
                access_key_id: e.creds.access_key_id.clone(),
                expires_at: e.creds.expiration,
            })
            .collect();
        list.sort_by(|a, b| {
            a.expires_at
                .cmp(&b.expires_at)
                .then_with(|| a.key.cmp(&b.key))
        });
        list
    }

    /// Wipes the credentials of `key` (and what was chained from it).
    pub fn forget(&self, key: &RoleKey) {
        let removed: Vec<RoleKey> = {
            let mut entries = lock(&self.inner.entries);
            let doomed: Vec<RoleKey> = entries
                .keys()
                .filter(|k| *k == key || (key.chain.is_none() && k.base() == *key))
                .cloned()
                .collect();
            for k in &doomed {
                if let Some(e) = entries.remove(k) {
                    e.timer.abort();
                }
            }
            doomed
        };
        for key in removed {
            let _ = self.inner.events.send(VaultEvent::Forgotten { key });
        }
    }

    /// Wipes every credential of a session (sign-out).
    pub fn forget_session(&self, session: &str) {
        let keys: Vec<RoleKey> = lock(&self.inner.entries)
            .keys()
            .filter(|k| k.session == session)
            .cloned()
            .collect();
        for k in keys {
            self.forget(&k);
        }
    }

    /// STS GetCallerIdentity with the credentials of `key`.
    pub async fn verify(
        &self,
        session: &SsoSession,
        key: &RoleKey,
    ) -> Result<CallerIdentity, VaultError> {
        let creds = self.get(session, key).await?;
        self.inner
            .connector
            .sts(session)
            .get_caller_identity(&creds)
            .await
            .map_err(|e| VaultError::from_api(key, e))
    }
}

impl Inner {
    async fn fetch_sso(
        &self,
        session: &SsoSession,
        key: &RoleKey,
    ) -> Result<RoleCredentials, VaultError> {
        let portal = self.connector.portal(session);
        let mut retried_auth = false;
        let mut transient = 0;
        loop {
            let token = self.signin.access_token(session).await?;
            self.pacers.turn(&session.name, Priority::Now).await;
            match portal
                .get_role_credentials(&token, &key.account_id, &key.role)
                .await
            {
                Ok(creds) => return Ok(creds),
                Err(ApiError::Unauthorized(_)) if !retried_auth => {
                    // The token was revoked or expired early: refresh once, then give up.
                    retried_auth = true;
                    self.signin.token_rejected(session);
                }
                Err(e) if e.is_transient() && transient < 3 => {
                    transient += 1;
                    let pause = Duration::from_millis(300 * (1 << transient));
                    self.clock.sleep(pause).await;
                }
                Err(e) => return Err(VaultError::from_api(key, e)),
            }
        }
    }

    async fn assume(
        &self,
        session: &SsoSession,
        key: &RoleKey,
        base: &RoleCredentials,
        role_arn: &str,
    ) -> Result<RoleCredentials, VaultError> {
        self.connector
            .sts(session)
            .assume_role(base, role_arn, &self.options.chain_session_name, CHAIN_CAP)
            .await
            .map_err(|e| VaultError::from_api(key, e))
    }

    /// Holds `creds` for `key` until they expire, and says so; returns them as held (their
    /// expiry no later than AWS allows from now: [`SSO_CAP`], [`CHAIN_CAP`] when chained).
    fn store(
        self: &Arc<Self>,
        session: &SsoSession,
        key: &RoleKey,
        mut creds: RoleCredentials,
        renewed: bool,
    ) -> RoleCredentials {
        let cap = if key.chain.is_some() {
            CHAIN_CAP
        } else {
            SSO_CAP
        };
        let now = self.clock.now();
        creds.expiration = creds.expiration.min(now + cap);
        let expires_at = creds.expiration;
        // Credentials that already leave less than the renewal margin would be renewed at
        // once, into the same again, for ever (a clock an hour fast made thousands of portal
        // requests a minute): such credentials are held until they expire, not renewed.
        let left = expires_at.duration_since(now).unwrap_or_default();
        let may_renew = left > self.options.renew_before;
        if self.options.auto_renew
            && !may_renew
            && !self
                .clock_suspected
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(
                "credentials for {key} came with {} s left, less than the renewal margin: this machine's clock may be wrong; they will not be renewed automatically",
                left.as_secs()
            );
            let _ = self.events.send(VaultEvent::ClockSuspect {
                key: key.clone(),
                remaining: left,
            });
        }
        let timer = tokio::spawn(watch_expiry(
            Arc::downgrade(self),
            session.clone(),
            key.clone(),
            expires_at,
            may_renew,
        ));
        let held = creds.clone();
        let previous = lock(&self.entries).insert(key.clone(), Entry { creds, timer });
        if let Some(old) = previous {
            old.timer.abort();
        }
        let event = if renewed {
            VaultEvent::Renewed {
                key: key.clone(),
                expires_at,
            }
        } else {
            VaultEvent::Issued {
                key: key.clone(),
                expires_at,
            }
        };
        let _ = self.events.send(event);
        held
    }

    fn still_holds(&self, key: &RoleKey, expires_at: SystemTime) -> bool {
        lock(&self.entries)
            .get(key)
            .is_some_and(|e| e.creds.expiration == expires_at)
    }
}

/// The life of one entry: a warning or a renewal, and removal at expiry.
///
/// Credentials that will be renewed get no warning. Those that will not get at most one: the
/// first of the configured warnings still ahead when they were stored (none that is already
/// past, so short credentials are not warned of at once, again and again), or one when a
/// renewal fails. Expiry is said once, by [`VaultEvent::Expired`].
async fn watch_expiry(
    vault: Weak<Inner>,
    session: SsoSession,
    key: RoleKey,
    expires_at: SystemTime,
    may_renew: bool,
) {
    let Some(inner) = vault.upgrade() else { return };
    let clock = inner.clock.clone();
    let now = clock.now();
    let renew_at = (inner.options.auto_renew && may_renew)
        .then(|| expires_at.checked_sub(inner.options.renew_before))
        .flatten();
    let warning = if renew_at.is_some() {
        None
    } else {
        inner
            .options
            .warnings
            .iter()
            .filter_map(|w| expires_at.checked_sub(*w).map(|at| (at, *w)))
            .filter(|(at, _)| *at >= now)
            .min()
    };
    drop(inner);
    let warn = |inner: &Inner| {
        let remaining = expires_at.duration_since(clock.now()).unwrap_or_default();
        let _ = inner.events.send(VaultEvent::Warning {
            key: key.clone(),
            expires_at,
            remaining,
        });
    };
    if let Some((at, _)) = warning {
        clock.sleep_until(at).await;
        let Some(inner) = vault.upgrade() else { return };
        if !inner.still_holds(&key, expires_at) {
            return;
        }
        warn(&inner);
    }
    if let Some(renew_at) = renew_at {
        clock.sleep_until(renew_at).await;
        let Some(inner) = vault.upgrade() else { return };
        if !inner.still_holds(&key, expires_at) {
            return;
        }
        if inner.signin.status(&session).signed_in {
            let renewed = match &key.chain {
                None => inner.fetch_sso(&session, &key).await,
                Some(arn) => match inner.fetch_sso(&session, &key.base()).await {
                    Ok(base) => inner.assume(&session, &key, &base, arn).await,
                    Err(e) => Err(e),
                },
            };
            match renewed {
                Ok(creds) if inner.still_holds(&key, expires_at) => {
                    // `store` starts a new watcher for the new expiry; this one ends.
                    inner.store(&session, &key, creds, true);
                    return;
                }
                Ok(_) => return,
                Err(e) => {
                    tracing::info!("auto-renew of {key} failed, keeping it until expiry: {e}");
                    warn(&inner);
                }
            }
        } else {
            // Signed out: nothing will renew them now.
            warn(&inner);
        }
    }
    clock.sleep_until(expires_at).await;
    let Some(inner) = vault.upgrade() else { return };
    let removed = {
        let mut entries = lock(&inner.entries);
        match entries.get(&key) {
            Some(e) if e.creds.expiration == expires_at => entries.remove(&key),
            _ => None,
        }
    };
    if removed.is_some() {
        // Dropping the entry zeroizes the secret parts.
        drop(removed);
        let _ = inner.events.send(VaultEvent::Expired { key });
    }
}
