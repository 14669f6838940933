//! SSO OIDC (REST-JSON, unsigned): `RegisterClient`, `StartDeviceAuthorization`, `CreateToken`.
//! Retried once on a transient error, as the SDK's standard mode with two attempts did; an
//! OAuth error such as `authorization_pending` (HTTP 400) is an answer, never retried.

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use rolecall_engine::api::{
    ApiError, ClientRegistration, DeviceAuthorization, Grant, OidcApi, RegisterRequest, TokenGrant,
};
use rolecall_engine::secret::Secret;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::wire::{self, Http};

const ATTEMPTS: usize = 2;

#[derive(Debug, Clone)]
pub struct HttpOidc {
    http: Http,
    endpoint: String,
}

impl HttpOidc {
    /// SSO OIDC at `endpoint` (`https://oidc.{region}.{dnsSuffix}` or an override).
    pub fn new(http: Http, endpoint: impl Into<String>) -> Self {
        Self {
            http,
            endpoint: endpoint.into(),
        }
    }

    /// POSTs `body` as JSON to `path`, and reads the answer as `T` or as an error.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ApiError> {
        let url = wire::url(&self.endpoint, path)?;
        let json = Zeroizing::new(
            serde_json::to_vec(body)
                .map_err(|_| ApiError::InvalidRequest("the request could not be built".into()))?,
        );
        let client = self.http.client(&url)?;
        wire::with_retries(ATTEMPTS, || async {
            wire::exchange(
                client
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .body(json.to_vec()),
                wire::json_error,
            )
            .await?
            .json()
        })
        .await
    }
}

fn secs(n: i64) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap_or(0))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisterClientBody<'a> {
    client_name: &'a str,
    client_type: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    scopes: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    grant_types: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    redirect_uris: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_url: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterClientAnswer {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    client_secret_expires_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartDeviceBody<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    start_url: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartDeviceAnswer {
    #[serde(default)]
    device_code: String,
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in: Option<i64>,
    interval: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateTokenBody<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    grant_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_verifier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTokenAnswer {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: i64,
    refresh_token: Option<String>,
}

#[async_trait]
impl OidcApi for HttpOidc {
    async fn register_client(
        &self,
        request: &RegisterRequest,
    ) -> Result<ClientRegistration, ApiError> {
        let out: RegisterClientAnswer = self
            .call(
                "/client/register",
                &RegisterClientBody {
                    client_name: &request.client_name,
                    client_type: "public",
                    scopes: &request.scopes,
                    grant_types: &request.grant_types,
                    redirect_uris: &request.redirect_uris,
                    issuer_url: request.issuer_url.as_deref(),
                },
            )
            .await?;
        Ok(ClientRegistration {
            client_id: out.client_id,
            client_secret: Secret::new(out.client_secret),
            expires_at: UNIX_EPOCH + secs(out.client_secret_expires_at),
            redirect_uri: request.redirect_uris.first().cloned(),
        })
    }

    async fn start_device_authorization(
        &self,
        client: &ClientRegistration,
        start_url: &str,
    ) -> Result<DeviceAuthorization, ApiError> {
        let out: StartDeviceAnswer = self
            .call(
                "/device_authorization",
                &StartDeviceBody {
                    client_id: &client.client_id,
                    client_secret: client.client_secret.expose(),
                    start_url,
                },
            )
            .await?;
        Ok(DeviceAuthorization {
            device_code: Secret::new(out.device_code),
            user_code: out.user_code,
            verification_uri: out.verification_uri,
            verification_uri_complete: out.verification_uri_complete,
            expires_in: secs(out.expires_in.unwrap_or(600)),
            interval: secs(out.interval.unwrap_or(5)).max(Duration::from_secs(1)),
        })
    }

    async fn create_token(
        &self,
        client: &ClientRegistration,
        grant: &Grant,
    ) -> Result<TokenGrant, ApiError> {
        let mut body = CreateTokenBody {
            client_id: &client.client_id,
            client_secret: client.client_secret.expose(),
            grant_type: "",
            device_code: None,
            code: None,
            redirect_uri: None,
            code_verifier: None,
            refresh_token: None,
        };
        match grant {
            Grant::DeviceCode(code) => {
                body.grant_type = "urn:ietf:params:oauth:grant-type:device_code";
                body.device_code = Some(code.expose());
            }
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                body.grant_type = "authorization_code";
                body.code = Some(code.expose());
                body.redirect_uri = Some(redirect_uri);
                body.code_verifier = Some(code_verifier.expose());
            }
            Grant::RefreshToken(token) => {
                body.grant_type = "refresh_token";
                body.refresh_token = Some(token.expose());
            }
        }
        let out: CreateTokenAnswer = self.call("/token", &body).await?;
        Ok(TokenGrant {
            access_token: Secret::new(out.access_token),
            expires_in: secs(out.expires_in),
            refresh_token: out.refresh_token.map(Secret::new),
        })
    }
}
