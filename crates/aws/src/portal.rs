//! The access portal through `aws-sdk-sso` (unsigned, the access token in
//! `x-amz-sso_bearer_token`): `ListAccounts`, `ListAccountRoles`, `GetRoleCredentials`,
//! `Logout`. Never retried here (the SDK's retries are off): the role catalogue paces and
//! retries every portal call itself, so no retry slips past its rate limiter.

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_sso::Client;
use aws_sdk_sso::config::retry::RetryConfig;
use aws_sdk_sso::config::{BehaviorVersion, Region};
use rolecall_engine::api::{AccountInfo, ApiError, Page, PortalApi, RoleCredentials};
use rolecall_engine::secret::Secret;

use crate::sdk::{SdkHttp, api_error};
use crate::wire::{self, Http};

#[derive(Debug, Clone)]
pub struct HttpPortal {
    client: Client,
}

impl HttpPortal {
    /// The portal at `endpoint` (`https://portal.sso.{region}.{dnsSuffix}` or an override) in
    /// `region`.
    pub fn new(http: Http, endpoint: impl Into<String>, region: impl Into<String>) -> Self {
        let config = aws_sdk_sso::Config::builder()
            .http_client(SdkHttp::shared(&http))
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.into()))
            .endpoint_url(endpoint.into())
            .retry_config(RetryConfig::disabled())
            .build();
        Self {
            client: Client::from_conf(config),
        }
    }
}

fn failed<E: std::error::Error + 'static>(
    e: &aws_sdk_sso::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> ApiError {
    api_error(e, wire::json_error)
}

fn page_size(max_results: u32) -> i32 {
    i32::try_from(max_results.clamp(1, 100)).unwrap_or(100)
}

#[async_trait]
impl PortalApi for HttpPortal {
    async fn list_accounts(
        &self,
        access_token: &Secret,
        next_token: Option<&str>,
        max_results: u32,
    ) -> Result<Page<AccountInfo>, ApiError> {
        let out = self
            .client
            .list_accounts()
            .access_token(access_token.expose())
            .max_results(page_size(max_results))
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| failed(&e))?;
        Ok(Page {
            items: out
                .account_list
                .unwrap_or_default()
                .into_iter()
                .map(|a| AccountInfo {
                    account_id: a.account_id.unwrap_or_default(),
                    account_name: a.account_name.unwrap_or_default(),
                    email: a.email_address.unwrap_or_default(),
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
        let out = self
            .client
            .list_account_roles()
            .access_token(access_token.expose())
            .account_id(account_id)
            .max_results(page_size(max_results))
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| failed(&e))?;
        Ok(Page {
            items: out
                .role_list
                .unwrap_or_default()
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
        let out = self
            .client
            .get_role_credentials()
            .access_token(access_token.expose())
            .account_id(account_id)
            .role_name(role_name)
            .send()
            .await
            .map_err(|e| failed(&e))?;
        let c = out
            .role_credentials
            .ok_or_else(|| ApiError::Server("no credentials in the answer".into()))?;
        Ok(RoleCredentials {
            access_key_id: c.access_key_id.unwrap_or_default(),
            secret_access_key: Secret::new(c.secret_access_key.unwrap_or_default()),
            session_token: Secret::new(c.session_token.unwrap_or_default()),
            expiration: UNIX_EPOCH
                + Duration::from_millis(u64::try_from(c.expiration).unwrap_or(0)),
        })
    }

    async fn logout(&self, access_token: &Secret) -> Result<(), ApiError> {
        self.client
            .logout()
            .access_token(access_token.expose())
            .send()
            .await
            .map_err(|e| failed(&e))?;
        Ok(())
    }
}
