//! The seams to AWS. Every network call of the engine goes through one of these traits, so a
//! unit test can fake it; `rolecall-aws` implements them with the AWS SDK for Rust (SSO OIDC,
//! portal, STS) and reqwest (the federation endpoint).

use std::time::SystemTime;

use async_trait::async_trait;

use crate::secret::Secret;

/// What an AWS call can fail with, classified for the engine's decisions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Device flow: the person has not decided yet.
    #[error("authorization pending")]
    AuthorizationPending,
    /// Device flow: polling too fast; the interval grows by 5 s for good.
    #[error("polling too fast (slow_down)")]
    SlowDown,
    /// A device code or token expired.
    #[error("expired: {0}")]
    Expired(String),
    /// The person denied the sign-in.
    #[error("the sign-in was denied")]
    AccessDenied,
    /// A code, refresh token or device code is not (or no longer) valid.
    #[error("invalid grant: {0}")]
    InvalidGrant(String),
    /// The client registration is unknown or expired.
    #[error("invalid client: {0}")]
    InvalidClient(String),
    /// The portal refused the access token (expired or revoked): sign in again.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Not allowed (e.g. no assignment for that role, AssumeRole denied).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 429 or a throttling error code.
    #[error("throttled")]
    Throttled,
    /// 5xx.
    #[error("service error: {0}")]
    Server(String),
    /// The request did not get an answer (connection refused, DNS, timeout).
    #[error("network: {0}")]
    Network(String),
    /// Bad input (wrong start URL, bad parameters).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Anything else, with the service's code.
    #[error("{code}: {message}")]
    Other { code: String, message: String },
}

impl ApiError {
    /// Worth another try after a pause.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled | Self::Server(_) | Self::Network(_))
    }
}

/// A client registration (SSO OIDC RegisterClient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    pub client_id: String,
    pub client_secret: Secret,
    pub expires_at: SystemTime,
    /// Set for PKCE registrations.
    pub redirect_uri: Option<String>,
}

/// What to register for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    pub client_name: String,
    pub scopes: Vec<String>,
    /// Empty for the device flow; `authorization_code` + `refresh_token` for PKCE.
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub issuer_url: Option<String>,
}

/// StartDeviceAuthorization's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: std::time::Duration,
    pub interval: std::time::Duration,
}

/// The grant of a CreateToken call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    DeviceCode(Secret),
    AuthorizationCode {
        code: Secret,
        redirect_uri: String,
        code_verifier: Secret,
    },
    RefreshToken(Secret),
}

/// CreateToken's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub access_token: Secret,
    pub expires_in: std::time::Duration,
    pub refresh_token: Option<Secret>,
}

#[async_trait]
pub trait OidcApi: Send + Sync + std::fmt::Debug {
    async fn register_client(
        &self,
        request: &RegisterRequest,
    ) -> Result<ClientRegistration, ApiError>;
    async fn start_device_authorization(
        &self,
        client: &ClientRegistration,
        start_url: &str,
    ) -> Result<DeviceAuthorization, ApiError>;
    async fn create_token(
        &self,
        client: &ClientRegistration,
        grant: &Grant,
    ) -> Result<TokenGrant, ApiError>;
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// An account as the portal lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountInfo {
    pub account_id: String,
    pub account_name: String,
    pub email: String,
}

/// Short-lived role credentials. Debug redacts the secret parts; there is no Serialize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Secret,
    pub expiration: SystemTime,
}

#[async_trait]
pub trait PortalApi: Send + Sync + std::fmt::Debug {
    async fn list_accounts(
        &self,
        access_token: &Secret,
        next_token: Option<&str>,
        max_results: u32,
    ) -> Result<Page<AccountInfo>, ApiError>;
    async fn list_account_roles(
        &self,
        access_token: &Secret,
        account_id: &str,
        next_token: Option<&str>,
        max_results: u32,
    ) -> Result<Page<String>, ApiError>;
    async fn get_role_credentials(
        &self,
        access_token: &Secret,
        account_id: &str,
        role_name: &str,
    ) -> Result<RoleCredentials, ApiError>;
    async fn logout(&self, access_token: &Secret) -> Result<(), ApiError>;
}

/// GetCallerIdentity's answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

#[async_trait]
pub trait StsApi: Send + Sync + std::fmt::Debug {
    async fn get_caller_identity(
        &self,
        credentials: &RoleCredentials,
    ) -> Result<CallerIdentity, ApiError>;
    async fn assume_role(
        &self,
        credentials: &RoleCredentials,
        role_arn: &str,
        session_name: &str,
        duration: std::time::Duration,
    ) -> Result<RoleCredentials, ApiError>;
}

#[async_trait]
pub trait FederationApi: Send + Sync + std::fmt::Debug {
    /// `GET {federation_url}?Action=getSigninToken[&SessionDuration=..]&Session=..`.
    async fn get_signin_token(
        &self,
        federation_url: &url::Url,
        credentials: &RoleCredentials,
        session_duration: Option<std::time::Duration>,
    ) -> Result<Secret, ApiError>;
}

/// A long-term key's last use, as IAM records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLastUse {
    /// The IAM user the key belongs to.
    pub user_name: String,
    /// None when the key was never used.
    pub when: Option<std::time::SystemTime>,
    /// `sts`, `s3`, ..., or `N/A`.
    pub service: String,
    pub region: String,
}

impl KeyLastUse {
    /// "never used", or "last used 2026-12-01T09:30:00Z by s3 in eu-west-1", as the CLI and
    /// the app both say it.
    pub fn describe(&self) -> String {
        match self.when {
            None => "never used".into(),
            Some(t) => format!(
                "last used {} by {} in {}",
                time::OffsetDateTime::from(t)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                self.service,
                self.region
            ),
        }
    }
}

/// What retiring a long-term access key asks of STS and IAM, with a role's credentials.
#[async_trait]
pub trait KeyApi: Send + Sync + std::fmt::Debug {
    /// The account a key id belongs to (STS `GetAccessKeyInfo`; any caller may ask).
    async fn account_of(
        &self,
        credentials: &RoleCredentials,
        access_key_id: &str,
    ) -> Result<String, ApiError>;
    /// IAM `GetAccessKeyLastUsed`.
    async fn last_used(
        &self,
        credentials: &RoleCredentials,
        access_key_id: &str,
    ) -> Result<KeyLastUse, ApiError>;
    /// IAM `UpdateAccessKey Status=Inactive` (never a delete).
    async fn deactivate(
        &self,
        credentials: &RoleCredentials,
        access_key_id: &str,
        user_name: Option<&str>,
    ) -> Result<(), ApiError>;
}

/// A connector without STS and IAM key calls (fakes of other tests).
#[derive(Debug)]
pub struct NoKeyApi;

#[async_trait]
impl KeyApi for NoKeyApi {
    async fn account_of(&self, _: &RoleCredentials, _: &str) -> Result<String, ApiError> {
        Err(ApiError::Network("no key calls here".into()))
    }
    async fn last_used(&self, _: &RoleCredentials, _: &str) -> Result<KeyLastUse, ApiError> {
        Err(ApiError::Network("no key calls here".into()))
    }
    async fn deactivate(
        &self,
        _: &RoleCredentials,
        _: &str,
        _: Option<&str>,
    ) -> Result<(), ApiError> {
        Err(ApiError::Network("no key calls here".into()))
    }
}

/// Makes the clients for one SSO session (each has its own region and endpoints).
pub trait AwsConnector: Send + Sync + std::fmt::Debug {
    fn oidc(&self, session: &crate::session::SsoSession) -> std::sync::Arc<dyn OidcApi>;
    fn portal(&self, session: &crate::session::SsoSession) -> std::sync::Arc<dyn PortalApi>;
    fn sts(&self, session: &crate::session::SsoSession) -> std::sync::Arc<dyn StsApi>;
    fn federation(&self) -> std::sync::Arc<dyn FederationApi>;
    /// STS and IAM for long-term keys (`rolecall audit`, `rolecall retire`).
    fn keys(&self, _session: &crate::session::SsoSession) -> std::sync::Arc<dyn KeyApi> {
        std::sync::Arc::new(NoKeyApi)
    }
}

#[cfg(test)]
mod tests {
    use super::KeyLastUse;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_keys_last_use_reads_the_same_in_the_cli_and_the_app() {
        let mut used = KeyLastUse {
            user_name: "ci-bot".into(),
            when: Some(UNIX_EPOCH + Duration::from_secs(1_796_000_000)),
            service: "s3".into(),
            region: "eu-west-1".into(),
        };
        assert_eq!(
            used.describe(),
            "last used 2026-11-30T00:53:20Z by s3 in eu-west-1"
        );
        used.when = None;
        assert_eq!(used.describe(), "never used");
    }
}
