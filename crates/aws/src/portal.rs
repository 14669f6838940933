//! The access portal through aws-sdk-sso (its own retries off; the catalogue paces and retries).

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use rolecall_engine::api::{AccountInfo, ApiError, Page, PortalApi, RoleCredentials};
use rolecall_engine::secret::Secret;

use crate::errors::classify;

#[derive(Debug, Clone)]
pub struct SdkPortal {
    client: aws_sdk_sso::Client,
}

impl SdkPortal {
    pub fn new(client: aws_sdk_sso::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl PortalApi for SdkPortal {
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
            .set_next_token(next_token.map(str::to_owned))
            .max_results(i32::try_from(max_results).unwrap_or(100))
            .send()
            .await
            .map_err(classify)?;
        let items = out
            .account_list
            .unwrap_or_default()
            .into_iter()
            .map(|a| AccountInfo {
                account_id: a.account_id.unwrap_or_default(),
                account_name: a.account_name.unwrap_or_default(),
                email: a.email_address.unwrap_or_default(),
            })
            .collect();
        Ok(Page {
            items,
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
            .set_next_token(next_token.map(str::to_owned))
            .max_results(i32::try_from(max_results).unwrap_or(100))
            .send()
            .await
            .map_err(classify)?;
        let items = out
            .role_list
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.role_name)
            .collect();
        Ok(Page {
            items,
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
            .map_err(classify)?;
        let c = out
            .role_credentials
            .ok_or_else(|| ApiError::Server("no credentials in the answer".into()))?;
        Ok(RoleCredentials {
            access_key_id: c.access_key_id.unwrap_or_default(),
            secret_access_key: Secret::new(c.secret_access_key.unwrap_or_default()),
            session_token: Secret::new(c.session_token.unwrap_or_default()),
            // The portal gives epoch milliseconds.
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
            .map_err(classify)?;
        Ok(())
    }
}
