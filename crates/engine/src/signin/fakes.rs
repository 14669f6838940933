//! Fakes for the sign-in flows' unit tests: a scripted SSO OIDC on a fake clock.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::*;
use crate::api::{
    AccountInfo, CallerIdentity, DeviceAuthorization, FederationApi, Grant, OidcApi, Page,
    PortalApi, RegisterRequest, RoleCredentials, StsApi,
};
use crate::clock::FakeClock;
use crate::token_store::MemoryStore;
use async_trait::async_trait;

/// A fake SSO OIDC that answers polls from a script and records when each came.
#[derive(Debug)]
pub(super) struct ScriptedOidc {
    pub(super) clock: FakeClock,
    pub(super) page: Mutex<String>,
    pub(super) answers: Mutex<Vec<Result<TokenGrant, ApiError>>>,
    pub(super) polls: Mutex<Vec<SystemTime>>,
    /// The device authorization's lifetime and polling interval, as the service states them.
    pub(super) device_timing: Mutex<(Duration, Duration)>,
    /// When set, a refresh waits for this before it is answered (a refresh on its way while
    /// something else happens).
    pub(super) refresh_gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
}

#[async_trait]
impl OidcApi for ScriptedOidc {
    async fn register_client(&self, _: &RegisterRequest) -> Result<ClientRegistration, ApiError> {
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
        let (expires_in, interval) = *lock(&self.device_timing);
        Ok(DeviceAuthorization {
            device_code: Secret::new("dc"),
            user_code: "ABCD-EFGH".into(),
            verification_uri: lock(&self.page).clone(),
            verification_uri_complete: None,
            expires_in,
            interval,
        })
    }
    async fn create_token(
        &self,
        _: &ClientRegistration,
        grant: &Grant,
    ) -> Result<TokenGrant, ApiError> {
        lock(&self.polls).push(self.clock.now());
        let gate = lock(&self.refresh_gate).clone();
        if let (Grant::RefreshToken(_), Some(gate)) = (grant, gate) {
            let _open = gate.acquire().await;
        }
        let mut answers = lock(&self.answers);
        if answers.is_empty() {
            Err(ApiError::AuthorizationPending)
        } else {
            answers.remove(0)
        }
    }
}

#[derive(Debug)]
pub(super) struct Unused;
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
    async fn get_caller_identity(&self, _: &RoleCredentials) -> Result<CallerIdentity, ApiError> {
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
pub(super) struct Fakes(pub(super) Arc<ScriptedOidc>);
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

pub(super) fn session() -> SsoSession {
    SsoSession {
        name: "corp".into(),
        start_url: "https://d-1.awsapps.com/start".into(),
        region: "eu-west-1".parse().expect("region"),
        endpoints: Default::default(),
        session_duration_seconds: None,
        use_fips_endpoint: None,
        use_dualstack_endpoint: None,
    }
}

/// Drives the fake clock forward a second at a time until `task` ends; a task still running
/// after 2,000 s of fake time fails the test (it would otherwise wait for ever).
pub(super) async fn run_on_fake_clock<T: Send + 'static>(
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
    if !task.is_finished() {
        task.abort();
        panic!("still running after 2,000 s of fake time");
    }
    task.await.expect("joined")
}

impl ScriptedOidc {
    /// A service on `clock` that answers polls with `answers`, then "pending"; its device codes
    /// are AWS's (10 minutes, polled every 5 s) until a test sets `device_timing`.
    pub(super) fn new(clock: &FakeClock, answers: Vec<Result<TokenGrant, ApiError>>) -> Arc<Self> {
        Arc::new(Self {
            clock: clock.clone(),
            page: Mutex::new("https://device.sso.eu-west-1.amazonaws.com/".into()),
            answers: Mutex::new(answers),
            polls: Mutex::new(vec![]),
            device_timing: Mutex::new((Duration::from_secs(600), Duration::from_secs(5))),
            refresh_gate: Mutex::new(None),
        })
    }
}

pub(super) fn rig(
    answers: Vec<Result<TokenGrant, ApiError>>,
) -> (FakeClock, Arc<ScriptedOidc>, Arc<SignIn>) {
    let clock = FakeClock::at_2030();
    let oidc = ScriptedOidc::new(&clock, answers);
    let signin = Arc::new(SignIn::new(
        Arc::new(Fakes(oidc.clone())),
        Arc::new(MemoryStore::default()),
        Arc::new(clock.clone()),
        SignInOptions::default(),
    ));
    (clock, oidc, signin)
}

pub(super) fn grant() -> TokenGrant {
    TokenGrant {
        access_token: Secret::new("at"),
        expires_in: Duration::from_secs(3600),
        refresh_token: Some(Secret::new("rt")),
    }
}
