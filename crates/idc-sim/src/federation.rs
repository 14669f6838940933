//! The console federation endpoint: `getSigninToken` (checks the `Session` JSON against issued
//! credentials, the `SessionDuration` range, and that role-chained credentials carry none) and
//! `login` (checks the sign-in token and shows a console page naming the account, role and
//! destination). Also `/oauth?Action=logout`, which console sign-out-first URLs go through.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::html::{escape, page};
use crate::ids;
use crate::state::{SigninGrant, Sim};

/// Sign-in tokens are good for 15 minutes.
const SIGNIN_TOKEN_TTL: Duration = Duration::from_secs(900);
/// Console sessions last 12 hours unless SessionDuration says otherwise.
const DEFAULT_CONSOLE_SESSION: u32 = 43_200;

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct SessionJson {
    #[serde(rename = "sessionId")]
    session_id: String,
    #[serde(rename = "sessionKey")]
    session_key: String,
    #[serde(rename = "sessionToken")]
    session_token: String,
}

pub(crate) async fn federation(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q.get("Action").map(String::as_str) {
        Some("getSigninToken") => get_signin_token(&sim, &q),
        Some("login") => login(&sim, &q),
        _ => refuse(
            StatusCode::BAD_REQUEST,
            "Action must be getSigninToken or login",
        ),
    }
}

fn get_signin_token(sim: &Sim, q: &HashMap<String, String>) -> Response {
    let mut ledger = sim.ledger();
    ledger.count("getSigninToken");
    let Some(session) = q
        .get("Session")
        .and_then(|s| serde_json::from_str::<SessionJson>(s).ok())
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Session must be a JSON object with sessionId, sessionKey and sessionToken",
        );
    };
    let Some(issued) = ledger.credentials.get(&session.session_id) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The session credentials are not valid",
        );
    };
    if issued.secret_access_key != session.session_key
        || issued.session_token != session.session_token
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The session credentials are not valid",
        );
    }
    if issued.expires <= sim.now() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The session credentials have expired",
        );
    }
    let duration = match q.get("SessionDuration") {
        None => None,
        Some(d) => match d.parse::<u32>() {
            Ok(n) if (900..=43_200).contains(&n) => Some(n),
            _ => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "SessionDuration must be between 900 and 43200 seconds",
                );
            }
        },
    };
    if duration.is_some() && issued.chained {
        return refuse(
            StatusCode::BAD_REQUEST,
            "SessionDuration cannot be used with credentials from role chaining",
        );
    }
    let token = ids::token("", 192);
    ledger.signin_tokens.insert(
        token.clone(),
        SigninGrant {
            access_key_id: session.session_id,
            session_duration: duration,
            expires: sim.now() + SIGNIN_TOKEN_TTL,
        },
    );
    Json(serde_json::json!({ "SigninToken": token })).into_response()
}

fn login(sim: &Sim, q: &HashMap<String, String>) -> Response {
    let mut ledger = sim.ledger();
    ledger.count("login");
    let Some(grant) = q
        .get("SigninToken")
        .and_then(|t| ledger.signin_tokens.get(t))
    else {
        return refuse(StatusCode::BAD_REQUEST, "The sign-in token is not valid");
    };
    if grant.expires <= sim.now() {
        return refuse(StatusCode::BAD_REQUEST, "The sign-in token has expired");
    }
    let Some(destination) = q.get("Destination").filter(|d| url::Url::parse(d).is_ok()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Destination must be an absolute, URL-encoded console URL",
        );
    };
    let Some(issued) = ledger.credentials.get(&grant.access_key_id) else {
        return refuse(StatusCode::BAD_REQUEST, "The sign-in token is not valid");
    };
    let account_name = sim
        .opts
        .org
        .account(&issued.account_id)
        .map_or("", |a| a.name.as_str());
    let wanted = Duration::from_secs(u64::from(
        grant.session_duration.unwrap_or(DEFAULT_CONSOLE_SESSION),
    ));
    let ends = (sim.now() + wanted).min(issued.expires);
    let ends = OffsetDateTime::from(ends)
        .format(&Rfc3339)
        .unwrap_or_default();
    let issuer = q.get("Issuer").map(String::as_str).unwrap_or("");
    Html(page(
        "AWS Management Console (simulated)",
        &format!(
            "<h1>AWS Management Console</h1>\n<p>Simulated by the Rolecall IAM Identity Center simulator.</p>\n<dl id=\"console\">\n\
<dt>Account</dt><dd><span id=\"account-name\">{}</span> (<span id=\"account-id\">{}</span>)</dd>\n\
<dt>Role</dt><dd id=\"role\">{}</dd>\n<dt>Identity</dt><dd id=\"arn\">{}</dd>\n\
<dt>Destination</dt><dd id=\"destination\">{}</dd>\n<dt>Issuer</dt><dd id=\"issuer\">{}</dd>\n\
<dt>Console session ends</dt><dd id=\"session-ends\">{}</dd>\n</dl>",
            escape(account_name),
            escape(&issued.account_id),
            escape(&issued.role_name),
            escape(&issued.arn),
            escape(destination),
            escape(issuer),
            escape(&ends)
        ),
    ))
    .into_response()
}

/// `/oauth?Action=logout&redirect_uri=...`: ends the console session and goes on to the URL.
pub(crate) async fn oauth_logout(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("Action").map(String::as_str) != Some("logout") {
        return refuse(StatusCode::BAD_REQUEST, "Action must be logout");
    }
    match q.get("redirect_uri").filter(|u| url::Url::parse(u).is_ok()) {
        Some(target) => (StatusCode::FOUND, [(header::LOCATION, target.clone())]).into_response(),
        None => Html(page(
            "Signed out",
            "<h1>Signed out</h1><p id=\"signed-out\">You have signed out of the console.</p>",
        ))
        .into_response(),
    }
}
