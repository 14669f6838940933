//! SSO OIDC through aws-sdk-ssooidc.

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use rolecall_engine::api::{
    ApiError, ClientRegistration, DeviceAuthorization, Grant, OidcApi, RegisterRequest, TokenGrant,
};
use rolecall_engine::secret::Secret;

use crate::errors::classify;

#[derive(Debug, Clone)]
pub struct SdkOidc {
    client: aws_sdk_ssooidc::Client,
}

impl SdkOidc {
    pub fn new(client: aws_sdk_ssooidc::Client) -> Self {
        Self { client }
    }
}

fn secs(n: i64) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap_or(0))
}

#[async_trait]
impl OidcApi for SdkOidc {
    async fn register_client(
        &self,
        request: &RegisterRequest,
    ) -> Result<ClientRegistration, ApiError> {
        let mut call = self
            .client
            .register_client()
            .client_name(&request.client_name)
            .client_type("public")
            .set_scopes(Some(request.scopes.clone()))
            .set_grant_types((!request.grant_types.is_empty()).then(|| request.grant_types.clone()))
            .set_redirect_uris(
                (!request.redirect_uris.is_empty()).then(|| request.redirect_uris.clone()),
            );
        if let Some(issuer) = &request.issuer_url {
            call = call.issuer_url(issuer);
        }
        let out = call.send().await.map_err(classify)?;
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
            .map_err(classify)?;
        Ok(DeviceAuthorization {
            device_code: Secret::new(out.device_code.unwrap_or_default()),
            user_code: out.user_code.unwrap_or_default(),
            verification_uri: out.verification_uri.unwrap_or_default(),
            verification_uri_complete: out.verification_uri_complete,
            expires_in: Duration::from_secs(u64::try_from(out.expires_in).unwrap_or(600)),
            interval: Duration::from_secs(u64::try_from(out.interval).unwrap_or(5).max(1)),
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
        let out = call.send().await.map_err(classify)?;
        Ok(TokenGrant {
            access_token: Secret::new(out.access_token.unwrap_or_default()),
            expires_in: Duration::from_secs(u64::try_from(out.expires_in).unwrap_or(0)),
            refresh_token: out.refresh_token.map(Secret::new),
        })
    }
}
