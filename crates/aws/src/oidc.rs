//! SSO OIDC through `aws-sdk-ssooidc` (unsigned): `RegisterClient`, `StartDeviceAuthorization`,
//! `CreateToken`. Two attempts on a transient error, in the SDK's standard retry mode; an OAuth
//! error such as `authorization_pending` (HTTP 400) is an answer, never retried.

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_ssooidc::Client;
use aws_sdk_ssooidc::config::{BehaviorVersion, Region};
use rolecall_engine::api::{
    ApiError, ClientRegistration, DeviceAuthorization, Grant, OidcApi, RegisterRequest, TokenGrant,
};
use rolecall_engine::secret::Secret;

use crate::sdk::{SdkHttp, api_error, retries};
use crate::wire::{self, Http};

const ATTEMPTS: u32 = 2;

#[derive(Debug, Clone)]
pub struct HttpOidc {
    client: Client,
}

impl HttpOidc {
    /// SSO OIDC at `endpoint` (`https://oidc.{region}.{dnsSuffix}` or an override) in `region`.
    pub fn new(http: Http, endpoint: impl Into<String>, region: impl Into<String>) -> Self {
        let config = aws_sdk_ssooidc::Config::builder()
            .http_client(SdkHttp::shared(&http))
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.into()))
            .endpoint_url(endpoint.into())
            .retry_config(retries(ATTEMPTS))
            .build();
        Self {
            client: Client::from_conf(config),
        }
    }
}

fn secs(n: i64) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap_or(0))
}

fn failed<E: std::error::Error + 'static>(
    e: &aws_sdk_ssooidc::error::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> ApiError {
    api_error(e, wire::json_error)
}

/// An empty list is left out of the request, as the SDK leaves out unset members.
fn listed(items: &[String]) -> Option<Vec<String>> {
    (!items.is_empty()).then(|| items.to_vec())
}

#[async_trait]
impl OidcApi for HttpOidc {
    async fn register_client(
        &self,
        request: &RegisterRequest,
    ) -> Result<ClientRegistration, ApiError> {
        let out = self
            .client
            .register_client()
            .client_name(&request.client_name)
            .client_type("public")
            .set_scopes(listed(&request.scopes))
            .set_grant_types(listed(&request.grant_types))
            .set_redirect_uris(listed(&request.redirect_uris))
            .set_issuer_url(request.issuer_url.clone())
            .send()
            .await
            .map_err(|e| failed(&e))?;
        Ok(ClientRegistration {
            client_id: out.client_id.unwrap_or_default(),
            client_secret: Secret::new(out.client_secret.unwrap_or_default()),
            expires_at: UNIX_EPOCH + secs(out.client_secret_expires_at),
            redirect_uri: request.redirect_uris.first().cloned(),
        })
    }

    async fn start_device_authorization(
        &self,
        client: &ClientRegistration,
        start_url: &str,
    ) -> Result<DeviceAuthorization, ApiError> {
        let out = self
            .client
            .start_device_authorization()
            .client_id(&client.client_id)
            .client_secret(client.client_secret.expose())
            .start_url(start_url)
            .send()
            .await
            .map_err(|e| failed(&e))?;
        let expires_in = if out.expires_in > 0 {
            out.expires_in
        } else {
            600
        };
        let interval = if out.interval > 0 { out.interval } else { 5 };
        Ok(DeviceAuthorization {
            device_code: Secret::new(out.device_code.unwrap_or_default()),
            user_code: out.user_code.unwrap_or_default(),
            verification_uri: out.verification_uri.unwrap_or_default(),
            verification_uri_complete: out.verification_uri_complete,
            expires_in: secs(expires_in.into()),
            interval: secs(interval.into()).max(Duration::from_secs(1)),
        })
    }

    async fn create_token(
        &self,
        client: &ClientRegistration,
        grant: &Grant,
    ) -> Result<TokenGrant, ApiError> {
        let call = self
            .client
            .create_token()
            .client_id(&client.client_id)
            .client_secret(client.client_secret.expose());
        let call = match grant {
            Grant::DeviceCode(code) => call
                .grant_type("urn:ietf:params:oauth:grant-type:device_code")
                .device_code(code.expose()),
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => call
                .grant_type("authorization_code")
                .code(code.expose())
                .redirect_uri(redirect_uri)
                .code_verifier(code_verifier.expose()),
            Grant::RefreshToken(token) => call
                .grant_type("refresh_token")
                .refresh_token(token.expose()),
        };
        let out = call.send().await.map_err(|e| failed(&e))?;
        Ok(TokenGrant {
            access_token: Secret::new(out.access_token.unwrap_or_default()),
            expires_in: secs(out.expires_in.into()),
            refresh_token: out.refresh_token.map(Secret::new),
        })
    }
}
