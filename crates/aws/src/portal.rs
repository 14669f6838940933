//! The access portal (REST-JSON, unsigned, the access token in `x-amz-sso_bearer_token`):
//! `ListAccounts`, `ListAccountRoles`, `GetRoleCredentials`, `Logout`. Never retried here: the
//! role catalogue paces and retries every portal call itself, so no retry slips past its rate
//! limiter.

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use rolecall_engine::api::{AccountInfo, ApiError, Page, PortalApi, RoleCredentials};
use rolecall_engine::secret::Secret;
use serde::Deserialize;

use crate::wire::{self, Answer, Http};

const BEARER: &str = "x-amz-sso_bearer_token";

#[derive(Debug, Clone)]
pub struct HttpPortal {
    http: Http,
    endpoint: String,
}

impl HttpPortal {
    /// The portal at `endpoint` (`https://portal.sso.{region}.{dnsSuffix}` or an override).
    pub fn new(http: Http, endpoint: impl Into<String>) -> Self {
        Self {
            http,
            endpoint: endpoint.into(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        access_token: &Secret,
    ) -> Result<Answer, ApiError> {
        let mut url = wire::url(&self.endpoint, path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        wire::exchange(
            self.http
                .client(&url)?
                .request(method, url.clone())
                .header(BEARER, access_token.expose()),
            wire::json_error,
        )
        .await
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountsAnswer {
    #[serde(default)]
    account_list: Vec<Account>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Account {
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    account_name: String,
    #[serde(default)]
    email_address: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RolesAnswer {
    #[serde(default)]
    role_list: Vec<Role>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Role {
    role_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsAnswer {
    role_credentials: Option<Credentials>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    secret_access_key: String,
    #[serde(default)]
    session_token: String,
    /// Epoch milliseconds.
    #[serde(default)]
    expiration: i64,
}

fn page_size(max_results: u32) -> String {
    max_results.clamp(1, 100).to_string()
}

#[async_trait]
impl PortalApi for HttpPortal {
    async fn list_accounts(
        &self,
        access_token: &Secret,
        next_token: Option<&str>,
        max_results: u32,
    ) -> Result<Page<AccountInfo>, ApiError> {
        let size = page_size(max_results);
        let mut query = vec![("max_result", size.as_str())];
        if let Some(token) = next_token {
            query.push(("next_token", token));
        }
        let out: AccountsAnswer = self
            .call(
                reqwest::Method::GET,
                "/assignment/accounts",
                &query,
                access_token,
            )
            .await?
            .json()?;
        Ok(Page {
            items: out
                .account_list
                .into_iter()
                .map(|a| AccountInfo {
                    account_id: a.account_id,
                    account_name: a.account_name,
                    email: a.email_address,
                })
                .collect(),
            next_token: out.next_token,
        })
    }

    async fn list_account_roles(
        &self,
        access_token: &Secret,
        account_id: &str,
        next_token: Option<&str>,
        max_results: u32,
    ) -> Result<Page<String>, ApiError> {
        let size = page_size(max_results);
        let mut query = vec![("account_id", account_id), ("max_result", size.as_str())];
        if let Some(token) = next_token {
            query.push(("next_token", token));
        }
        let out: RolesAnswer = self
            .call(
                reqwest::Method::GET,
                "/assignment/roles",
                &query,
                access_token,
            )
            .await?
            .json()?;
        Ok(Page {
            items: out
                .role_list
                .into_iter()
                .filter_map(|r| r.role_name)
                .collect(),
            next_token: out.next_token,
        })
    }

    async fn get_role_credentials(
        &self,
        access_token: &Secret,
        account_id: &str,
        role_name: &str,
    ) -> Result<RoleCredentials, ApiError> {
        let out: CredentialsAnswer = self
            .call(
                reqwest::Method::GET,
                "/federation/credentials",
                &[("role_name", role_name), ("account_id", account_id)],
                access_token,
            )
            .await?
            .json()?;
        let c = out
            .role_credentials
            .ok_or_else(|| ApiError::Server("no credentials in the answer".into()))?;
        Ok(RoleCredentials {
            access_key_id: c.access_key_id,
            secret_access_key: Secret::new(c.secret_access_key),
            session_token: Secret::new(c.session_token),
            expiration: UNIX_EPOCH
                + Duration::from_millis(u64::try_from(c.expiration).unwrap_or(0)),
        })
    }

    async fn logout(&self, access_token: &Secret) -> Result<(), ApiError> {
        self.call(reqwest::Method::POST, "/logout", &[], access_token)
            .await?;
        Ok(())
    }
}
