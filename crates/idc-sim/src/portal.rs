//! The access portal API (unsigned, bearer token in `x-amz-sso_bearer_token`): ListAccounts,
//! ListAccountRoles (paged), GetRoleCredentials (expiration in epoch milliseconds), Logout.
//!
//! Throttling (429 TooManyRequestsException) is applied by the server layer before these run.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::error::PortalError;
use crate::ids;
use crate::state::{IssuedCredentials, Sim, epoch_millis};

/// What the portal returns when `max_result` is absent.
const DEFAULT_PAGE: usize = 20;
const MAX_PAGE: usize = 100;

fn bearer(headers: &HeaderMap) -> Result<&str, PortalError> {
    headers
        .get("x-amz-sso_bearer_token")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(PortalError::unauthorized)
}

/// Checks the bearer token and counts the operation.
fn authorise(sim: &Sim, headers: &HeaderMap, operation: &str) -> Result<(), PortalError> {
    let token = bearer(headers)?;
    let mut ledger = sim.ledger();
    ledger.count(operation);
    ledger
        .session_of(token, sim.now())
        .map(|_| ())
        .ok_or_else(PortalError::unauthorized)
}

fn page_params(q: &HashMap<String, String>) -> Result<(usize, usize), PortalError> {
    let size = match q.get("max_result") {
        None => DEFAULT_PAGE,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| PortalError::invalid_request("max_result must be between 1 and 100"))?,
    };
    let offset = match q.get("next_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => {
            decode_token(t).ok_or_else(|| PortalError::invalid_request("Invalid next_token"))?
        }
    };
    Ok((offset, size))
}

fn encode_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("offset:")?
        .parse()
        .ok()
}

fn paged<T: Clone>(items: &[T], offset: usize, size: usize) -> (Vec<T>, Option<String>) {
    let end = (offset + size).min(items.len());
    let page = items
        .get(offset.min(items.len())..end)
        .unwrap_or_default()
        .to_vec();
    let next = (end < items.len()).then(|| encode_token(end));
    (page, next)
}

pub(crate) async fn list_accounts(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, PortalError> {
    authorise(&sim, &headers, "ListAccounts")?;
    let (offset, size) = page_params(&q)?;
    let accounts: Vec<Value> = sim
        .opts
        .org
        .accounts()
        .map(|a| json!({ "accountId": a.id, "accountName": a.name, "emailAddress": a.email }))
        .collect();
    let (page, next) = paged(&accounts, offset, size);
    Ok(Json(json!({ "accountList": page, "nextToken": next })))
}

pub(crate) async fn list_account_roles(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, PortalError> {
    authorise(&sim, &headers, "ListAccountRoles")?;
    let account_id = q
        .get("account_id")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| PortalError::invalid_request("account_id is required"))?;
    let (offset, size) = page_params(&q)?;
    let account = sim
        .opts
        .org
        .account(account_id)
        .filter(|a| !a.roles.is_empty())
        .ok_or_else(|| PortalError::not_found("Account not found or not assigned"))?;
    let roles: Vec<Value> = account
        .roles
        .iter()
        .map(|r| json!({ "roleName": r, "accountId": account.id }))
        .collect();
    let (page, next) = paged(&roles, offset, size);
    Ok(Json(json!({ "roleList": page, "nextToken": next })))
}

pub(crate) async fn get_role_credentials(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, PortalError> {
    authorise(&sim, &headers, "GetRoleCredentials")?;
    let (Some(account_id), Some(role)) = (q.get("account_id"), q.get("role_name")) else {
        return Err(PortalError::invalid_request(
            "account_id and role_name are required",
        ));
    };
    if !sim.opts.org.is_assigned(account_id, role) {
        return Err(PortalError::forbidden());
    }
    let (arn, user_id) = sim.sso_principal(account_id, role);
    let expires = sim.now() + sim.opts.role_credentials_ttl;
    let access_key_id = ids::access_key_id();
    let issued = IssuedCredentials {
        secret_access_key: ids::secret_access_key(),
        session_token: ids::token("IQoJb3JpZ2luX2VjE", 160),
        account_id: account_id.clone(),
        role_name: role.clone(),
        arn,
        user_id,
        expires,
        chained: false,
    };
    let body = json!({ "roleCredentials": {
        "accessKeyId": access_key_id,
        "secretAccessKey": issued.secret_access_key,
        "sessionToken": issued.session_token,
        "expiration": epoch_millis(expires),
    }});
    sim.ledger().credentials.insert(access_key_id, issued);
    Ok(Json(body))
}

pub(crate) async fn logout(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
) -> Result<(), PortalError> {
    let token = bearer(&headers)?;
    let mut ledger = sim.ledger();
    ledger.count("Logout");
    let session = ledger
        .session_of(token, sim.now())
        .map(str::to_owned)
        .ok_or_else(PortalError::unauthorized)?;
    if let Some(s) = ledger.sessions.get_mut(&session) {
        s.ended = true;
    }
    ledger.access_tokens.retain(|_, t| t.session != session);
    ledger.refresh_tokens.retain(|_, t| t.session != session);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_walks_every_item_once() {
        let items: Vec<u32> = (0..250).collect();
        let mut seen = Vec::new();
        let mut offset = 0;
        loop {
            let (page, next) = paged(&items, offset, 100);
            seen.extend(page);
            match next {
                Some(t) => offset = decode_token(&t).expect("our own token"),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert_eq!(paged(&items, 1000, 10).0, Vec::<u32>::new());
    }
}
