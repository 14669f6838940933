//! The operator's side: the start page, and `/_sim/*` routes that tests (in any language) use to
//! approve or deny a sign-in, inject faults and read counters without a browser.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::approval::decide_device;
use crate::html::{escape, page};
use crate::state::{Decision, Sim};

pub(crate) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/_sim/pending", get(pending))
        .route("/_sim/approve", post(approve))
        .route("/_sim/deny", post(deny))
        .route("/_sim/deny-next", post(deny_next))
        .route("/_sim/revoke-all", post(revoke_all))
        .route("/_sim/fail-rate", post(fail_rate))
        .route("/_sim/stats", get(stats))
        .route("/_sim/issued-secrets", get(issued_secrets))
        .route("/_sim/iam-keys", post(create_iam_key))
}

/// `POST /_sim/iam-keys?account_id=...&user_name=...`: a new long-term access key for one of
/// the organisation's IAM users, as IAM's CreateAccessKey would hand it to its owner.
async fn create_iam_key(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (Some(account_id), Some(user_name)) = (q.get("account_id"), q.get("user_name")) else {
        return (
            StatusCode::BAD_REQUEST,
            "say account_id=... and user_name=...\n",
        )
            .into_response();
    };
    match crate::iam::create_key(&sim, account_id, user_name) {
        Ok((id, key)) => Json(serde_json::json!({
            "access_key_id": id,
            "secret_access_key": key.secret_access_key,
            "account_id": key.account_id,
            "user_name": key.user_name,
            "arn": key.user_arn(),
        }))
        .into_response(),
        Err(why) => (StatusCode::NOT_FOUND, format!("{why}\n")).into_response(),
    }
}

/// Every secret handed out, when the simulator was started to expose them (tests in other
/// processes look for them in logs and files); else 404, as for any path it does not serve.
async fn issued_secrets(State(sim): State<Arc<Sim>>) -> Response {
    if !sim.opts.expose_issued_secrets {
        return StatusCode::NOT_FOUND.into_response();
    }
    Json(crate::issued_secrets(&sim)).into_response()
}

pub(crate) async fn start_page(State(sim): State<Arc<Sim>>) -> Html<String> {
    let org = &sim.opts.org;
    Html(page(
        "AWS access portal (simulated)",
        &format!(
            "<h1>AWS access portal</h1>\n<p>Rolecall IAM Identity Center simulator, organisation <strong id=\"org\">{}</strong>: \
{} accounts, {} roles for <span id=\"user\">{}</span>.</p>\n<p>Sign in from Rolecall with this start URL.</p>",
            escape(&org.name),
            org.accounts().count(),
            org.role_count(),
            escape(&org.user.username)
        ),
    ))
}

/// User codes waiting for a decision, oldest first.
pub(crate) fn pending_codes(sim: &Sim) -> Vec<String> {
    let ledger = sim.ledger();
    let at = sim.now();
    let mut codes: Vec<_> = ledger
        .devices
        .values()
        .filter(|d| d.decision == Decision::Pending && d.expires > at)
        .map(|d| (d.expires, d.user_code.clone()))
        .collect();
    codes.sort();
    codes.into_iter().map(|(_, c)| c).collect()
}

async fn pending(State(sim): State<Arc<Sim>>) -> Json<Vec<String>> {
    Json(pending_codes(&sim))
}

fn decide(sim: &Sim, q: &HashMap<String, String>, approve: bool) -> Response {
    let code = match q.get("user_code") {
        Some(c) => c.clone(),
        None => match pending_codes(sim).pop() {
            Some(c) => c,
            None => {
                return (
                    StatusCode::NOT_FOUND,
                    "no sign-in is waiting for a decision\n",
                )
                    .into_response();
            }
        },
    };
    match decide_device(sim, &code, approve) {
        Ok(Decision::Approved) => "approved\n".into_response(),
        Ok(_) => "denied\n".into_response(),
        Err(message) => (StatusCode::NOT_FOUND, format!("{message}\n")).into_response(),
    }
}

async fn approve(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    decide(&sim, &q, true)
}

async fn deny(State(sim): State<Arc<Sim>>, Query(q): Query<HashMap<String, String>>) -> Response {
    decide(&sim, &q, false)
}

async fn deny_next(State(sim): State<Arc<Sim>>) -> &'static str {
    sim.ledger().deny_next = true;
    "the next approval will be denied\n"
}

async fn revoke_all(State(sim): State<Arc<Sim>>) -> &'static str {
    sim.ledger().revoke_all();
    "every sign-in session is revoked\n"
}

async fn fail_rate(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q
        .get("rate")
        .and_then(|r| r.parse::<f64>().ok())
        .filter(|r| (0.0..=1.0).contains(r))
    {
        Some(rate) => {
            sim.ledger().fail_rate = rate;
            format!("fail rate {rate}\n").into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            "rate must be a number from 0 to 1\n",
        )
            .into_response(),
    }
}

async fn stats(State(sim): State<Arc<Sim>>) -> Json<crate::state::Stats> {
    Json(sim.ledger().stats.clone())
}
