//! The engine's network seams, implemented for real over one HTTPS client (reqwest on rustls
//! with ring and the OS's roots). The AWS SDK for Rust builds, signs, retries and parses every
//! SSO OIDC (`aws-sdk-ssooidc`), portal (`aws-sdk-sso`), STS (`aws-sdk-sts`) and ECR
//! (`aws-sdk-ecr`) call, sending it through that client ([`sdk`]). Only what no SDK operation
//! covers is written here: the console federation endpoint (`getSigninToken`, over reqwest) and
//! EKS tokens (a GetCallerIdentity presigned with the SDK's own `aws-sigv4`).
//!
//! Portal calls are never retried here (the SDK's retries are off for the portal): the role
//! catalogue paces and retries every portal call itself, so that no retry slips past its rate
//! limiter. Nothing here logs a secret or writes a file.

mod errors;
mod federation;
mod oidc;
mod portal;
mod sdk;
mod sts;
mod wire;

use std::sync::Arc;

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::identity::Identity;
use rolecall_engine::api::{
    AwsConnector, FederationApi, KeyApi, OidcApi, PortalApi, RoleCredentials, StsApi,
};
use rolecall_engine::session::SsoSession;

pub mod ecr;
pub mod eks;
pub mod keys;

pub use federation::HttpFederation;
pub use oidc::HttpOidc;
pub use portal::HttpPortal;
pub use sts::{HttpSts, sts_endpoint};
pub use wire::Http;

/// A role's credentials as a SigV4 signing identity.
pub(crate) fn identity(creds: &RoleCredentials) -> Identity {
    sdk_credentials(creds).into()
}

/// A role's credentials for the SDK's signer. The SDK's `Credentials` zeroizes its copy of the
/// secret when dropped.
pub(crate) fn sdk_credentials(creds: &RoleCredentials) -> Credentials {
    Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.expose().to_owned(),
        Some(creds.session_token.expose().to_owned()),
        Some(creds.expiration),
        "rolecall",
    )
}

/// The clients of each session, all over one HTTPS client and so one connection pool. A
/// client is an SDK client over that shared handle: made for each use, never cached.
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
        Arc::new(HttpOidc::new(
            self.http.clone(),
            session.oidc_url(),
            session.region.as_str(),
        ))
    }
    fn portal(&self, session: &SsoSession) -> Arc<dyn PortalApi> {
        Arc::new(HttpPortal::new(
            self.http.clone(),
            session.portal_url(),
            session.region.as_str(),
        ))
    }
    fn sts(&self, session: &SsoSession) -> Arc<dyn StsApi> {
        let region = &session.region;
        let endpoint = session.sts_endpoint(region);
        Arc::new(HttpSts::new(self.http.clone(), endpoint, region.as_str()))
    }
    fn federation(&self) -> Arc<dyn FederationApi> {
        self.federation.clone()
    }
    fn keys(&self, session: &SsoSession) -> Arc<dyn KeyApi> {
        Arc::new(keys::KeyCalls::new(
            self.http.clone(),
            session.sts_endpoint(&session.region),
            session.endpoints.iam.clone(),
            session.region.as_str(),
        ))
    }
}
