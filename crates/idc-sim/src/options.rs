//! Every knob of the simulator, shared by the library (tests start it in-process) and the binary.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::org::Organisation;

/// How the simulator behaves. `SimOptions::new(org)` gives the defaults of the real service
/// where they are known (1 s device polling interval, 10 min device codes, 1 h access tokens,
/// 8 h sign-in sessions, 1 h role credentials, 90-day client registrations).
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub org: Organisation,
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Added to every API request before it is answered.
    pub latency: Duration,
    /// Portal requests per second past which the portal answers 429 TooManyRequestsException.
    pub portal_rps: Option<NonZeroU32>,
    /// How many portal requests may arrive at once before the rate applies (default: 1).
    pub portal_burst: Option<NonZeroU32>,
    /// Approve a device authorization by itself after this many pending polls (0: the first
    /// poll gets the token); also makes `/authorize` redirect at once. `None`: a person (or a
    /// test) clicks Approve on the verification page.
    pub auto_approve_after: Option<u32>,
    /// The polling interval handed out with device codes.
    pub device_interval: Duration,
    pub device_code_ttl: Duration,
    pub access_token_ttl: Duration,
    /// How long a sign-in (the refresh token) lasts; legacy tokens (no scopes) live this long.
    pub session_ttl: Duration,
    pub role_credentials_ttl: Duration,
    pub client_registration_ttl: Duration,
    /// Fraction (0..1) of API requests answered with a 5xx.
    pub fail_rate: f64,
    /// Key that signs client secrets, so registrations survive a restart of the simulator.
    pub registration_key: String,
    /// Serve `GET /_sim/issued-secrets`: every secret handed out, for tests in other
    /// processes that look for them where none may be (logs, files). Off unless asked for.
    pub expose_issued_secrets: bool,
    /// Where botocore's service models are (`botocore/data`): every request and answer is
    /// checked against them. `None`: found by [`crate::model::find_models_dir`], or no check
    /// where botocore is not installed (a person's demo).
    pub models: Option<std::path::PathBuf>,
}

impl SimOptions {
    pub fn new(org: Organisation) -> Self {
        Self {
            org,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            latency: Duration::ZERO,
            portal_rps: None,
            portal_burst: None,
            auto_approve_after: None,
            device_interval: Duration::from_secs(1),
            device_code_ttl: Duration::from_secs(600),
            access_token_ttl: Duration::from_secs(3600),
            session_ttl: Duration::from_secs(8 * 3600),
            role_credentials_ttl: Duration::from_secs(3600),
            client_registration_ttl: Duration::from_secs(90 * 24 * 3600),
            fail_rate: 0.0,
            registration_key: "rolecall-idc-sim".into(),
            expose_issued_secrets: false,
            models: None,
        }
    }
}
