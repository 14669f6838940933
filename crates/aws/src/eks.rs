//! EKS authentication tokens, as `aws eks get-token` and the AWS IAM authenticator define them:
//! `k8s-aws-v1.` + base64url (no padding) of an STS `GetCallerIdentity` URL presigned with the
//! role's credentials, signing the `x-k8s-aws-id` header that names the cluster. The cluster
//! hands the URL to STS, which answers who signed it; the token holds no key, only a signature
//! that is good for 15 minutes.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use rolecall_engine::api::RoleCredentials;
use rolecall_engine::secret::Secret;

pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// What the presigned URL says of itself (`X-Amz-Expires`), as the AWS CLI writes it.
const URL_EXPIRES: Duration = Duration::from_secs(60);
/// When kubectl should ask again: the authenticator accepts a token for 15 minutes after it
/// was signed; the AWS CLI says 14 to leave a margin, and so do we.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);

/// A token for `cluster`, signed at `now`, and when it stops being good.
pub fn token(
    creds: &RoleCredentials,
    sts: &str,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<(Secret, SystemTime), String> {
    let url = url::Url::parse(sts).map_err(|e| format!("bad STS endpoint {sts:?}: {e}"))?;
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return Err(format!("bad STS endpoint {sts:?}: no host")),
    };
    let path = if url.path().is_empty() {
        "/"
    } else {
        url.path()
    };
    let unsigned = format!(
        "{}://{host}{path}?Action=GetCallerIdentity&Version=2011-06-15",
        url.scheme()
    );
    let identity = crate::identity(creds);
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(URL_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| format!("cannot sign: {e}"))?
        .into();
    let headers = [("host", host.as_str()), ("x-k8s-aws-id", cluster)];
    let request = SignableRequest::new(
        "GET",
        unsigned.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| format!("cannot sign: {e}"))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| format!("cannot sign: {e}"))?
        .into_parts();
    let mut signed = url::Url::parse(&unsigned).map_err(|e| e.to_string())?;
    {
        let mut query = signed.query_pairs_mut();
        for (name, value) in instructions.params() {
            query.append_pair(name, value);
        }
    }
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed.as_str());
    Ok((
        Secret::new(format!("{TOKEN_PREFIX}{encoded}")),
        now + TOKEN_LIFETIME,
    ))
}

/// The `client.authentication.k8s.io/v1beta1` ExecCredential kubectl reads from an exec plugin.
pub fn exec_credential(token: &Secret, expires: SystemTime) -> Secret {
    let body = serde_json::json!({
        "kind": "ExecCredential",
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "spec": {},
        "status": {
            "expirationTimestamp": rolecall_engine::shell::rfc3339(expires),
            "token": token.expose(),
        }
    });
    Secret::new(format!("{body}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("secret"),
            session_token: Secret::new("token/with+chars="),
            expiration: SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000),
        }
    }

    #[test]
    fn a_token_is_a_presigned_get_caller_identity_for_the_cluster() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (token, expires) = token(
            &creds(),
            "https://sts.eu-west-1.amazonaws.com",
            "eu-west-1",
            "prod",
            now,
        )
        .expect("token");
        assert_eq!(expires, now + TOKEN_LIFETIME);
        let encoded = token.expose().strip_prefix(TOKEN_PREFIX).expect("prefix");
        assert!(!encoded.contains('='), "no padding");
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded)
                .expect("base64url"),
        )
        .expect("utf-8");
        let url = url::Url::parse(&url).expect("url");
        assert_eq!(url.host_str(), Some("sts.eu-west-1.amazonaws.com"));
        let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["Action"], "GetCallerIdentity");
        assert_eq!(q["X-Amz-Expires"], "60");
        assert_eq!(q["X-Amz-SignedHeaders"], "host;x-k8s-aws-id");
        assert_eq!(q["X-Amz-Security-Token"], "token/with+chars=");
        assert!(
            q["X-Amz-Credential"].starts_with("ASIAEXAMPLE/20270115/eu-west-1/sts/aws4_request")
        );
        assert!(!url.as_str().contains("secret"), "no secret key in a token");
        let json = exec_credential(&token, expires);
        let v: serde_json::Value = serde_json::from_str(json.expose()).expect("json");
        assert_eq!(v["status"]["token"], token.expose());
        assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1beta1");
    }
}
