//! Signing in to IAM Identity Center and keeping the sign-in alive.
//!
//! - **PKCE** (the default): a loopback listener on 127.0.0.1, the browser sent to
//!   `{oidc}/authorize`, `state` checked, the code exchanged with its S256 verifier.
//! - **Device code** (RFC 8628): the user code handed to the caller as an event; polling at
//!   `interval`, `slow_down` adding 5 s for good, stopping on `expired_token` and
//!   `access_denied`; cancellable.
//! - A second caller for a session whose sign-in is under way waits for that one.
//! - **Refresh** with the refresh token shortly before the access token expires; the client
//!   registration is reused until it expires.
//! - **Sign out**: portal Logout, keychain item removed, memory wiped.
//!
//! The token and the registration are kept in memory and in the [`TokenStore`] (the OS
//! keychain). When the keychain is unavailable, sign-in still works in memory for this run and a
//! [`SignInEvent::KeychainUnavailable`] warning says so. This module never writes a file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, AwsConnector, ClientRegistration, Grant, RegisterRequest, TokenGrant};
use crate::clock::Clock;
use crate::loopback::LoopbackListener;
use crate::secret::Secret;
use crate::session::SsoSession;
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

type Outcome = Option<Result<SystemTime, SignInError>>;

#[derive(Debug)]
struct InFlight {
    done: watch::Receiver<Outcome>,
    cancel: CancellationToken,
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
    in_flight: Mutex<HashMap<String, InFlight>>,
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
            in_flight: Mutex::new(HashMap::new()),
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
        if let Some(f) = lock(&self.in_flight).get(session) {
            f.cancel.cancel();
        }
    }

    /// Signs `session` in. If a sign-in for it is already under way, waits for that one.
    pub async fn sign_in(
        &self,
        session: &SsoSession,
        method: SignInMethod,
    ) -> Result<SystemTime, SignInError> {
        let (mut rx, leader) = {
            let mut flights = lock(&self.in_flight);
            match flights.get(&session.name) {
                Some(f) if f.done.borrow().is_none() => (f.done.clone(), None),
                _ => {
                    let (tx, rx) = watch::channel(None);
                    let cancel = CancellationToken::new();
                    flights.insert(
                        session.name.clone(),
                        InFlight {
                            done: rx.clone(),
                            cancel: cancel.clone(),
                        },
                    );
                    (rx, Some((tx, cancel)))
                }
            }
        };
        if let Some((tx, cancel)) = leader {
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
            tx.send_replace(Some(result.clone()));
            lock(&self.in_flight).remove(&session.name);
            return result;
        }
        loop {
            if let Some(result) = rx.borrow_and_update().clone() {
                return result;
            }
            if rx.changed().await.is_err() {
                return Err(SignInError::Cancelled);
            }
        }
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

    /// Reuses the previous registration when it fits the method and has time left.
    async fn registration(
        &self,
        session: &SsoSession,
        method: SignInMethod,
        previous: Option<&StoredLogin>,
    ) -> Result<ClientRegistration, SignInError> {
        if let Some(prev) = previous {
            let fits = prev.registration.redirect_uri.is_some() == (method == SignInMethod::Pkce);
            let fresh =
                prev.registration.expires_at > self.clock.now() + self.options.registration_margin;
            if fits && fresh {
                return Ok(prev.registration.clone());
            }
        }
        self.register(session, method).await
    }

    async fn register(
        &self,
        session: &SsoSession,
        method: SignInMethod,
    ) -> Result<ClientRegistration, SignInError> {
        let request = match method {
            SignInMethod::DeviceCode => RegisterRequest {
                client_name: self.options.client_name.clone(),
                scopes: vec![SCOPE_ACCESS.into()],
                grant_types: vec![DEVICE_GRANT.into(), "refresh_token".into()],
                redirect_uris: vec![],
                issuer_url: None,
            },
            SignInMethod::Pkce => RegisterRequest {
                client_name: self.options.client_name.clone(),
                scopes: vec![SCOPE_ACCESS.into()],
                grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                redirect_uris: vec!["http://127.0.0.1/oauth/callback".into()],
                issuer_url: Some(session.start_url.clone()),
            },
        };
        self.connector
            .oidc(session)
            .register_client(&request)
            .await
            .map_err(|e| SignInError::from_api(&session.name, e))
    }

    async fn device_flow(
        &self,
        session: &SsoSession,
        registration: &ClientRegistration,
        cancel: &CancellationToken,
    ) -> Result<TokenGrant, SignInError> {
        let oidc = self.connector.oidc(session);
        let auth = oidc
            .start_device_authorization(registration, &session.start_url)
            .await
            .map_err(|e| match e {
                ApiError::InvalidRequest(message) => SignInError::StartUrlRejected {
                    start_url: session.start_url.clone(),
                    region: session.region.to_string(),
                    message,
                },
                e => SignInError::from_api(&session.name, e),
            })?;
        let deadline = self.clock.now() + auth.expires_in;
        self.emit(SignInEvent::DeviceCode {
            session: session.name.clone(),
            user_code: auth.user_code.clone(),
            verification_uri: auth.verification_uri.clone(),
            verification_uri_complete: auth.verification_uri_complete.clone(),
            expires_at: deadline,
        });
        let mut interval = auth.interval.max(Duration::from_secs(1));
        let grant = Grant::DeviceCode(auth.device_code.clone());
        let mut network_failures = 0;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Err(SignInError::Cancelled),
                _ = self.clock.sleep(interval) => {}
            }
            if self.clock.now() >= deadline {
                return Err(SignInError::Expired);
            }
            match oidc.create_token(registration, &grant).await {
                Ok(token) => return Ok(token),
                Err(ApiError::AuthorizationPending) => network_failures = 0,
                Err(ApiError::SlowDown) => interval += Duration::from_secs(5),
                Err(ApiError::Expired(_)) => return Err(SignInError::Expired),
                Err(ApiError::AccessDenied) => return Err(SignInError::Denied),
                Err(e) if e.is_transient() => {
                    network_failures += 1;
                    tracing::warn!("device sign-in poll failed ({network_failures}): {e}");
                    if network_failures >= 5 {
                        return Err(SignInError::from_api(&session.name, e));
                    }
                }
                Err(e) => return Err(SignInError::from_api(&session.name, e)),
            }
        }
    }

    async fn pkce_flow(
        &self,
        session: &SsoSession,
        registration: &ClientRegistration,
        cancel: &CancellationToken,
    ) -> Result<TokenGrant, SignInError> {
        let listener = LoopbackListener::bind()
            .await
            .map_err(|e| SignInError::Loopback(e.to_string()))?;
        let redirect_uri = listener.redirect_uri();
        let verifier = random_token(48);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()));
        let state = random_token(24);
        let mut url = url::Url::parse(&format!(
            "{}/authorize",
            session.oidc_url().trim_end_matches('/')
        ))
        .map_err(|e| SignInError::Refused(format!("the OIDC endpoint is not a URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &registration.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("state", state.expose())
            .append_pair("code_challenge_method", "S256")
            .append_pair("scopes", SCOPE_ACCESS)
            .append_pair("code_challenge", &challenge);
        let timeout = self.options.browser_timeout;
        self.emit(SignInEvent::OpenBrowser {
            session: session.name.clone(),
            url: url.to_string(),
            expires_at: self.clock.now() + timeout,
        });
        let callback = tokio::select! {
            _ = cancel.cancelled() => return Err(SignInError::Cancelled),
            _ = self.clock.sleep(timeout) => return Err(SignInError::TimedOut(timeout)),
            got = listener.wait() => got.ok_or(SignInError::Cancelled)?,
        };
        let param = |k: &str| callback.params.get(k).map(String::as_str);
        if param("state") != Some(state.expose()) {
            return Err(SignInError::StateMismatch);
        }
        if let Some(error) = param("error") {
            return Err(if error == "access_denied" {
                SignInError::Denied
            } else {
                SignInError::Refused(error.to_owned())
            });
        }
        let code = param("code")
            .ok_or_else(|| SignInError::Refused("the browser came back without a code".into()))?;
        self.connector
            .oidc(session)
            .create_token(
                registration,
                &Grant::AuthorizationCode {
                    code: Secret::new(code),
                    redirect_uri,
                    code_verifier: verifier,
                },
            )
            .await
            .map_err(|e| SignInError::from_api(&session.name, e))
    }

    /// A valid access token for `session`, refreshed first when it is close to expiry.
    pub async fn access_token(&self, session: &SsoSession) -> Result<Secret, SignInError> {
        let login = self
            .current(session)
            .ok_or_else(|| SignInError::SignInRequired(session.name.clone()))?;
        let now = self.clock.now();
        if login.expires_at > now + self.options.refresh_before {
            return Ok(login.access_token);
        }
        let _one_refresh_at_a_time = self.refreshing.lock().await;
        // Someone else may have refreshed while we waited.
        let login = self
            .current(session)
            .ok_or_else(|| SignInError::SignInRequired(session.name.clone()))?;
        let now = self.clock.now();
        if login.expires_at > now + self.options.refresh_before {
            return Ok(login.access_token);
        }
        let still_valid = login.expires_at > now;
        let (Some(refresh), true) = (
            login.refresh_token.clone(),
            login.registration.expires_at > now,
        ) else {
            return if still_valid {
                Ok(login.access_token)
            } else {
                Err(SignInError::SignInRequired(session.name.clone()))
            };
        };
        match self
            .connector
            .oidc(session)
            .create_token(&login.registration, &Grant::RefreshToken(refresh.clone()))
            .await
        {
            Ok(grant) => {
                let expires_at = now + grant.expires_in;
                let token = grant.access_token.clone();
                self.remember(
                    &session.name,
                    StoredLogin {
                        access_token: grant.access_token,
                        expires_at,
                        refresh_token: grant.refresh_token.or(Some(refresh)),
                        ..login
                    },
                );
                Ok(token)
            }
            Err(e) if e.is_transient() && still_valid => {
                tracing::warn!("token refresh failed, using the current token: {e}");
                Ok(login.access_token)
            }
            Err(e) if e.is_transient() => Err(SignInError::from_api(&session.name, e)),
            Err(e) => {
                tracing::info!(
                    "refresh refused ({e}); session {} must sign in again",
                    session.name
                );
                self.forget(&session.name);
                Err(SignInError::SignInRequired(session.name.clone()))
            }
        }
    }

    /// The portal refused the token (401): drop the access token so the next request refreshes,
    /// and if there is nothing to refresh with, the session must sign in again.
    pub fn token_rejected(&self, session: &SsoSession) {
        let mut memory = lock(&self.memory);
        if let Some(login) = memory.get_mut(&session.name) {
            login.expires_at = SystemTime::UNIX_EPOCH;
        }
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
mod tests {
    use super::*;
    use crate::api::{
        AccountInfo, CallerIdentity, DeviceAuthorization, FederationApi, OidcApi, Page, PortalApi,
        RoleCredentials, StsApi,
    };
    use crate::clock::FakeClock;
    use crate::token_store::MemoryStore;
    use async_trait::async_trait;

    /// A fake SSO OIDC that answers polls from a script and records when each came.
    #[derive(Debug)]
    struct ScriptedOidc {
        clock: FakeClock,
        answers: Mutex<Vec<Result<TokenGrant, ApiError>>>,
        polls: Mutex<Vec<SystemTime>>,
    }

    #[async_trait]
    impl OidcApi for ScriptedOidc {
        async fn register_client(
            &self,
            _: &RegisterRequest,
        ) -> Result<ClientRegistration, ApiError> {
            Ok(ClientRegistration {
                client_id: "cid".into(),
                client_secret: Secret::new("cs"),
                expires_at: self.clock.now() + Duration::from_secs(90 * 86_400),
                redirect_uri: None,
            })
        }
        async fn start_device_authorization(
            &self,
            _: &ClientRegistration,
            _: &str,
        ) -> Result<crate::api::DeviceAuthorization, ApiError> {
            Ok(DeviceAuthorization {
                device_code: Secret::new("dc"),
                user_code: "ABCD-EFGH".into(),
                verification_uri: "https://device.example/".into(),
                verification_uri_complete: None,
                expires_in: Duration::from_secs(600),
                interval: Duration::from_secs(5),
            })
        }
        async fn create_token(
            &self,
            _: &ClientRegistration,
            _: &Grant,
        ) -> Result<TokenGrant, ApiError> {
            lock(&self.polls).push(self.clock.now());
            let mut answers = lock(&self.answers);
            if answers.is_empty() {
                Err(ApiError::AuthorizationPending)
            } else {
                answers.remove(0)
            }
        }
    }

    #[derive(Debug)]
    struct Unused;
    #[async_trait]
    impl PortalApi for Unused {
        async fn list_accounts(
            &self,
            _: &Secret,
            _: Option<&str>,
            _: u32,
        ) -> Result<Page<AccountInfo>, ApiError> {
            unreachable!()
        }
        async fn list_account_roles(
            &self,
            _: &Secret,
            _: &str,
            _: Option<&str>,
            _: u32,
        ) -> Result<Page<String>, ApiError> {
            unreachable!()
        }
        async fn get_role_credentials(
            &self,
            _: &Secret,
            _: &str,
            _: &str,
        ) -> Result<RoleCredentials, ApiError> {
            unreachable!()
        }
        async fn logout(&self, _: &Secret) -> Result<(), ApiError> {
            Ok(())
        }
    }
    #[async_trait]
    impl StsApi for Unused {
        async fn get_caller_identity(
            &self,
            _: &RoleCredentials,
        ) -> Result<CallerIdentity, ApiError> {
            unreachable!()
        }
        async fn assume_role(
            &self,
            _: &RoleCredentials,
            _: &str,
            _: &str,
            _: Duration,
        ) -> Result<RoleCredentials, ApiError> {
            unreachable!()
        }
    }
    #[async_trait]
    impl FederationApi for Unused {
        async fn get_signin_token(
            &self,
            _: &url::Url,
            _: &RoleCredentials,
            _: Option<Duration>,
        ) -> Result<Secret, ApiError> {
            unreachable!()
        }
    }

    #[derive(Debug)]
    struct Fakes(Arc<ScriptedOidc>);
    impl AwsConnector for Fakes {
        fn oidc(&self, _: &SsoSession) -> Arc<dyn OidcApi> {
            self.0.clone()
        }
        fn portal(&self, _: &SsoSession) -> Arc<dyn PortalApi> {
            Arc::new(Unused)
        }
        fn sts(&self, _: &SsoSession) -> Arc<dyn StsApi> {
            Arc::new(Unused)
        }
        fn federation(&self) -> Arc<dyn FederationApi> {
            Arc::new(Unused)
        }
    }

    fn session() -> SsoSession {
        SsoSession {
            name: "corp".into(),
            start_url: "https://d-1.awsapps.com/start".into(),
            region: "eu-west-1".parse().expect("region"),
            endpoints: Default::default(),
        }
    }

    /// Drives the fake clock forward a second at a time until `task` ends.
    async fn run_on_fake_clock<T: Send + 'static>(
        clock: &FakeClock,
        task: tokio::task::JoinHandle<T>,
    ) -> T {
        for _ in 0..2000 {
            if task.is_finished() {
                break;
            }
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            clock.advance(Duration::from_secs(1));
        }
        task.await.expect("joined")
    }

    fn rig(
        answers: Vec<Result<TokenGrant, ApiError>>,
    ) -> (FakeClock, Arc<ScriptedOidc>, Arc<SignIn>) {
        let clock = FakeClock::at_2030();
        let oidc = Arc::new(ScriptedOidc {
            clock: clock.clone(),
            answers: Mutex::new(answers),
            polls: Mutex::new(vec![]),
        });
        let signin = Arc::new(SignIn::new(
            Arc::new(Fakes(oidc.clone())),
            Arc::new(MemoryStore::default()),
            Arc::new(clock.clone()),
            SignInOptions::default(),
        ));
        (clock, oidc, signin)
    }

    fn grant() -> TokenGrant {
        TokenGrant {
            access_token: Secret::new("at"),
            expires_in: Duration::from_secs(3600),
            refresh_token: Some(Secret::new("rt")),
        }
    }

    #[tokio::test]
    async fn slow_down_adds_five_seconds_for_good() {
        let (clock, oidc, signin) = rig(vec![
            Err(ApiError::AuthorizationPending),
            Err(ApiError::SlowDown),
            Err(ApiError::AuthorizationPending),
            Err(ApiError::AuthorizationPending),
            Ok(grant()),
        ]);
        let start = clock.now();
        let s = signin.clone();
        let task =
            tokio::spawn(async move { s.sign_in(&session(), SignInMethod::DeviceCode).await });
        let expires = run_on_fake_clock(&clock, task).await.expect("signed in");
        let offsets: Vec<u64> = lock(&oidc.polls)
            .iter()
            .map(|t| t.duration_since(start).expect("after").as_secs())
            .collect();
        // Polls at the 5 s interval, then every 10 s after the slow_down.
        assert_eq!(offsets, [5, 10, 20, 30, 40]);
        assert_eq!(expires, start + Duration::from_secs(40 + 3600));
        assert!(signin.status(&session()).signed_in);
    }

    #[tokio::test]
    async fn expiry_and_denial_end_the_polling() {
        let (clock, oidc, signin) = rig(vec![]);
        let s = signin.clone();
        let task =
            tokio::spawn(async move { s.sign_in(&session(), SignInMethod::DeviceCode).await });
        assert_eq!(
            run_on_fake_clock(&clock, task).await,
            Err(SignInError::Expired)
        );
        assert_eq!(
            lock(&oidc.polls).len(),
            119,
            "polled every 5 s until the 600 s code expired"
        );

        let (clock, _, signin) = rig(vec![Err(ApiError::AccessDenied)]);
        let task =
            tokio::spawn(async move { signin.sign_in(&session(), SignInMethod::DeviceCode).await });
        assert_eq!(
            run_on_fake_clock(&clock, task).await,
            Err(SignInError::Denied)
        );
    }

    #[tokio::test]
    async fn transient_errors_are_retried_a_bounded_number_of_times() {
        let network = || Err(ApiError::Network("connection refused".into()));
        let (clock, oidc, signin) =
            rig(vec![network(), network(), network(), network(), network()]);
        let task =
            tokio::spawn(async move { signin.sign_in(&session(), SignInMethod::DeviceCode).await });
        let err = run_on_fake_clock(&clock, task).await.expect_err("gives up");
        assert_eq!(err.code(), "network");
        assert_eq!(lock(&oidc.polls).len(), 5);
    }

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
        let oidc = Arc::new(ScriptedOidc {
            clock: clock.clone(),
            answers: Mutex::new(vec![Ok(grant())]),
            polls: Mutex::new(vec![]),
        });
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
