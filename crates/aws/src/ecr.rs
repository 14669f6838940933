//! ECR's `GetAuthorizationToken` through `aws-sdk-ecr` (SigV4-signed with a role's
//! credentials): the Docker password of a registry, for `docker-credential-rolecall`.

use std::time::SystemTime;

use aws_sdk_ecr::Client;
use aws_sdk_ecr::config::{BehaviorVersion, Region};
use base64::Engine;
use rolecall_engine::api::{ApiError, RoleCredentials};
use rolecall_engine::secret::Secret;

use crate::sdk::{SdkHttp, api_error, retries};
use crate::wire::{self, Http};

const ATTEMPTS: u32 = 3;

/// A registry's Docker login: the user name (always `AWS`) and the password.
#[derive(Debug)]
pub struct DockerLogin {
    pub username: String,
    pub password: Secret,
    pub expires_at: Option<SystemTime>,
}

/// ECR's own endpoint in `region`: `https://api.ecr.{region}.{dnsSuffix}`.
fn default_endpoint(region: &str) -> Result<String, String> {
    let parsed = rolecall_engine::partition::Region::parse(region)?;
    Ok(format!(
        "https://api.ecr.{region}.{}",
        parsed.partition().dns_suffix()
    ))
}

/// Asks ECR in `region` (at `endpoint`, `AWS_ENDPOINT_URL_ECR` or a config's override, else
/// ECR's own) for the caller's registry password.
pub async fn docker_login(
    creds: &RoleCredentials,
    region: &str,
    endpoint: Option<&str>,
) -> Result<DockerLogin, String> {
    let endpoint = match endpoint {
        Some(url) => url.to_owned(),
        None => default_endpoint(region)?,
    };
    let config = aws_sdk_ecr::Config::builder()
        .http_client(SdkHttp::shared(&Http::default()))
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .retry_config(retries(ATTEMPTS))
        .credentials_provider(crate::sdk_credentials(creds))
        .build();
    let out = Client::from_conf(config)
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| match api_error(&e, wire::json_error) {
            ApiError::Network(why) => format!("ECR did not answer: {why}"),
            ApiError::Other { code, message } => format!("ECR refused: {code}: {message}"),
            other => format!("ECR refused: {other}"),
        })?;
    let data = out
        .authorization_data
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or("ECR gave no authorization data")?;
    let token = Secret::new(
        data.authorization_token
            .ok_or("ECR gave no authorization token")?,
    );
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.expose())
        .map_err(|_| "ECR's authorization token is not base64")?;
    let decoded = Secret::new(String::from_utf8(decoded).map_err(|_| "ECR's token is not UTF-8")?);
    let (user, password) = decoded
        .expose()
        .split_once(':')
        .ok_or("ECR's authorization token is not USER:PASSWORD")?;
    Ok(DockerLogin {
        username: user.to_owned(),
        password: Secret::new(password),
        expires_at: data
            .expires_at
            .and_then(|t| SystemTime::try_from(t).ok())
            .filter(|t| *t >= SystemTime::UNIX_EPOCH),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_is_found_in_the_regions_partition_and_a_bad_region_is_refused() {
        assert_eq!(
            default_endpoint("eu-west-1").as_deref(),
            Ok("https://api.ecr.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            default_endpoint("cn-north-1").as_deref(),
            Ok("https://api.ecr.cn-north-1.amazonaws.com.cn")
        );
        assert!(default_endpoint("evil.example/#").is_err());
    }
}
