//! What retiring a long-term access key asks of AWS, through the official SDK with a role's
//! temporary credentials: the key's account (STS `GetAccessKeyInfo`), its last use
//! (IAM `GetAccessKeyLastUsed`) and making it inactive (IAM `UpdateAccessKey`). A key is never
//! deleted here: the person does that in IAM once nothing broke.

use std::time::SystemTime;

use aws_sdk_iam::types::StatusType;
use rolecall_engine::api::{ApiError, RoleCredentials};

use crate::sdk::{SdkHttp, retries};
use crate::sts::failed;
use crate::wire::Http;

const ATTEMPTS: u32 = 3;

/// A key's last use, as IAM records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUse {
    /// The IAM user the key belongs to.
    pub user_name: String,
    /// None when the key was never used.
    pub when: Option<SystemTime>,
    /// `sts`, `s3`, ..., or `N/A`.
    pub service: String,
    pub region: String,
}

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
        sts_endpoint: impl Into<String>,
        iam_endpoint: Option<String>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            http: Http::default(),
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

    /// The account a key id belongs to (any caller may ask).
    pub async fn account_of(
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

    /// When the key was last used, and whose it is.
    pub async fn last_used(
        &self,
        creds: &RoleCredentials,
        access_key_id: &str,
    ) -> Result<LastUse, ApiError> {
        let out = self
            .iam(creds)
            .get_access_key_last_used()
            .access_key_id(access_key_id)
            .send()
            .await
            .map_err(|e| failed(&e))?;
        let used = out.access_key_last_used;
        Ok(LastUse {
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

    /// Makes the key inactive (it can be made active again in IAM; it is not deleted).
    pub async fn deactivate(
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
