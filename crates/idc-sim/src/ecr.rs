//! ECR's `GetAuthorizationToken` (JSON 1.1, SigV4 for the `ecr` service, verified against
//! credentials this simulator issued), and a registry's `/v2/` door that takes the password
//! it hands out, as `docker login` would use it.
//!
//! `POST /ecr` with `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken`
//! answers `authorizationData` for the caller's account: a token that is base64 of
//! `AWS:<password>`, good for 12 hours, and the registry's `proxyEndpoint`.
//! `GET /registry/<account id>/v2/` with Basic `AWS:<password>` answers 200 for a password
//! issued to that account and still good, 401 otherwise.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;
use time::OffsetDateTime;

use crate::ids;
use crate::sigv4::{self, SignedRequest};
use crate::state::{IssuedCredentials, IssuedProblem, Sim};

const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
const PASSWORD_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// A password handed out by GetAuthorizationToken.
#[derive(Debug, Clone)]
pub(crate) struct RegistryPassword {
    pub account_id: String,
    pub arn: String,
    pub expires: SystemTime,
}

pub(crate) fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({ "__type": kind, "message": message })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(kind) {
        response.headers_mut().insert("x-amzn-errortype", v);
    }
    response
}

/// Why a request was refused: status, error type, message.
type Refusal = (StatusCode, &'static str, String);

fn authenticate(
    sim: &Sim,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<IssuedCredentials, Refusal> {
    let denied = |m: &str| {
        (
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            m.to_owned(),
        )
    };
    let auth = sigv4::parse_authorization(headers).map_err(|e| {
        (
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            e.to_string(),
        )
    })?;
    if auth.service != "ecr" {
        return Err(denied(
            "Credential should be scoped to correct service: 'ecr'.",
        ));
    }
    let token = headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    let issued = sim
        .issued_for(&auth.access_key_id, token)
        .map_err(|problem| match problem {
            IssuedProblem::Unknown => {
                denied("The security token included in the request is invalid.")
            }
            IssuedProblem::Expired => (
                StatusCode::FORBIDDEN,
                "ExpiredTokenException",
                "The security token included in the request is expired".into(),
            ),
        })?;
    let request = SignedRequest {
        method: &Method::POST,
        raw_path: uri.path(),
        raw_query: uri.query(),
        headers,
        body,
    };
    sigv4::verify(
        &request,
        &auth,
        &issued.secret_access_key,
        OffsetDateTime::now_utc(),
    )
    .map_err(|e| {
        (
            StatusCode::FORBIDDEN,
            "InvalidSignatureException",
            e.to_string(),
        )
    })?;
    Ok(issued)
}

pub(crate) async fn api(
    State(sim): State<Arc<Sim>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let caller = match authenticate(&sim, &uri, &headers, &body) {
        Ok(c) => c,
        Err((status, kind, message)) => return error(status, kind, &message),
    };
    if target != TARGET {
        return error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "the simulator's ECR knows GetAuthorizationToken only",
        );
    }
    sim.ledger().count("GetAuthorizationToken");
    let password = ids::token("eyJwYXlsb2FkIjoi", 96);
    let expires = sim.now() + PASSWORD_LIFETIME;
    sim.ledger().registry_passwords.insert(
        password.clone(),
        RegistryPassword {
            account_id: caller.account_id.clone(),
            arn: caller.arn.clone(),
            expires,
        },
    );
    let region = sigv4::parse_authorization(&headers)
        .map(|a| a.region)
        .unwrap_or_else(|_| "us-east-1".into());
    let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    let expires_at = expires
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut response = axum::Json(json!({
        "authorizationData": [{
            "authorizationToken": token,
            "expiresAt": expires_at,
            "proxyEndpoint": format!("https://{}.dkr.ecr.{region}.amazonaws.com", caller.account_id),
        }]
    }))
    .into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

/// A registry's `/v2/` check, as `docker login` makes it.
pub(crate) async fn registry(
    State(sim): State<Arc<Sim>>,
    Path(account_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let challenge = || {
        let mut r = (StatusCode::UNAUTHORIZED, "not authorized\n").into_response();
        r.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Basic realm=\"simulated ECR\""),
        );
        r
    };
    let Some(pair) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
    else {
        return challenge();
    };
    let Some(password) = pair.strip_prefix("AWS:") else {
        return challenge();
    };
    let found = sim.ledger().registry_passwords.get(password).cloned();
    match found {
        Some(p) if p.account_id == account_id && p.expires > sim.now() => {
            axum::Json(json!({ "account": p.account_id, "arn": p.arn })).into_response()
        }
        _ => challenge(),
    }
}
