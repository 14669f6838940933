//! The engine's network seams, implemented for real over one HTTPS client (reqwest on rustls
//! with ring and the OS's roots): SSO OIDC and the portal (REST-JSON), STS (the query protocol,
//! SigV4), ECR (JSON 1.1, SigV4), EKS tokens (presigned STS) and the console federation
//! endpoint. Each speaks only the few calls Rolecall makes, as the service models define them
//! (`../shared/reference/aws-identity-center-protocol.md`); the AWS SDK for Rust is the
//! simulator's test client (`idc-sim/tests/rust_sdk.rs`), no longer in what ships, which it made
//! some 2 MiB larger. Signing is the SDK's own `aws-sigv4`.
//!
//! Portal calls are never retried here: the role catalogue paces and retries every portal call
//! itself, so that no retry slips past its rate limiter. Nothing here logs a secret or writes a
//! file.

mod errors;
mod federation;
mod oidc;
mod portal;
mod sts;
mod wire;

use std::sync::Arc;

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::identity::Identity;
use rolecall_engine::api::{
    AwsConnector, FederationApi, OidcApi, PortalApi, RoleCredentials, StsApi,
};
use rolecall_engine::session::SsoSession;

pub mod ecr;
pub mod eks;

pub use federation::HttpFederation;
pub use oidc::HttpOidc;
pub use portal::HttpPortal;
pub use sts::{HttpSts, sts_endpoint};
pub use wire::Http;

/// A role's credentials as a SigV4 signing identity.
pub(crate) fn identity(creds: &RoleCredentials) -> Identity {
    Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.expose().to_owned(),
        Some(creds.session_token.expose().to_owned()),
        Some(creds.expiration),
        "rolecall",
    )
    .into()
}

/// The clients of each session, all over one HTTPS client and so one connection pool. A
/// client is two strings and that shared handle: made for each call, never cached.
#[derive(Debug)]
pub struct HttpsConnector {
    http: Http,
    federation: Arc<HttpFederation>,
}

impl Default for HttpsConnector {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpsConnector {
    pub fn new() -> Self {
        let http = Http::default();
        Self {
            federation: Arc::new(HttpFederation::new(http.clone())),
            http,
        }
    }
}

impl AwsConnector for HttpsConnector {
    fn oidc(&self, session: &SsoSession) -> Arc<dyn OidcApi> {
        Arc::new(HttpOidc::new(self.http.clone(), session.oidc_url()))
    }
    fn portal(&self, session: &SsoSession) -> Arc<dyn PortalApi> {
        Arc::new(HttpPortal::new(self.http.clone(), session.portal_url()))
    }
    fn sts(&self, session: &SsoSession) -> Arc<dyn StsApi> {
        let region = &session.region;
        let endpoint = session.sts_endpoint(region);
        Arc::new(HttpSts::new(self.http.clone(), endpoint, region.as_str()))
    }
    fn federation(&self) -> Arc<dyn FederationApi> {
        self.federation.clone()
    }
}
