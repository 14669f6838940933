//! What retiring a long-term access key asks of AWS, through the official SDK with a role's
//! temporary credentials: the key's account (STS `GetAccessKeyInfo`), its last use
//! (IAM `GetAccessKeyLastUsed`) and making it inactive (IAM `UpdateAccessKey`). A key is never
//! deleted here: the person does that in IAM once nothing broke.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_iam::types::StatusType;
use rolecall_engine::api::{ApiError, KeyApi, KeyLastUse, RoleCredentials};

use crate::sdk::{SdkHttp, retries};
use crate::sts::failed;
use crate::wire::Http;

const ATTEMPTS: u32 = 3;

/// STS and IAM as the key calls need them. IAM's endpoint is the SDK's own for `region`'s
/// partition (`iam.amazonaws.com`, `iam.us-gov.amazonaws.com`, ...) unless overridden
/// (`AWS_ENDPOINT_URL_IAM`).
#[derive(Debug, Clone)]
pub struct KeyCalls {
    http: Http,
    sts_endpoint: String,
    iam_endpoint: Option<String>,
    region: String,
}

impl KeyCalls {
    pub fn new(
        http: Http,
        sts_endpoint: impl Into<String>,
        iam_endpoint: Option<String>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            http,
            sts_endpoint: sts_endpoint.into(),
            iam_endpoint,
            region: region.into(),
        }
    }

    fn sts(&self, creds: &RoleCredentials) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::Config::builder()
                .http_client(SdkHttp::shared(&self.http))
                .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
                .region(aws_sdk_sts::config::Region::new(self.region.clone()))
                .endpoint_url(&self.sts_endpoint)
                .retry_config(retries(ATTEMPTS))
                .credentials_provider(crate::sdk_credentials(creds))
                .build(),
        )
    }

    fn iam(&self, creds: &RoleCredentials) -> aws_sdk_iam::Client {
        let mut config = aws_sdk_iam::Config::builder()
            .http_client(SdkHttp::shared(&self.http))
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new(self.region.clone()))
            .retry_config(retries(ATTEMPTS))
            .credentials_provider(crate::sdk_credentials(creds));
        if let Some(url) = &self.iam_endpoint {
            config = config.endpoint_url(url);
        }
        aws_sdk_iam::Client::from_conf(config.build())
    }
}

#[async_trait]
impl KeyApi for KeyCalls {
    async fn account_of(
        &self,
        creds: &RoleCredentials,
        access_key_id: &str,
    ) -> Result<String, ApiError> {
        let out = self
            .sts(creds)
            .get_access_key_info()
            .access_key_id(access_key_id)
            .send()
            .await
            .map_err(|e| failed(&e))?;
        out.account
            .filter(|a| !a.is_empty())
            .ok_or_else(|| ApiError::Server("no Account in the GetAccessKeyInfo answer".into()))
    }

    async fn last_used(
        &self,
        creds: &RoleCredentials,
        access_key_id: &str,
    ) -> Result<KeyLastUse, ApiError> {
        let out = self
            .iam(creds)
            .get_access_key_last_used()
            .access_key_id(access_key_id)
            .send()
            .await
            .map_err(|e| failed(&e))?;
        let used = out.access_key_last_used;
        Ok(KeyLastUse {
            user_name: out.user_name.unwrap_or_default(),
            when: used
                .as_ref()
                .and_then(|u| u.last_used_date)
                .and_then(|t| SystemTime::try_from(t).ok()),
            service: used
                .as_ref()
                .map(|u| u.service_name.clone())
                .unwrap_or_default(),
            region: used.map(|u| u.region).unwrap_or_default(),
        })
    }

    async fn deactivate(
        &self,
        creds: &RoleCredentials,
        access_key_id: &str,
        user_name: Option<&str>,
    ) -> Result<(), ApiError> {
        self.iam(creds)
            .update_access_key()
            .access_key_id(access_key_id)
            .set_user_name(user_name.map(str::to_owned))
            .status(StatusType::Inactive)
            .send()
            .await
            .map_err(|e| failed(&e))?;
        Ok(())
    }
}
