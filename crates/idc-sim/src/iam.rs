//! IAM in the query protocol, for what retiring a long-term key needs: `ListAccessKeys`,
//! `GetAccessKeyLastUsed` and `UpdateAccessKey` (the key made inactive, never deleted), each
//! SigV4-checked against credentials this simulator issued, as its STS is.
//!
//! Who may: any role of an account may read its users' keys (as `ReadOnlyAccess` may); only
//! `AdministratorAccess` (a permission set) or `OrganizationAccountAccessRole` (a chained IAM
//! role) may change them. Any other caller is refused with IAM's own `AccessDenied`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::StsError;
use crate::html::escape;
use crate::ids;
use crate::query;
use crate::state::{IamKey, IssuedCredentials, Sim};

/// Roles allowed to manage the access keys of their account's IAM users.
const KEY_ADMINS: [&str; 2] = ["AdministratorAccess", "OrganizationAccountAccessRole"];

pub(crate) const IAM: query::Service = query::Service {
    version: "2010-05-08",
    namespace: "https://iam.amazonaws.com/doc/2010-05-08/",
    act,
};

pub(crate) async fn handle(
    State(sim): State<Arc<Sim>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    query::serve(&IAM, &sim, &method, &uri, &headers, &body)
}

fn act(
    sim: &Sim,
    caller: &IssuedCredentials,
    action: &str,
    params: &HashMap<String, String>,
) -> Option<Result<String, StsError>> {
    Some(match action {
        "ListAccessKeys" => list_access_keys(sim, caller, params),
        "GetAccessKeyLastUsed" => last_used(sim, caller, params),
        "UpdateAccessKey" => update_access_key(sim, caller, params),
        _ => return None,
    })
}

fn envelope(action: &str, result: Option<&str>) -> String {
    query::envelope(&IAM, action, result)
}

fn iso(t: SystemTime) -> Result<String, StsError> {
    OffsetDateTime::from_unix_timestamp(crate::state::epoch_secs(t))
        .map_err(|_| StsError::internal())?
        .format(&Rfc3339)
        .map_err(|_| StsError::internal())
}

/// The caller may read (or, `write`, change) keys in `account_id`.
fn authorise(
    caller: &IssuedCredentials,
    account_id: &str,
    action: &str,
    write: bool,
) -> Result<(), StsError> {
    let allowed = caller.account_id == account_id
        && !caller.session_token.is_empty()
        && (!write || KEY_ADMINS.contains(&caller.role_name.as_str()));
    if allowed {
        Ok(())
    } else {
        Err(StsError::access_denied(format!(
            "User: {} is not authorized to perform: iam:{action} on resource: an IAM user of account {account_id}",
            caller.arn
        )))
    }
}

fn no_such_key(key_id: &str) -> StsError {
    StsError::new(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        format!("The Access Key with id {key_id} cannot be found."),
    )
}

/// The key named by `AccessKeyId`, checked to belong to `UserName` when one is given.
fn key_of(sim: &Sim, params: &HashMap<String, String>) -> Result<(String, IamKey), StsError> {
    let key_id = params
        .get("AccessKeyId")
        .ok_or_else(|| StsError::validation("AccessKeyId is required"))?;
    let key = sim
        .ledger()
        .iam_keys
        .get(key_id)
        .cloned()
        .ok_or_else(|| no_such_key(key_id))?;
    if let Some(user) = params.get("UserName")
        && *user != key.user_name
    {
        return Err(no_such_key(key_id));
    }
    Ok((key_id.clone(), key))
}

fn list_access_keys(
    sim: &Sim,
    caller: &IssuedCredentials,
    params: &HashMap<String, String>,
) -> Result<String, StsError> {
    let user = params.get("UserName").ok_or_else(|| {
        StsError::validation("UserName is required when the caller is not an IAM user")
    })?;
    let account = sim
        .opts
        .org
        .account(&caller.account_id)
        .filter(|a| a.iam_users.iter().any(|u| u == user))
        .ok_or_else(|| {
            StsError::new(
                StatusCode::NOT_FOUND,
                "NoSuchEntity",
                format!("The user with name {user} cannot be found."),
            )
        })?;
    authorise(caller, &account.id, "ListAccessKeys", false)?;
    let mut members = String::new();
    for (id, key) in sim
        .ledger()
        .iam_keys
        .iter()
        .filter(|(_, k)| k.account_id == account.id && k.user_name == *user)
    {
        members.push_str(&format!(
            "<member>\n        <UserName>{}</UserName>\n        <AccessKeyId>{id}</AccessKeyId>\n        <Status>{}</Status>\n        <CreateDate>{}</CreateDate>\n      </member>",
            escape(&key.user_name),
            if key.active { "Active" } else { "Inactive" },
            iso(key.created)?
        ));
    }
    Ok(envelope(
        "ListAccessKeys",
        Some(&format!(
            "<AccessKeyMetadata>{members}</AccessKeyMetadata>\n    <IsTruncated>false</IsTruncated>"
        )),
    ))
}

fn last_used(
    sim: &Sim,
    caller: &IssuedCredentials,
    params: &HashMap<String, String>,
) -> Result<String, StsError> {
    let (_, key) = key_of(sim, params)?;
    authorise(caller, &key.account_id, "GetAccessKeyLastUsed", false)?;
    let used = match &key.last_used {
        Some((at, service, region)) => format!(
            "<LastUsedDate>{}</LastUsedDate>\n      <ServiceName>{}</ServiceName>\n      <Region>{}</Region>",
            iso(*at)?,
            escape(service),
            escape(region)
        ),
        // IAM's own answer for a key never used.
        None => "<ServiceName>N/A</ServiceName>\n      <Region>N/A</Region>".to_owned(),
    };
    Ok(envelope(
        "GetAccessKeyLastUsed",
        Some(&format!(
            "<UserName>{}</UserName>\n    <AccessKeyLastUsed>\n      {used}\n    </AccessKeyLastUsed>",
            escape(&key.user_name)
        )),
    ))
}

fn update_access_key(
    sim: &Sim,
    caller: &IssuedCredentials,
    params: &HashMap<String, String>,
) -> Result<String, StsError> {
    let (key_id, key) = key_of(sim, params)?;
    authorise(caller, &key.account_id, "UpdateAccessKey", true)?;
    let active = match params.get("Status").map(String::as_str) {
        Some("Active") => true,
        Some("Inactive") => false,
        _ => {
            return Err(StsError::validation(
                "1 validation error detected: Value at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]",
            ));
        }
    };
    if let Some(k) = sim.ledger().iam_keys.get_mut(&key_id) {
        k.active = active;
    }
    Ok(envelope("UpdateAccessKey", None))
}

/// A new long-term key for an IAM user of the organisation (the operator's route).
pub(crate) fn create_key(
    sim: &Sim,
    account_id: &str,
    user_name: &str,
) -> Result<(String, IamKey), String> {
    let account = sim
        .opts
        .org
        .account(account_id)
        .ok_or_else(|| format!("no account {account_id} in this organisation"))?;
    if !account.iam_users.iter().any(|u| u == user_name) {
        return Err(format!(
            "account {account_id} has no IAM user {user_name:?} (its users: {:?})",
            account.iam_users
        ));
    }
    let key = IamKey {
        account_id: account_id.to_owned(),
        user_name: user_name.to_owned(),
        secret_access_key: ids::secret_access_key(),
        active: true,
        created: sim.now(),
        last_used: None,
    };
    let id = ids::long_term_access_key_id();
    sim.ledger().iam_keys.insert(id.clone(), key.clone());
    Ok((id, key))
}
