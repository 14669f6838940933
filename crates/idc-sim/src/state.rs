//! What the simulator remembers while it runs: pending device authorizations, sign-in
//! sessions and their tokens, issued role credentials and console sign-in tokens.
//!
//! Everything lives in one mutex-guarded `Ledger`; no lock is held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::options::SimOptions;
use crate::registration::Registration;

pub(crate) fn epoch_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(crate) fn epoch_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Pending,
    Approved,
    Denied,
}

#[derive(Debug)]
pub(crate) struct DeviceRecord {
    pub client_id: String,
    pub refreshable: bool,
    pub user_code: String,
    pub expires: SystemTime,
    pub interval: Duration,
    pub last_poll: Option<SystemTime>,
    pub pending_polls: u32,
    pub decision: Decision,
}

/// A PKCE authorization waiting for the person to approve it on the page.
#[derive(Debug)]
pub(crate) struct AuthorizeRequest {
    pub client_id: String,
    pub refreshable: bool,
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    pub expires: SystemTime,
}

#[derive(Debug)]
pub(crate) struct AuthCodeRecord {
    pub client_id: String,
    pub refreshable: bool,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub expires: SystemTime,
}

/// One sign-in of the person: what a refresh token keeps alive until `ends`.
#[derive(Debug)]
pub(crate) struct SessionRecord {
    pub ends: SystemTime,
    pub ended: bool,
}

#[derive(Debug)]
pub(crate) struct AccessTokenRecord {
    pub session: String,
    pub expires: SystemTime,
}

#[derive(Debug)]
pub(crate) struct RefreshTokenRecord {
    pub session: String,
    pub client_id: String,
}

/// Why signed credentials were not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IssuedProblem {
    /// Not issued here, or with another session token.
    Unknown,
    Expired,
}

/// Role credentials the simulator issued, by access key id.
#[derive(Debug, Clone)]
pub(crate) struct IssuedCredentials {
    pub secret_access_key: String,
    pub session_token: String,
    pub account_id: String,
    /// Permission set for SSO credentials; IAM role name for chained ones.
    pub role_name: String,
    pub arn: String,
    pub user_id: String,
    pub expires: SystemTime,
    /// Issued by STS AssumeRole from other credentials (role chaining).
    pub chained: bool,
}

/// An IAM user's long-term access key (`AKIA...`), the kind Rolecall retires.
#[derive(Debug, Clone)]
pub(crate) struct IamKey {
    pub account_id: String,
    pub user_name: String,
    pub secret_access_key: String,
    pub active: bool,
    pub created: SystemTime,
    /// When, by which service and in which region it was last used.
    pub last_used: Option<(SystemTime, String, String)>,
}

impl IamKey {
    pub fn user_arn(&self) -> String {
        format!("arn:aws:iam::{}:user/{}", self.account_id, self.user_name)
    }
}

#[derive(Debug)]
pub(crate) struct SigninGrant {
    pub access_key_id: String,
    pub session_duration: Option<u32>,
    pub expires: SystemTime,
}

/// Request counters, for tests and for the operator.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    /// Requests answered, by operation name (`ListAccounts`, `CreateToken`, ...).
    pub operations: BTreeMap<String, u64>,
    /// Portal requests refused with 429.
    pub throttled: u64,
    /// 5xx answers injected by the fault knob.
    pub injected_failures: u64,
    /// CreateToken calls that used the refresh-token grant and succeeded.
    pub refreshes: u64,
    /// Requests refused because AWS's model says they are malformed (service and why).
    pub model_rejections: Vec<String>,
    /// Answers of the simulator's own that AWS's model does not allow: the simulator's bugs.
    pub model_violations: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub clients: HashMap<String, Registration>,
    pub devices: HashMap<String, DeviceRecord>,
    pub user_codes: HashMap<String, String>,
    pub authorize_requests: HashMap<String, AuthorizeRequest>,
    pub auth_codes: HashMap<String, AuthCodeRecord>,
    pub sessions: HashMap<String, SessionRecord>,
    pub access_tokens: HashMap<String, AccessTokenRecord>,
    pub refresh_tokens: HashMap<String, RefreshTokenRecord>,
    pub credentials: HashMap<String, IssuedCredentials>,
    /// IAM users' long-term access keys, by key id.
    pub iam_keys: BTreeMap<String, IamKey>,
    pub signin_tokens: HashMap<String, SigninGrant>,
    /// ECR passwords from GetAuthorizationToken.
    pub registry_passwords: HashMap<String, crate::ecr::RegistryPassword>,
    pub deny_next: bool,
    pub fail_rate: f64,
    pub stats: Stats,
}

impl Ledger {
    /// The live session behind a bearer access token, if any.
    pub fn session_of(&self, access_token: &str, at: SystemTime) -> Option<&str> {
        let token = self.access_tokens.get(access_token)?;
        let session = self.sessions.get(&token.session)?;
        (token.expires > at && !session.ended && session.ends > at)
            .then_some(token.session.as_str())
    }

    /// Ends every sign-in session; issued role credentials keep working, as in the service.
    pub fn revoke_all(&mut self) {
        for s in self.sessions.values_mut() {
            s.ended = true;
        }
        self.access_tokens.clear();
        self.refresh_tokens.clear();
    }

    /// Records a signed request made with a long-term key (IAM's `GetAccessKeyLastUsed`).
    pub fn note_key_use(
        &mut self,
        access_key_id: &str,
        service: &str,
        region: &str,
        at: SystemTime,
    ) {
        if let Some(key) = self.iam_keys.get_mut(access_key_id) {
            key.last_used = Some((at, service.to_owned(), region.to_owned()));
        }
    }

    /// The account behind an access key id this simulator knows (STS `GetAccessKeyInfo`).
    pub fn account_of_key(&self, access_key_id: &str) -> Option<String> {
        self.iam_keys
            .get(access_key_id)
            .map(|k| k.account_id.clone())
            .or_else(|| {
                self.credentials
                    .get(access_key_id)
                    .map(|c| c.account_id.clone())
            })
    }

    pub fn count(&mut self, operation: &str) {
        *self
            .stats
            .operations
            .entry(operation.to_owned())
            .or_default() += 1;
    }
}

/// Shared state behind every handler.
#[derive(Debug)]
pub(crate) struct Sim {
    pub opts: SimOptions,
    pub base_url: String,
    pub limiter: Option<DefaultDirectRateLimiter>,
    pub ledger: Mutex<Ledger>,
    /// How far this simulator's clock runs ahead of the wall clock (tests move it, so
    /// lifetimes of an hour pass in no time).
    pub ahead_ms: std::sync::atomic::AtomicU64,
    /// AWS's service models every request and answer is checked against.
    pub models: Option<std::sync::Arc<crate::model::Models>>,
}

impl Sim {
    pub fn new(opts: SimOptions, base_url: String) -> Self {
        let limiter = opts.portal_rps.map(|rps| {
            let burst = opts.portal_burst.unwrap_or(nonzero_one());
            RateLimiter::direct(Quota::per_second(rps).allow_burst(burst))
        });
        let ledger = Ledger {
            fail_rate: opts.fail_rate,
            ..Ledger::default()
        };
        Self {
            opts,
            base_url,
            limiter,
            ledger: Mutex::new(ledger),
            ahead_ms: std::sync::atomic::AtomicU64::new(0),
            models: None,
        }
    }

    /// The credentials this simulator issued under `access_key_id`, if `session_token` is
    /// theirs and they have not expired: what every signed request is checked against.
    pub(crate) fn issued_for(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> Result<IssuedCredentials, IssuedProblem> {
        let ledger = self.ledger();
        if session_token.is_none()
            && let Some(key) = ledger.iam_keys.get(access_key_id)
        {
            // A long-term key signs alone, with no session token, and works until it is made
            // inactive; STS answers InvalidClientTokenId for an inactive one, as for any
            // unknown key.
            if !key.active {
                return Err(IssuedProblem::Unknown);
            }
            let arn = key.user_arn();
            return Ok(IssuedCredentials {
                secret_access_key: key.secret_access_key.clone(),
                session_token: String::new(),
                account_id: key.account_id.clone(),
                role_name: String::new(),
                user_id: crate::ids::user_unique_id(arn.as_bytes()),
                arn,
                expires: self.now() + Duration::from_secs(86_400),
                chained: false,
            });
        }
        let issued = ledger
            .credentials
            .get(access_key_id)
            .cloned()
            .ok_or(IssuedProblem::Unknown)?;
        drop(ledger);
        if session_token != Some(issued.session_token.as_str()) {
            return Err(IssuedProblem::Unknown);
        }
        if issued.expires <= self.now() {
            return Err(IssuedProblem::Expired);
        }
        Ok(issued)
    }

    /// The simulator's time: the wall clock plus how far a test moved it.
    pub fn now(&self) -> SystemTime {
        SystemTime::now()
            + Duration::from_millis(self.ahead_ms.load(std::sync::atomic::Ordering::SeqCst))
    }

    pub fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A panic in a handler must not take the simulator down with a poisoned lock.
        self.ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn start_url(&self) -> String {
        format!("{}/start", self.base_url)
    }

    pub fn verification_uri(&self) -> String {
        format!("{}/oidc/device", self.base_url)
    }

    /// The ARN and user id of SSO role credentials for `role` in `account`.
    pub fn sso_principal(&self, account: &str, role: &str) -> (String, String) {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{account}/{role}").as_bytes());
        let suffix = hex::encode(&digest[..8]);
        let username = &self.opts.org.user.username;
        let arn = format!(
            "arn:aws:sts::{account}:assumed-role/AWSReservedSSO_{role}_{suffix}/{username}"
        );
        let role_id = role_unique_id(&digest);
        (arn, format!("{role_id}:{username}"))
    }
}

fn nonzero_one() -> std::num::NonZeroU32 {
    std::num::NonZeroU32::MIN
}

/// `AROA` + 17 characters, as IAM role ids are.
pub(crate) fn role_unique_id(seed: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let body: String = seed
        .iter()
        .cycle()
        .take(17)
        .map(|b| ALPHABET[(*b as usize) % 32] as char)
        .collect();
    format!("AROA{body}")
}
