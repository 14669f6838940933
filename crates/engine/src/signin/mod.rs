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
    /// The sign-in ends soon (the session's duration is nearly over): sign in again before
    /// `ends_at`, and the new sign-in takes over with no gap. Said once per sign-in.
    EndingSoon {
        session: String,
        ends_at: SystemTime,
    },
    /// The sign-in has ended (the service refused to refresh it): sign in again.
    Ended {
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
    /// When the person must sign in again: the sign-in time plus the session's duration for a
    /// refreshable sign-in, the token's end for one that cannot be refreshed.
    pub session_ends_at: Option<SystemTime>,
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
    /// Told when a sign-in is kept or dropped, so the watch of endings looks again.
    logins_changed: tokio::sync::Notify,
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
            logins_changed: tokio::sync::Notify::new(),
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
        self.logins_changed.notify_one();
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
            session_ends_at: login.as_ref().and_then(|l| ends_at(session, l)),
            expires_at: login.map(|l| l.expires_at),
            refreshable,
        }
    }

    /// Says [`SignInEvent::EndingSoon`] once per sign-in, `lead` before it ends (a quarter of
    /// the session for sessions shorter than four leads). `watched` gives the sessions and the
    /// lead as configured now; it is asked again whenever a sign-in is kept or dropped, and at
    /// least every minute. Runs until the task holding it is dropped.
    pub async fn warn_before_endings(
        self: std::sync::Arc<Self>,
        watched: impl Fn() -> (Vec<SsoSession>, Duration) + Send,
    ) {
        let mut warned: HashMap<String, SystemTime> = HashMap::new();
        loop {
            let (sessions, lead) = watched();
            let now = self.clock.now();
            let mut next = now + Duration::from_secs(60);
            for session in &sessions {
                let status = self.status(session);
                let Some(end) = status.session_ends_at.filter(|_| status.signed_in) else {
                    continue;
                };
                let warn_at = end.checked_sub(session.ending_lead(lead)).unwrap_or(end);
                if now < warn_at {
                    next = next.min(warn_at);
                } else if now < end && warned.get(&session.name) != Some(&end) {
                    warned.insert(session.name.clone(), end);
                    self.emit(SignInEvent::EndingSoon {
                        session: session.name.clone(),
                        ends_at: end,
                    });
                }
            }
            tokio::select! {
                () = self.clock.sleep_until(next) => {}
                () = self.logins_changed.notified() => {}
            }
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
                signed_in_at: Some(self.clock.now()),
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
        self.logins_changed.notify_one();
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

/// When `login` of `session` ends: see [`LoginStatus::session_ends_at`].
fn ends_at(session: &SsoSession, login: &StoredLogin) -> Option<SystemTime> {
    if login.refresh_token.is_none() {
        return Some(login.expires_at);
    }
    let end = login.signed_in_at? + session.session_duration();
    Some(end.min(login.registration.expires_at.max(login.expires_at)))
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

    fn token(name: &str, lifetime: Duration) -> TokenGrant {
        TokenGrant {
            access_token: Secret::new(name),
            expires_in: lifetime,
            refresh_token: Some(Secret::new(format!("refresh-{name}"))),
        }
    }

    async fn signed_in(signin: &Arc<SignIn>, clock: &FakeClock, session: &SsoSession) {
        let (s, session) = (signin.clone(), session.clone());
        let task = tokio::spawn(async move { s.sign_in(&session, SignInMethod::DeviceCode).await });
        run_on_fake_clock(clock, task).await.expect("signed in");
    }

    fn events_of(events: &mut broadcast::Receiver<SignInEvent>) -> Vec<SignInEvent> {
        std::iter::from_fn(|| events.try_recv().ok()).collect()
    }

    #[tokio::test]
    async fn a_sign_in_says_once_before_it_ends_that_it_is_ending() {
        let (clock, _oidc, signin) = rig(vec![Ok(grant())]);
        let session = SsoSession {
            session_duration_seconds: Some(3600),
            ..session()
        };
        signed_in(&signin, &clock, &session).await;
        // The fake clock may have moved on a second since the sign-in was kept.
        let ends_at = signin.status(&session).session_ends_at.expect("ends");
        let after = ends_at.duration_since(clock.now()).expect("ahead");
        assert!(after <= Duration::from_secs(3600) && after >= Duration::from_secs(3598));
        let mut events = signin.subscribe();
        let watched = session.clone();
        let watch = tokio::spawn(
            signin
                .clone()
                .warn_before_endings(move || (vec![watched.clone()], Duration::from_secs(600))),
        );
        let settle = || async {
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
        };
        settle().await;
        clock.set(ends_at - Duration::from_secs(601));
        settle().await;
        assert_eq!(events_of(&mut events), vec![], "too early to warn");
        clock.set(ends_at - Duration::from_secs(599));
        settle().await;
        assert_eq!(
            events_of(&mut events),
            vec![SignInEvent::EndingSoon {
                session: "corp".into(),
                ends_at
            }]
        );
        clock.set(ends_at - Duration::from_secs(30));
        settle().await;
        assert_eq!(events_of(&mut events), vec![], "said once per sign-in");
        watch.abort();
    }

    #[tokio::test]
    async fn a_short_session_is_warned_a_quarter_before_its_end() {
        let s = SsoSession {
            session_duration_seconds: Some(40),
            ..session()
        };
        assert_eq!(
            s.ending_lead(Duration::from_secs(900)),
            Duration::from_secs(10)
        );
        assert_eq!(
            session().ending_lead(Duration::from_secs(900)),
            Duration::from_secs(900)
        );
    }

    #[tokio::test]
    async fn a_refused_refresh_says_the_sign_in_ended() {
        let (clock, oidc, signin) = rig(vec![Ok(token("old", Duration::from_secs(60)))]);
        signed_in(&signin, &clock, &session()).await;
        let mut events = signin.subscribe();
        lock(&oidc.answers).push(Err(ApiError::InvalidGrant("the session has ended".into())));
        assert!(matches!(
            signin.access_token(&session()).await,
            Err(SignInError::SignInRequired(_))
        ));
        assert!(matches!(
            signin.access_token(&session()).await,
            Err(SignInError::SignInRequired(_))
        ));
        assert_eq!(
            events_of(&mut events),
            vec![SignInEvent::Ended {
                session: "corp".into()
            }],
            "said once"
        );
    }

    #[tokio::test]
    async fn a_new_sign_in_takes_over_from_a_refresh_refused_on_its_way() {
        let (clock, oidc, signin) = rig(vec![Ok(token("old", Duration::from_secs(60)))]);
        signed_in(&signin, &clock, &session()).await;
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        *lock(&oidc.refresh_gate) = Some(gate.clone());
        // The device poll is answered first (the new sign-in), the held refresh last.
        lock(&oidc.answers).extend([
            Ok(token("new", Duration::from_secs(3600))),
            Err(ApiError::InvalidGrant("the session has ended".into())),
        ]);
        let mut events = signin.subscribe();
        let polls = lock(&oidc.polls).len();
        let s = signin.clone();
        let refresh = tokio::spawn(async move { s.access_token(&session()).await });
        while lock(&oidc.polls).len() == polls {
            tokio::task::yield_now().await;
        }
        signed_in(&signin, &clock, &session()).await;
        gate.add_permits(1);
        let got = refresh
            .await
            .expect("joined")
            .expect("the new sign-in's token");
        assert_eq!(got.expose(), "new");
        assert_eq!(
            signin
                .access_token(&session())
                .await
                .expect("kept")
                .expose(),
            "new"
        );
        assert!(
            !events_of(&mut events)
                .iter()
                .any(|e| matches!(e, SignInEvent::Ended { .. })),
            "the sign-in did not end"
        );
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
