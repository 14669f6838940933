//! STS through `aws-sdk-sts` (SigV4-signed with the credentials each call is given):
//! `GetCallerIdentity` and `AssumeRole`. Three attempts on a transient error, in the SDK's
//! standard retry mode.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_sts::Client;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use rolecall_engine::api::{ApiError, CallerIdentity, RoleCredentials, StsApi};
use rolecall_engine::secret::Secret;

use crate::errors::from_code;
use crate::sdk::{SdkHttp, api_error, retries};
use crate::wire::{Answer, Http};

const ATTEMPTS: u32 = 3;

/// The STS endpoint of a call or of a presigned token: `sts_override` (the session's endpoint,
/// or `AWS_ENDPOINT_URL_STS`), else the regional endpoint of the region's partition.
pub fn sts_endpoint(sts_override: Option<&str>, region: &str, dns_suffix: &str) -> String {
    match sts_override {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("https://sts.{region}.{dns_suffix}"),
    }
}

#[derive(Debug, Clone)]
pub struct HttpSts {
    http: Http,
    endpoint: String,
    region: String,
}

impl HttpSts {
    /// STS at `endpoint` (`https://sts.{region}.{dnsSuffix}` or an override), signing for
    /// `region`.
    pub fn new(http: Http, endpoint: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            http,
            endpoint: endpoint.into(),
            region: region.into(),
        }
    }

    /// A client that signs with `creds` (each call is given its own).
    fn client(&self, creds: &RoleCredentials) -> Client {
        let config = aws_sdk_sts::Config::builder()
            .http_client(SdkHttp::shared(&self.http))
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .endpoint_url(&self.endpoint)
            .retry_config(retries(ATTEMPTS))
            .credentials_provider(crate::sdk_credentials(creds))
            .build();
        Client::from_conf(config)
    }
}

/// A query-protocol error, as the SDK read it: its code and message, with the answer's status.
pub(crate) fn failed<E>(e: &aws_sdk_sts::error::SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let Some(raw) = e.raw_response() else {
        return api_error(e, Answer::unreadable);
    };
    let status = raw.status().as_u16();
    if (200..300).contains(&status) {
        return ApiError::Network(format!("unreadable answer (HTTP {status})"));
    }
    let message = e
        .message()
        .filter(|m| !m.is_empty())
        .map_or_else(|| format!("HTTP {status}"), str::to_owned);
    from_code(status, e.code().unwrap_or_default(), message)
}

fn time(t: &aws_sdk_sts::primitives::DateTime) -> Option<SystemTime> {
    SystemTime::try_from(*t).ok()
}

#[async_trait]
impl StsApi for HttpSts {
    async fn get_caller_identity(
        &self,
        credentials: &RoleCredentials,
    ) -> Result<CallerIdentity, ApiError> {
        let out = self
            .client(credentials)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| failed(&e))?;
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
            .client(credentials)
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .duration_seconds(i32::try_from(duration.as_secs()).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| failed(&e))?;
        let c = out
            .credentials
            .ok_or_else(|| ApiError::Server("no Credentials in the AssumeRole answer".into()))?;
        let present = |k: &str, v: String| {
            if v.is_empty() {
                Err(ApiError::Server(format!("no {k} in the AssumeRole answer")))
            } else {
                Ok(v)
            }
        };
        Ok(RoleCredentials {
            access_key_id: present("AccessKeyId", c.access_key_id)?,
            secret_access_key: Secret::new(present("SecretAccessKey", c.secret_access_key)?),
            session_token: Secret::new(present("SessionToken", c.session_token)?),
            expiration: time(&c.expiration).ok_or_else(|| {
                ApiError::Server("the AssumeRole answer's Expiration is unreadable".into())
            })?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sts_endpoint_is_the_override_or_the_partitions() {
        assert_eq!(
            sts_endpoint(None, "cn-north-1", "amazonaws.com.cn"),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            sts_endpoint(
                Some("http://127.0.0.1:9/sts/"),
                "us-east-1",
                "amazonaws.com"
            ),
            "http://127.0.0.1:9/sts"
        );
    }
}
