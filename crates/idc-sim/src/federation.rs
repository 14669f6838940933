//! The console federation endpoint: `getSigninToken` (checks the `Session` JSON against issued
//! credentials, the `SessionDuration` range, and that role-chained credentials carry none) and
//! `login` (checks the sign-in token and shows a console page naming the account, role and
//! destination). Also `/oauth?Action=logout`, which console sign-out-first URLs go through.
//!
//! The browser's console sign-in lives in cookies, with the service's rules: without
//! multi-session a login replaces the identity signed in; with it (turned on per browser at
//! `/console/multi-session?enable=true`, as the console's account menu does) up to five
//! identities live side by side and a sixth gets the service's error page. A logout ends every
//! identity of the browser. `GET /console` lists the identities the browser is signed in as.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
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

/// The cookie holding the browser's console identities (`ACCOUNT:ROLE`, comma-separated).
const IDENTITIES: &str = "rolecall-sim-console";
/// The cookie that says the browser turned multi-session on.
const MULTI_SESSION: &str = "rolecall-sim-multi-session";
/// Identities a browser can hold with multi-session.
pub const MAX_IDENTITIES: usize = 5;

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The identities the browser is signed in as, oldest first.
fn identities(headers: &HeaderMap) -> Vec<(String, String)> {
    cookie(headers, IDENTITIES)
        .unwrap_or("")
        .split(',')
        .filter_map(|i| i.split_once(':'))
        .map(|(a, r)| (a.to_owned(), r.to_owned()))
        .collect()
}

fn multi_session(headers: &HeaderMap) -> bool {
    cookie(headers, MULTI_SESSION) == Some("on")
}

fn identities_cookie(list: &[(String, String)]) -> String {
    let value: Vec<String> = list.iter().map(|(a, r)| format!("{a}:{r}")).collect();
    format!(
        "{IDENTITIES}={}; Path=/; Max-Age={DEFAULT_CONSOLE_SESSION}; HttpOnly; SameSite=Lax",
        value.join(",")
    )
}

pub(crate) async fn federation(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q.get("Action").map(String::as_str) {
        Some("getSigninToken") => get_signin_token(&sim, &q),
        Some("login") => login(&sim, &headers, &q),
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

fn login(sim: &Sim, headers: &HeaderMap, q: &HashMap<String, String>) -> Response {
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
    let Some(issued) = ledger.credentials.get(&grant.access_key_id).cloned() else {
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
    // The browser's identities after this login, by the console's rules.
    let me = (issued.account_id.clone(), issued.role_name.clone());
    let mut signed_in = identities(headers);
    if multi_session(headers) {
        if !signed_in.contains(&me) {
            if signed_in.len() >= MAX_IDENTITIES {
                return (
                    StatusCode::BAD_REQUEST,
                    Html(page(
                        "Too many sessions",
                        &format!(
                            "<h1 id=\"too-many-sessions\">You have reached the maximum number of sessions</h1>\n<p>This browser is signed in to {MAX_IDENTITIES} sessions. Sign out of one to sign in to another.</p>"
                        ),
                    )),
                )
                    .into_response();
            }
            signed_in.push(me);
        }
    } else {
        signed_in = vec![me];
    }
    ledger
        .signin_tokens
        .remove(q.get("SigninToken").map_or("", String::as_str));
    let set_cookie = identities_cookie(&signed_in);
    let body = Html(page(
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
    ));
    ([(header::SET_COOKIE, set_cookie)], body).into_response()
}

/// `GET /console`: the identities this browser is signed in as, and whether multi-session is on.
pub(crate) async fn console(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    let items: Vec<String> = identities(&headers)
        .iter()
        .map(|(account, role)| {
            let name = sim
                .opts
                .org
                .account(account)
                .map_or("", |a| a.name.as_str());
            format!(
                "<li class=\"identity\" data-account-id=\"{}\" data-role=\"{}\">{} ({}) / {}</li>",
                escape(account),
                escape(role),
                escape(name),
                escape(account),
                escape(role)
            )
        })
        .collect();
    Html(page(
        "AWS Management Console (simulated): identities",
        &format!(
            "<h1>Signed in as</h1>\n<p>Multi-session: <span id=\"multi-session\">{}</span></p>\n<ul id=\"identities\">{}</ul>",
            if multi_session(&headers) { "on" } else { "off" },
            items.join("")
        ),
    ))
    .into_response()
}

/// `GET /console/multi-session?enable=true|false`: the console's "Turn on multi-session
/// support", for this browser.
pub(crate) async fn console_multi_session(Query(q): Query<HashMap<String, String>>) -> Response {
    let on = q.get("enable").map(String::as_str) == Some("true");
    let cookie = if on {
        format!("{MULTI_SESSION}=on; Path=/; Max-Age=31536000; SameSite=Lax")
    } else {
        format!("{MULTI_SESSION}=; Path=/; Max-Age=0")
    };
    (
        [(header::SET_COOKIE, cookie)],
        Html(page(
            "Multi-session",
            &format!(
                "<p id=\"multi-session\">{}</p>",
                if on { "on" } else { "off" }
            ),
        )),
    )
        .into_response()
}

/// `/oauth?Action=logout&redirect_uri=...`: ends the console session and goes on to the URL.
pub(crate) async fn oauth_logout(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("Action").map(String::as_str) != Some("logout") {
        return refuse(StatusCode::BAD_REQUEST, "Action must be logout");
    }
    // Every identity of the browser is signed out.
    let cleared = format!("{IDENTITIES}=; Path=/; Max-Age=0");
    match q.get("redirect_uri").filter(|u| url::Url::parse(u).is_ok()) {
        Some(target) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, target.clone()),
                (header::SET_COOKIE, cleared),
            ],
        )
            .into_response(),
        None => (
            [(header::SET_COOKIE, cleared)],
            Html(page(
                "Signed out",
                "<h1>Signed out</h1><p id=\"signed-out\">You have signed out of the console.</p>",
            )),
        )
            .into_response(),
    }
}
