//! Signing in to IAM Identity Center and keeping the sign-in alive, one flow per file:
//!
//! - [`pkce`] (the default): a loopback listener on 127.0.0.1, the browser sent to
//!   `{oidc}/authorize`, only the callback with the sign-in's own `state` accepted, the code
//!   exchanged with its S256 verifier.
//! - [`device`] (RFC 8628): the user code handed to the caller as an event after the service's
//!   verification page was checked to be IAM Identity Center's; polling at `interval`,
//!   `slow_down` adding 5 s for good, stopping on `expired_token` and `access_denied`;
//!   cancellable.
//! - [`refresh`]: the refresh token shortly before the access token expires.
//! - [`registration`]: the client registration, reused until it nears its expiry.
//! - Here: one sign-in per session at a time ([`SingleFlight`]), sign-out (portal Logout,
//!   keychain item removed, memory wiped), and what is kept.
//!
//! The token and the registration are kept in memory and in the [`TokenStore`] (the OS
//! keychain), each tied to its session's start URL and region. When the keychain is
//! unavailable, sign-in still works in memory for this run and a
//! [`SignInEvent::KeychainUnavailable`] warning says so. This module never writes a file.

mod device;
mod pkce;
mod refresh;
mod registration;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, AwsConnector, ClientRegistration, TokenGrant};
use crate::clock::Clock;
use crate::secret::Secret;
use crate::session::SsoSession;
use crate::single_flight::SingleFlight;
use crate::sync::lock;
use crate::token_store::{StoreError, StoredLogin, TokenStore};

pub const SCOPE_ACCESS: &str = "sso:account:access";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// How to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignInMethod {
    /// Authorization code with PKCE through a loopback listener.
    #[default]
    Pkce,
    /// Device authorization: the person types a code on a page.
    DeviceCode,
}

/// What a sign-in tells the person along the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInEvent {
    /// Device flow: show `user_code` (large, copyable) and open `verification_uri`.
    DeviceCode {
        session: String,
        user_code: String,
        verification_uri: String,
        verification_uri_complete: Option<String>,
        expires_at: SystemTime,
    },
    /// Open this URL in the browser (PKCE authorize page).
    OpenBrowser {
        session: String,
        url: String,
        expires_at: SystemTime,
    },
    /// The keychain could not be used; the sign-in lives in memory for this run only.
    KeychainUnavailable {
        message: String,
    },
    SignedIn {
        session: String,
        expires_at: SystemTime,
    },
    SignedOut {
        session: String,
    },
    Failed {
        session: String,
        error: SignInError,
    },
}

/// Why a sign-in or a token request failed. Each has a stable [`SignInError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("the sign-in was denied in the browser")]
    Denied,
    #[error("the sign-in code expired before it was approved; start the sign-in again")]
    Expired,
    #[error("the sign-in was cancelled")]
    Cancelled,
    #[error("the browser did not come back within {0:?}; start the sign-in again")]
    TimedOut(Duration),
    #[error(
        "the sign-in answer did not match the request (state mismatch); start the sign-in again"
    )]
    StateMismatch,
    #[error(
        "session {0:?} is not signed in, or its sign-in has ended: sign in again (`rolecall login {0}` or the Rolecall app)"
    )]
    SignInRequired(String),
    #[error("no session named {0:?}")]
    UnknownSession(String),
    #[error("cannot reach IAM Identity Center: {0}. Check the network and the start URL's region")]
    Network(String),
    #[error("IAM Identity Center refused the request: {0}")]
    Refused(String),
    #[error("cannot listen for the browser's answer on 127.0.0.1: {0}")]
    Loopback(String),
    #[error("IAM Identity Center no longer knows Rolecall's client registration: {0}")]
    ClientRejected(String),
    #[error(
        "IAM Identity Center in {region} did not accept the start URL {start_url} ({message}); check the URL and the region"
    )]
    StartUrlRejected {
        start_url: String,
        region: String,
        message: String,
    },
}

impl SignInError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Denied => "sign_in_denied",
            Self::Expired => "sign_in_expired",
            Self::Cancelled => "sign_in_cancelled",
            Self::TimedOut(_) => "sign_in_timed_out",
            Self::StateMismatch => "sign_in_state_mismatch",
            Self::SignInRequired(_) => "sign_in_required",
            Self::UnknownSession(_) => "unknown_session",
            Self::Network(_) => "network",
            Self::Refused(_) => "refused",
            Self::Loopback(_) => "loopback",
            Self::ClientRejected(_) => "client_rejected",
            Self::StartUrlRejected { .. } => "start_url_rejected",
        }
    }

    fn from_api(session: &str, e: ApiError) -> Self {
        match e {
            ApiError::Network(m) | ApiError::Server(m) => Self::Network(m),
            ApiError::Throttled => Self::Network("throttled by the service".into()),
            ApiError::AccessDenied => Self::Denied,
            ApiError::Unauthorized(_) | ApiError::InvalidGrant(_) => {
                Self::SignInRequired(session.to_owned())
            }
            ApiError::InvalidClient(m) => Self::ClientRejected(m),
            other => Self::Refused(other.to_string()),
        }
    }
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct SignInOptions {
    pub client_name: String,
    /// Refresh when less than this is left on the access token.
    pub refresh_before: Duration,
    /// How long the PKCE listener waits for the browser.
    pub browser_timeout: Duration,
    /// A registration with less than this left is replaced at the next sign-in.
    pub registration_margin: Duration,
}

impl Default for SignInOptions {
    fn default() -> Self {
        Self {
            client_name: "Rolecall".into(),
            refresh_before: Duration::from_secs(5 * 60),
            browser_timeout: Duration::from_secs(10 * 60),
            registration_margin: Duration::from_secs(24 * 3600),
        }
    }
}

/// The state of one session's sign-in, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStatus {
    pub session: String,
    pub signed_in: bool,
    pub expires_at: Option<SystemTime>,
    pub refreshable: bool,
}

/// Signs sessions in and hands out valid access tokens.
#[derive(Debug)]
pub struct SignIn {
    connector: Arc<dyn AwsConnector>,
    store: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    options: SignInOptions,
    memory: Mutex<HashMap<String, StoredLogin>>,
    /// Sessions whose store was consulted already (load once per run).
    loaded: Mutex<std::collections::HashSet<String>>,
    /// One sign-in per session at a time; a second caller waits for it.
    flights: SingleFlight<String, Result<SystemTime, SignInError>>,
    refreshing: tokio::sync::Mutex<()>,
    events: broadcast::Sender<SignInEvent>,
    keychain_warned: std::sync::atomic::AtomicBool,
}

impl SignIn {
    pub fn new(
        connector: Arc<dyn AwsConnector>,
        store: Arc<dyn TokenStore>,
        clock: Arc<dyn Clock>,
        options: SignInOptions,
    ) -> Self {
        let (events, _) = broadcast::channel(64);
        Self {
            connector,
            store,
            clock,
            options,
            memory: Mutex::new(HashMap::new()),
            loaded: Mutex::new(Default::default()),
            flights: SingleFlight::default(),
            refreshing: tokio::sync::Mutex::new(()),
            events,
            keychain_warned: false.into(),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SignInEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: SignInEvent) {
        let _ = self.events.send(event);
    }

    fn store_failed(&self, e: &StoreError) {
        tracing::warn!("keychain: {e}");
        if !self
            .keychain_warned
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            self.emit(SignInEvent::KeychainUnavailable {
                message: format!(
                    "{e}. You stay signed in while Rolecall runs, but will sign in again next time."
                ),
            });
        }
    }

    /// The sign-in of `session`, from memory or (once per run) from the store.
    fn current(&self, session: &SsoSession) -> Option<StoredLogin> {
        {
            let mut memory = lock(&self.memory);
            match memory.get(&session.name) {
                Some(login) if login.is_for(session) => return Some(login.clone()),
                // The session's start URL or region changed: that sign-in is another
                // organisation's and is never used for this one.
                Some(_) => {
                    memory.remove(&session.name);
                    return None;
                }
                None => {}
            }
        }
        let first = lock(&self.loaded).insert(session.name.clone());
        if !first {
            return None;
        }
        match self.store.load(&session.name) {
            Ok(Some(login)) if login.is_for(session) => {
                lock(&self.memory).insert(session.name.clone(), login.clone());
                Some(login)
            }
            Ok(_) => None,
            Err(e) => {
                self.store_failed(&e);
                None
            }
        }
    }

    fn remember(&self, session: &str, login: StoredLogin) {
        if let Err(e) = self.store.save(session, &login) {
            self.store_failed(&e);
        }
        lock(&self.memory).insert(session.to_owned(), login);
    }

    pub fn status(&self, session: &SsoSession) -> LoginStatus {
        let now = self.clock.now();
        let login = self.current(session);
        let refreshable = login
            .as_ref()
            .is_some_and(|l| l.refresh_token.is_some() && l.registration.expires_at > now);
        let valid = login.as_ref().is_some_and(|l| l.expires_at > now);
        LoginStatus {
            session: session.name.clone(),
            signed_in: valid || refreshable,
            expires_at: login.map(|l| l.expires_at),
            refreshable,
        }
    }

    /// Cancels a sign-in under way.
    pub fn cancel(&self, session: &str) {
        self.flights.cancel(&session.to_owned());
    }

    /// Signs `session` in. If a sign-in for it is already under way, waits for that one.
    pub async fn sign_in(
        &self,
        session: &SsoSession,
        method: SignInMethod,
    ) -> Result<SystemTime, SignInError> {
        self.flights
            .run(&session.name, |cancel| async move {
                let result = self.run_sign_in(session, method, &cancel).await;
                match &result {
                    Ok(expires_at) => self.emit(SignInEvent::SignedIn {
                        session: session.name.clone(),
                        expires_at: *expires_at,
                    }),
                    Err(error) => self.emit(SignInEvent::Failed {
                        session: session.name.clone(),
                        error: error.clone(),
                    }),
                }
                result
            })
            .await
            .unwrap_or(Err(SignInError::Cancelled))
    }

    async fn run_sign_in(
        &self,
        session: &SsoSession,
        method: SignInMethod,
        cancel: &CancellationToken,
    ) -> Result<SystemTime, SignInError> {
        let previous = self.current(session);
        let registration = self
            .registration(session, method, previous.as_ref())
            .await?;
        let grant = match method {
            SignInMethod::DeviceCode => self.device_flow(session, &registration, cancel).await,
            SignInMethod::Pkce => self.pkce_flow(session, &registration, cancel).await,
        };
        let grant = match grant {
            Err(SignInError::ClientRejected(_)) => {
                // The service forgot our registration: register again, once.
                let fresh = self.register(session, method).await?;
                return Box::pin(self.finish_with(session, method, fresh, cancel)).await;
            }
            other => other?,
        };
        Ok(self.store_grant(session, registration, grant))
    }

    async fn finish_with(
        &self,
        session: &SsoSession,
        method: SignInMethod,
        registration: ClientRegistration,
        cancel: &CancellationToken,
    ) -> Result<SystemTime, SignInError> {
        let grant = match method {
            SignInMethod::DeviceCode => self.device_flow(session, &registration, cancel).await?,
            SignInMethod::Pkce => self.pkce_flow(session, &registration, cancel).await?,
        };
        Ok(self.store_grant(session, registration, grant))
    }

    fn store_grant(
        &self,
        session: &SsoSession,
        registration: ClientRegistration,
        grant: TokenGrant,
    ) -> SystemTime {
        let expires_at = self.clock.now() + grant.expires_in;
        self.remember(
            &session.name,
            StoredLogin {
                start_url: session.start_url.clone(),
                region: session.region.to_string(),
                registration,
                access_token: grant.access_token,
                expires_at,
                refresh_token: grant.refresh_token,
            },
        );
        expires_at
    }

    /// Drops the sign-in of `session` from memory (not from the keychain, whose item names
    /// its start URL and is not used for another one).
    pub fn forget_memory(&self, session: &str) {
        lock(&self.memory).remove(session);
        self.cancel(session);
    }

    fn forget(&self, session: &str) {
        lock(&self.memory).remove(session);
        if let Err(e) = self.store.delete(session) {
            self.store_failed(&e);
        }
    }

    /// Portal Logout (best effort), keychain item removed, memory wiped.
    pub async fn sign_out(&self, session: &SsoSession) {
        self.cancel(&session.name);
        if let Some(login) = self.current(session)
            && login.expires_at > self.clock.now()
            && let Err(e) = self
                .connector
                .portal(session)
                .logout(&login.access_token)
                .await
        {
            tracing::info!("portal logout for {}: {e}", session.name);
        }
        self.forget(&session.name);
        self.emit(SignInEvent::SignedOut {
            session: session.name.clone(),
        });
    }
}

fn random_token(bytes: usize) -> Secret {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(buf.as_mut_slice());
    Secret::new(URL_SAFE_NO_PAD.encode(buf))
}

#[cfg(test)]
mod fakes;

#[cfg(test)]
mod tests {
    use super::fakes::*;
    use super::*;
    use crate::clock::FakeClock;

    #[derive(Debug)]
    struct NoKeychain;
    impl TokenStore for NoKeychain {
        fn load(&self, _: &str) -> Result<Option<StoredLogin>, StoreError> {
            Err(StoreError::Unavailable(
                "no keychain service answered".into(),
            ))
        }
        fn save(&self, _: &str, _: &StoredLogin) -> Result<(), StoreError> {
            Err(StoreError::Unavailable(
                "no keychain service answered".into(),
            ))
        }
        fn delete(&self, _: &str) -> Result<(), StoreError> {
            Err(StoreError::Unavailable(
                "no keychain service answered".into(),
            ))
        }
    }

    #[tokio::test]
    async fn without_a_keychain_sign_in_works_in_memory_with_one_warning() {
        let clock = FakeClock::at_2030();
        let oidc = ScriptedOidc::new(&clock, vec![Ok(grant())]);
        let signin = Arc::new(SignIn::new(
            Arc::new(Fakes(oidc)),
            Arc::new(NoKeychain),
            Arc::new(clock.clone()),
            SignInOptions::default(),
        ));
        let mut events = signin.subscribe();
        let s = signin.clone();
        let task =
            tokio::spawn(async move { s.sign_in(&session(), SignInMethod::DeviceCode).await });
        run_on_fake_clock(&clock, task)
            .await
            .expect("signed in anyway");
        assert_eq!(
            signin
                .access_token(&session())
                .await
                .expect("in memory")
                .expose(),
            "at"
        );
        let mut warnings = Vec::new();
        while let Ok(e) = events.try_recv() {
            if let SignInEvent::KeychainUnavailable { message } = e {
                warnings.push(message);
            }
        }
        assert_eq!(warnings.len(), 1, "warned once, not at every use");
        assert!(
            warnings[0].contains("sign in again next time"),
            "{}",
            warnings[0]
        );
    }
}
