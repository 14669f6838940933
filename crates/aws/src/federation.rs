//! The console federation endpoint (`getSigninToken`) over reqwest with rustls.

use std::time::Duration;

use async_trait::async_trait;
use rolecall_engine::api::{ApiError, FederationApi, RoleCredentials};
use rolecall_engine::secret::Secret;

#[derive(Debug, Clone)]
pub struct HttpFederation {
    http: reqwest::Client,
}

impl Default for HttpFederation {
    fn default() -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("rolecall/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
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
        let response = self.http.get(url).send().await.map_err(|e| {
            ApiError::Network(if e.is_timeout() {
                "the federation endpoint timed out".into()
            } else {
                "cannot reach the federation endpoint".into()
            })
        })?;
        let status = response.status();
        if status.is_server_error() {
            return Err(ApiError::Server(format!(
                "federation endpoint answered HTTP {}",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            let reason: String = body.trim().chars().take(200).collect();
            return Err(ApiError::Forbidden(format!(
                "the federation endpoint refused the credentials: {reason}"
            )));
        }
        let body: serde_json::Value = response.json().await.map_err(|_| {
            ApiError::Server("the federation endpoint answered something else than JSON".into())
        })?;
        body.get("SigninToken")
            .and_then(|t| t.as_str())
            .map(Secret::new)
            .ok_or_else(|| ApiError::Server("no SigninToken in the federation answer".into()))
    }
}
