//! ECR's `GetAuthorizationToken` through aws-sdk-ecr: the Docker password of a registry, for
//! `docker-credential-rolecall`, signed with a role's credentials.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sdk_ecr::config::{BehaviorVersion, Region};
use base64::Engine;
use rolecall_engine::api::RoleCredentials;
use rolecall_engine::secret::Secret;

/// A registry's Docker login: the user name (always `AWS`) and the password.
#[derive(Debug)]
pub struct DockerLogin {
    pub username: String,
    pub password: Secret,
    pub expires_at: Option<SystemTime>,
}

/// Asks ECR in `region` (at `endpoint`, `AWS_ENDPOINT_URL_ECR` or a config's override, else
/// ECR's own) for the caller's registry password.
pub async fn docker_login(
    creds: &RoleCredentials,
    region: &str,
    endpoint: Option<&str>,
) -> Result<DockerLogin, String> {
    let mut config = aws_sdk_ecr::Config::builder()
        .http_client(crate::https_client())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .timeout_config(crate::timeouts())
        .credentials_provider(Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.expose(),
            Some(creds.session_token.expose().to_owned()),
            Some(creds.expiration),
            "rolecall",
        ));
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    let client = aws_sdk_ecr::Client::from_conf(config.build());
    let out = client.get_authorization_token().send().await.map_err(|e| {
        use aws_sdk_ecr::error::ProvideErrorMetadata;
        match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("ECR refused: {code}: {message}"),
            _ => format!(
                "ECR did not answer: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ),
        }
    })?;
    let data = out
        .authorization_data()
        .first()
        .ok_or("ECR gave no authorization data")?;
    let token = data
        .authorization_token()
        .ok_or("ECR gave no authorization token")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
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
            .expires_at()
            .and_then(|t| SystemTime::try_from(*t).ok()),
    })
}
