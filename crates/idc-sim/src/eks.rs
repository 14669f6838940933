//! A small Kubernetes API for a cluster named `demo`, authenticated as EKS does it (the AWS IAM
//! authenticator): a bearer token `k8s-aws-v1.<base64url of a presigned STS GetCallerIdentity
//! URL>` whose URL is this simulator's STS, that signs the `x-k8s-aws-id` header, names this
//! cluster and is at most 15 minutes old; STS then checks the signature and names the caller.
//!
//! Served over HTTPS (`crate::tls`) under `/eks/<cluster>`: `/version`, `/api`, `/apis`, and `POST
//! /apis/authentication.k8s.io/v1/selfsubjectreviews` (what `kubectl auth whoami` asks), so a
//! real `kubectl` can be pointed at it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::state::{IssuedCredentials, Sim};

/// The one cluster the simulator serves.
pub const CLUSTER: &str = "demo";
const PREFIX: &str = "k8s-aws-v1.";
/// The authenticator's own limit on a token's age, whatever `X-Amz-Expires` says.
const TOKEN_LIFETIME_SECS: i64 = 15 * 60;

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    (code, axum::Json(body)).into_response()
}

fn unauthorized(why: &str) -> Response {
    tracing::info!("eks: token refused: {why}");
    status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized")
}

/// Checks a bearer token as the authenticator does and returns the caller.
fn authenticate(
    sim: &Sim,
    cluster: &str,
    headers: &HeaderMap,
) -> Result<IssuedCredentials, String> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("no bearer token")?;
    let encoded = bearer
        .strip_prefix(PREFIX)
        .ok_or("not a k8s-aws-v1 token")?;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| "the token is not base64url")?;
    let url = String::from_utf8(url).map_err(|_| "the token is not UTF-8")?;
    let sts = format!("{}/sts", sim.base_url);
    let rest = url
        .strip_prefix(&sts)
        .ok_or("the presigned URL is not this simulator's STS")?;
    let query = rest
        .strip_prefix("/?")
        .or_else(|| rest.strip_prefix('?'))
        .ok_or("the presigned URL has no query")?;
    let path = if rest.starts_with("/?") {
        "/sts/"
    } else {
        "/sts"
    };
    let mut action = None;
    let mut signed = None;
    let mut date = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.to_ascii_lowercase().as_str() {
            "action" => action = Some(v.into_owned()),
            "x-amz-signedheaders" => signed = Some(v.into_owned()),
            "x-amz-date" => date = Some(v.into_owned()),
            "version"
            | "x-amz-algorithm"
            | "x-amz-credential"
            | "x-amz-expires"
            | "x-amz-security-token"
            | "x-amz-signature" => {}
            other => return Err(format!("unexpected query parameter {other}")),
        }
    }
    if action.as_deref() != Some("GetCallerIdentity") {
        return Err("not GetCallerIdentity".into());
    }
    if !signed
        .unwrap_or_default()
        .split(';')
        .any(|h| h == "x-k8s-aws-id")
    {
        return Err("x-k8s-aws-id is not signed".into());
    }
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(&date.ok_or("no X-Amz-Date")?, &fmt)
        .map_err(|_| "bad X-Amz-Date")?
        .assume_utc();
    if (OffsetDateTime::now_utc() - at).whole_seconds() > TOKEN_LIFETIME_SECS {
        return Err("X-Amz-Date is more than 15 minutes old".into());
    }
    // What the authenticator sends STS: the URL, with the cluster id header it signed.
    let host = sim
        .base_url
        .strip_prefix("http://")
        .unwrap_or(&sim.base_url)
        .to_owned();
    let mut forwarded = HeaderMap::new();
    forwarded.insert(
        "host",
        HeaderValue::from_str(&host).map_err(|_| "bad host")?,
    );
    forwarded.insert(
        "x-k8s-aws-id",
        HeaderValue::from_str(cluster).map_err(|_| "bad cluster")?,
    );
    let uri: Uri = format!("{path}?{query}")
        .parse()
        .map_err(|_| "bad presigned URL")?;
    crate::sts::caller_of_presigned(sim, &uri, &forwarded).map_err(|e| format!("STS: {e:?}"))
}

/// The identity the authenticator maps a caller to: an assumed role is named by its role's
/// ARN, as EKS canonicalises it.
fn user_info(caller: &IssuedCredentials) -> Value {
    // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION -> arn:aws:iam::ACCOUNT:role/ROLE (the
    // IAM role: AWSReservedSSO_<permission set>_<id> for an SSO role).
    let mut parts = caller
        .arn
        .split_once(":assumed-role/")
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .splitn(2, '/');
    let role = parts.next().unwrap_or(&caller.role_name);
    let session = parts.next().unwrap_or_default();
    let canonical = format!("arn:aws:iam::{}:role/{role}", caller.account_id);
    json!({
        "username": canonical,
        "uid": format!("aws-iam-authenticator:{}:{}", caller.account_id, caller.user_id.split(':').next().unwrap_or_default()),
        "groups": ["system:authenticated"],
        "extra": {
            "arn": [caller.arn],
            "canonicalArn": [canonical],
            "accountId": [caller.account_id],
            "sessionName": [session],
        }
    })
}

/// The cluster's routes (served over TLS by [`crate::tls::serve`]).
pub(crate) fn router(sim: Arc<Sim>) -> axum::Router {
    axum::Router::new()
        .route("/eks/{cluster}/{*rest}", axum::routing::get(get).post(post))
        .with_state(sim)
}

pub(crate) async fn get(
    State(sim): State<Arc<Sim>>,
    Path((cluster, rest)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if cluster != CLUSTER {
        return status(StatusCode::NOT_FOUND, "NotFound", "no such cluster");
    }
    let caller = match authenticate(&sim, &cluster, &headers) {
        Ok(c) => c,
        Err(why) => return unauthorized(&why),
    };
    tracing::info!("eks: GET /{rest} as {}", caller.arn);
    match rest.as_str() {
        "version" => axum::Json(json!({
            "major": "1", "minor": "32", "gitVersion": "v1.32.0-eks-rolecall-sim",
            "platform": "linux/amd64"
        }))
        .into_response(),
        "api" => axum::Json(json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": sim.base_url}]
        }))
        .into_response(),
        "apis" => axum::Json(json!({
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": [{
                "name": "authentication.k8s.io",
                "versions": [{"groupVersion": "authentication.k8s.io/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "authentication.k8s.io/v1", "version": "v1"}
            }]
        }))
        .into_response(),
        "api/v1" => axum::Json(json!({
            "kind": "APIResourceList", "groupVersion": "v1", "resources": []
        }))
        .into_response(),
        "apis/authentication.k8s.io/v1" => axum::Json(json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "authentication.k8s.io/v1",
            "resources": [{"name": "selfsubjectreviews", "singularName": "selfsubjectreview", "namespaced": false,
                           "kind": "SelfSubjectReview", "verbs": ["create"]}]
        }))
        .into_response(),
        _ => status(StatusCode::NOT_FOUND, "NotFound", "the server could not find the requested resource"),
    }
}

pub(crate) async fn post(
    State(sim): State<Arc<Sim>>,
    Path((cluster, rest)): Path<(String, String)>,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    if cluster != CLUSTER {
        return status(StatusCode::NOT_FOUND, "NotFound", "no such cluster");
    }
    let caller = match authenticate(&sim, &cluster, &headers) {
        Ok(c) => c,
        Err(why) => return unauthorized(&why),
    };
    match rest.as_str() {
        "apis/authentication.k8s.io/v1/selfsubjectreviews" => (
            StatusCode::CREATED,
            axum::Json(json!({
                "kind": "SelfSubjectReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": null},
                "status": {"userInfo": user_info(&caller)}
            })),
        )
            .into_response(),
        _ => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}
