//! STS through aws-sdk-sts, signing each call with the credentials it is given.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::Credentials;
use rolecall_engine::api::{ApiError, CallerIdentity, RoleCredentials, StsApi};
use rolecall_engine::secret::Secret;

use crate::errors::classify;

#[derive(Debug, Clone)]
pub struct SdkSts {
    client: aws_sdk_sts::Client,
}

impl SdkSts {
    pub fn new(client: aws_sdk_sts::Client) -> Self {
        Self { client }
    }
}

fn signing(creds: &RoleCredentials) -> aws_sdk_sts::config::Builder {
    aws_sdk_sts::config::Builder::default().credentials_provider(Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.expose(),
        Some(creds.session_token.expose().to_owned()),
        Some(creds.expiration),
        "rolecall",
    ))
}

#[async_trait]
impl StsApi for SdkSts {
    async fn get_caller_identity(
        &self,
        credentials: &RoleCredentials,
    ) -> Result<CallerIdentity, ApiError> {
        let out = self
            .client
            .get_caller_identity()
            .customize()
            .config_override(signing(credentials))
            .send()
            .await
            .map_err(classify)?;
        Ok(CallerIdentity {
            account: out.account.unwrap_or_default(),
            arn: out.arn.unwrap_or_default(),
            user_id: out.user_id.unwrap_or_default(),
        })
    }

    async fn assume_role(
        &self,
        credentials: &RoleCredentials,
        role_arn: &str,
        session_name: &str,
        duration: Duration,
    ) -> Result<RoleCredentials, ApiError> {
        let out = self
            .client
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .duration_seconds(i32::try_from(duration.as_secs()).unwrap_or(3600))
            .customize()
            .config_override(signing(credentials))
            .send()
            .await
            .map_err(classify)?;
        let c = out
            .credentials
            .ok_or_else(|| ApiError::Server("no credentials in the answer".into()))?;
        let expiration = SystemTime::try_from(c.expiration).unwrap_or(SystemTime::UNIX_EPOCH);
        Ok(RoleCredentials {
            access_key_id: c.access_key_id,
            secret_access_key: Secret::new(c.secret_access_key),
            session_token: Secret::new(c.session_token),
            expiration,
        })
    }
}
