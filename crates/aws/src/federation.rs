//! The console federation endpoint (`getSigninToken`) over reqwest with rustls.

use std::time::Duration;

use async_trait::async_trait;
use rolecall_engine::api::{ApiError, FederationApi, RoleCredentials};
use rolecall_engine::secret::Secret;

use crate::wire::{self, Http};

#[derive(Debug, Clone, Default)]
pub struct HttpFederation {
    http: Http,
}

impl HttpFederation {
    pub fn new(http: Http) -> Self {
        Self { http }
    }
}

#[async_trait]
impl FederationApi for HttpFederation {
    async fn get_signin_token(
        &self,
        federation_url: &url::Url,
        credentials: &RoleCredentials,
        session_duration: Option<Duration>,
    ) -> Result<Secret, ApiError> {
        let session = Secret::new(
            serde_json::json!({
                "sessionId": credentials.access_key_id,
                "sessionKey": credentials.secret_access_key.expose(),
                "sessionToken": credentials.session_token.expose(),
            })
            .to_string(),
        );
        let mut url = federation_url.clone();
        url.set_query(None);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("Action", "getSigninToken");
            if let Some(d) = session_duration {
                q.append_pair("SessionDuration", &d.as_secs().to_string());
            }
            q.append_pair("Session", session.expose());
        }
        let answer = wire::send(self.http.client(&url)?.get(url.clone()))
            .await
            .map_err(|e| match e {
                ApiError::Network(why) => {
                    ApiError::Network(format!("cannot reach the federation endpoint: {why}"))
                }
                other => other,
            })?;
        let status = answer.status;
        if status.is_server_error() {
            return Err(ApiError::Server(format!(
                "federation endpoint answered HTTP {}",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            let body = String::from_utf8_lossy(&answer.body);
            let reason: String = body.trim().chars().take(200).collect();
            return Err(ApiError::Forbidden(format!(
                "the federation endpoint refused the credentials: {reason}"
            )));
        }
        let body: serde_json::Value = answer.json().map_err(|_| {
            ApiError::Server("the federation endpoint answered something else than JSON".into())
        })?;
        body.get("SigninToken")
            .and_then(|t| t.as_str())
            .map(Secret::new)
            .ok_or_else(|| ApiError::Server("no SigninToken in the federation answer".into()))
    }
}
