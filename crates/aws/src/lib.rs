//! The engine's network seams, implemented for real: SSO OIDC, the portal and STS through the
//! AWS SDK for Rust, the console federation endpoint through reqwest (rustls).
//!
//! Portal clients have the SDK's own retries turned off: the role catalogue paces and retries
//! every portal call itself, so that no retry slips past its rate limiter. Nothing here logs a
//! secret or writes a file.

mod errors;
mod federation;
mod oidc;
mod portal;
mod sts;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use rolecall_engine::api::{AwsConnector, FederationApi, OidcApi, PortalApi, StsApi};
use rolecall_engine::session::SsoSession;

pub mod ecr;
pub mod eks;

pub use federation::HttpFederation;
pub use oidc::SdkOidc;
pub use portal::SdkPortal;
pub use sts::SdkSts;

pub(crate) fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .build()
}

/// The SDK's HTTPS client: rustls on ring, as reqwest uses it (one crypto library in the
/// binary, not ring beside aws-lc), with the OS's root certificates. One for every SDK client,
/// so connections are pooled across them.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Builds (and reuses) the SDK clients of each session.
#[derive(Debug)]
pub struct SdkConnector {
    cache: Mutex<HashMap<String, Clients>>,
    federation: Arc<HttpFederation>,
    http: SharedHttpClient,
}

impl Default for SdkConnector {
    fn default() -> Self {
        Self {
            cache: Mutex::default(),
            federation: Arc::default(),
            http: https_client(),
        }
    }
}

#[derive(Debug, Clone)]
struct Clients {
    oidc: Arc<SdkOidc>,
    portal: Arc<SdkPortal>,
    sts: Arc<SdkSts>,
}

impl SdkConnector {
    pub fn new() -> Self {
        Self::default()
    }

    fn clients(&self, session: &SsoSession) -> Clients {
        let key = format!(
            "{}|{}|{}|{}|{:?}",
            session.name,
            session.region,
            session.oidc_url(),
            session.portal_url(),
            session.sts_url()
        );
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(key)
            .or_insert_with(|| {
                let region = Region::new(session.region.to_string());
                let oidc = aws_sdk_ssooidc::Config::builder()
                    .http_client(self.http.clone())
                    .behavior_version(BehaviorVersion::latest())
                    .region(region.clone())
                    .endpoint_url(session.oidc_url())
                    .timeout_config(timeouts())
                    .retry_config(RetryConfig::standard().with_max_attempts(2))
                    .build();
                let portal = aws_sdk_sso::Config::builder()
                    .http_client(self.http.clone())
                    .behavior_version(BehaviorVersion::latest())
                    .region(region.clone())
                    .endpoint_url(session.portal_url())
                    .timeout_config(timeouts())
                    .retry_config(RetryConfig::disabled())
                    .build();
                let mut sts = aws_sdk_sts::Config::builder()
                    .http_client(self.http.clone())
                    .behavior_version(BehaviorVersion::latest())
                    .region(region)
                    .timeout_config(timeouts())
                    .retry_config(RetryConfig::standard());
                if let Some(url) = session.sts_url() {
                    sts = sts.endpoint_url(url);
                }
                Clients {
                    oidc: Arc::new(SdkOidc::new(aws_sdk_ssooidc::Client::from_conf(oidc))),
                    portal: Arc::new(SdkPortal::new(aws_sdk_sso::Client::from_conf(portal))),
                    sts: Arc::new(SdkSts::new(aws_sdk_sts::Client::from_conf(sts.build()))),
                }
            })
            .clone()
    }
}

impl AwsConnector for SdkConnector {
    fn oidc(&self, session: &SsoSession) -> Arc<dyn OidcApi> {
        self.clients(session).oidc
    }
    fn portal(&self, session: &SsoSession) -> Arc<dyn PortalApi> {
        self.clients(session).portal
    }
    fn sts(&self, session: &SsoSession) -> Arc<dyn StsApi> {
        self.clients(session).sts
    }
    fn federation(&self) -> Arc<dyn FederationApi> {
        self.federation.clone()
    }
}
