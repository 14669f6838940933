//! ECR's `GetAuthorizationToken` (JSON 1.1, SigV4-signed with a role's credentials): the Docker
//! password of a registry, for `docker-credential-rolecall`.

use std::time::{Duration, SystemTime};

use base64::Engine;
use rolecall_engine::api::{ApiError, RoleCredentials};
use rolecall_engine::secret::Secret;
use serde::Deserialize;

use crate::wire::{self, Http};

const ATTEMPTS: usize = 3;
const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";

/// A registry's Docker login: the user name (always `AWS`) and the password.
#[derive(Debug)]
pub struct DockerLogin {
    pub username: String,
    pub password: Secret,
    pub expires_at: Option<SystemTime>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenAnswer {
    #[serde(default)]
    authorization_data: Vec<AuthorizationData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationData {
    authorization_token: Option<String>,
    /// Epoch seconds, with a fraction.
    expires_at: Option<f64>,
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
    let http = Http::default();
    let url = wire::url(&endpoint, "/").map_err(|e| e.to_string())?;
    let answer = wire::with_retries(ATTEMPTS, || async {
        let request = http
            .client(&url)?
            .post(url.clone())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", TARGET)
            .body("{}");
        wire::exchange(
            wire::sign(request, creds, "ecr", region, b"{}")?,
            wire::json_error,
        )
        .await
    })
    .await
    .map_err(|e| match e {
        ApiError::Network(why) => format!("ECR did not answer: {why}"),
        ApiError::Other { code, message } => format!("ECR refused: {code}: {message}"),
        other => format!("ECR refused: {other}"),
    })?;
    let out: TokenAnswer = answer.json().map_err(|_| "ECR's answer is unreadable")?;
    let data = out
        .authorization_data
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
            .filter(|s| s.is_finite() && *s >= 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .map(|d| SystemTime::UNIX_EPOCH + d),
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
