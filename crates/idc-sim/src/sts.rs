//! STS in the query protocol (form or query parameters in, XML out): GetCallerIdentity and
//! AssumeRole, each verifying the SigV4 signature against credentials this simulator issued.
//! Role chaining (AssumeRole) is capped at one hour, as in the service.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::StsError;
use crate::html::escape;
use crate::ids;
use crate::query;
use crate::sigv4::{self, SigV4Error, SignedRequest};
use crate::state::{IssuedCredentials, IssuedProblem, Sim, role_unique_id};

const CHAIN_CAP: Duration = Duration::from_secs(3600);

pub(crate) const STS: query::Service = query::Service {
    version: "2011-06-15",
    namespace: "https://sts.amazonaws.com/doc/2011-06-15/",
    act,
};

pub(crate) async fn handle(
    State(sim): State<Arc<Sim>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    query::serve(&STS, &sim, &method, &uri, &headers, &body)
}

fn act(
    sim: &Sim,
    caller: &IssuedCredentials,
    action: &str,
    params: &HashMap<String, String>,
) -> Option<Result<String, StsError>> {
    Some(match action {
        "GetCallerIdentity" => Ok(envelope(
            "GetCallerIdentity",
            &format!(
                "<Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>",
                escape(&caller.arn),
                escape(&caller.user_id),
                caller.account_id
            ),
        )),
        "AssumeRole" => assume_role(sim, caller, params),
        "GetAccessKeyInfo" => get_access_key_info(sim, params),
        _ => return None,
    })
}

fn get_access_key_info(sim: &Sim, params: &HashMap<String, String>) -> Result<String, StsError> {
    let key = params
        .get("AccessKeyId")
        .ok_or_else(|| StsError::validation("AccessKeyId is required"))?;
    // AWS reads the account out of any key id; the simulator knows the ones it made.
    let account = sim.ledger().account_of_key(key).ok_or_else(|| {
        StsError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            format!("The access key id {key} was not issued by this simulator"),
        )
    })?;
    Ok(envelope(
        "GetAccessKeyInfo",
        &format!("<Account>{account}</Account>"),
    ))
}

/// Finds the issued credentials behind the signature and checks it (STS and IAM share this).
pub(crate) fn authenticate(
    sim: &Sim,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<IssuedCredentials, StsError> {
    if let Some(presigned) = sigv4::parse_presigned(uri.query()) {
        return authenticate_presigned(sim, method, uri, headers, body, presigned);
    }
    let auth = sigv4::parse_authorization(headers).map_err(|e| match e {
        SigV4Error::Missing => StsError::missing_auth(),
        other => StsError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            other.to_string(),
        ),
    })?;
    let token = headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    let issued = sim
        .issued_for(&auth.access_key_id, token)
        .map_err(sts_problem)?;
    let request = SignedRequest {
        method,
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
    .map_err(|e| StsError::signature_mismatch(e.to_string()))?;
    sim.ledger()
        .note_key_use(&auth.access_key_id, &auth.service, &auth.region, sim.now());
    Ok(issued)
}

/// A presigned URL (query-string authentication), as EKS tokens carry GetCallerIdentity.
fn sts_problem(problem: IssuedProblem) -> StsError {
    match problem {
        IssuedProblem::Unknown => StsError::invalid_client_token(),
        IssuedProblem::Expired => StsError::expired_token(),
    }
}

fn authenticate_presigned(
    sim: &Sim,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    presigned: Result<sigv4::Presigned, SigV4Error>,
) -> Result<IssuedCredentials, StsError> {
    let presigned = presigned.map_err(|e| {
        StsError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "AuthorizationQueryParametersError",
            e.to_string(),
        )
    })?;
    let issued = sim
        .issued_for(
            &presigned.auth.access_key_id,
            presigned.security_token.as_deref(),
        )
        .map_err(sts_problem)?;
    let request = SignedRequest {
        method,
        raw_path: uri.path(),
        raw_query: uri.query(),
        headers,
        body,
    };
    sigv4::verify_presigned(
        &request,
        &presigned,
        &issued.secret_access_key,
        OffsetDateTime::now_utc(),
    )
    .map_err(|e| match e {
        SigV4Error::Skewed => StsError::new(
            axum::http::StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired",
        ),
        other => StsError::signature_mismatch(other.to_string()),
    })?;
    Ok(issued)
}

/// The identity behind a presigned GetCallerIdentity URL, checked as STS checks it; for the
/// simulated EKS authenticator, which hands STS the URL with the `x-k8s-aws-id` header.
pub(crate) fn caller_of_presigned(
    sim: &Sim,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<IssuedCredentials, StsError> {
    let presigned = sigv4::parse_presigned(uri.query()).ok_or_else(StsError::missing_auth)?;
    let params: HashMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if params.get("Action").map(String::as_str) != Some("GetCallerIdentity") {
        return Err(StsError::access_denied("not a GetCallerIdentity request"));
    }
    let caller = authenticate_presigned(sim, &Method::GET, uri, headers, &[], presigned)?;
    sim.ledger().count("GetCallerIdentity");
    Ok(caller)
}

fn envelope(action: &str, result: &str) -> String {
    query::envelope(&STS, action, Some(result))
}

fn assume_role(
    sim: &Sim,
    caller: &IssuedCredentials,
    params: &HashMap<String, String>,
) -> Result<String, StsError> {
    let role_arn = params
        .get("RoleArn")
        .ok_or_else(|| StsError::validation("RoleArn is required"))?;
    let session_name = params
        .get("RoleSessionName")
        .ok_or_else(|| StsError::validation("RoleSessionName is required"))?;
    let valid_name = (2..=64).contains(&session_name.len())
        && session_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !valid_name {
        return Err(StsError::validation(
            "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    let duration = match params.get("DurationSeconds") {
        None => CHAIN_CAP,
        Some(d) => Duration::from_secs(
            d.parse()
                .map_err(|_| StsError::validation("DurationSeconds must be a number"))?,
        ),
    };
    if duration < Duration::from_secs(900) {
        return Err(StsError::validation("DurationSeconds must be at least 900"));
    }
    if duration > CHAIN_CAP {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    let (account_id, role_name) = parse_role_arn(role_arn)
        .ok_or_else(|| StsError::validation(format!("{role_arn} is not a valid role ARN")))?;
    let allowed = sim
        .opts
        .org
        .all_accounts()
        .iter()
        .any(|a| a.id == account_id && a.chain_roles.iter().any(|r| r == role_name));
    if !allowed {
        return Err(StsError::access_denied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            caller.arn
        )));
    }
    let role_id = role_unique_id(role_arn.as_bytes());
    let arn = format!("arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}");
    let user_id = format!("{role_id}:{session_name}");
    let expires = sim.now() + duration;
    let access_key_id = ids::access_key_id();
    let issued = IssuedCredentials {
        secret_access_key: ids::secret_access_key(),
        session_token: ids::token("FwoGZXIvYXdzE", 160),
        account_id: account_id.to_owned(),
        role_name: role_name.to_owned(),
        arn: arn.clone(),
        user_id: user_id.clone(),
        expires,
        chained: true,
    };
    let expiration = OffsetDateTime::from_unix_timestamp(
        expires
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    )
    .map_err(|_| StsError::internal())?
    .format(&Rfc3339)
    .map_err(|_| StsError::internal())?;
    let xml = envelope(
        "AssumeRole",
        &format!(
            "<Credentials>\n      <AccessKeyId>{access_key_id}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>\n    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>",
            escape(&issued.secret_access_key),
            escape(&issued.session_token),
            escape(&user_id),
            escape(&arn)
        ),
    );
    sim.ledger().credentials.insert(access_key_id, issued);
    Ok(xml)
}

/// `arn:aws:iam::123456789012:role/path/Name` -> (`123456789012`, `Name`).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "iam" || account.len() != 12 {
        return None;
    }
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    (!name.is_empty()).then_some((account, name))
}

#[cfg(test)]
mod tests {
    #[test]
    fn role_arns() {
        assert_eq!(
            super::parse_role_arn("arn:aws:iam::123456789012:role/Deployer"),
            Some(("123456789012", "Deployer"))
        );
        assert_eq!(
            super::parse_role_arn("arn:aws:iam::123456789012:role/team/x/Deployer"),
            Some(("123456789012", "Deployer"))
        );
        assert_eq!(
            super::parse_role_arn("arn:aws:iam::123:role/Deployer"),
            None
        );
        assert_eq!(super::parse_role_arn("arn:aws:s3:::bucket"), None);
    }
}
