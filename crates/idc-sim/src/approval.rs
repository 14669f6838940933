//! The person's side of sign-in: the device verification page (type or confirm the user code,
//! then Approve or Deny) and `/authorize` for PKCE, which shows the same choice and then sends
//! the browser back to the loopback callback with `code` and `state`.
//!
//! Pages are plain HTML forms with stable element ids, so a person, `curl` or a WebDriver
//! session can drive them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::html::{escape, page};
use crate::ids;
use crate::oidc::{SCOPE_ACCESS, is_loopback_callback, same_callback};
use crate::state::{AuthCodeRecord, AuthorizeRequest, Decision, Sim};

const AUTH_CODE_TTL: Duration = Duration::from_secs(300);

fn code_form(message: &str) -> String {
    format!(
        "<h1>Authorize request</h1>\n<p id=\"message\">{}</p>\n\
<form method=\"get\" action=\"device\"><label>Code <input id=\"user-code-input\" name=\"user_code\" autofocus></label>\
 <button id=\"next\" type=\"submit\">Next</button></form>",
        escape(message)
    )
}

pub(crate) async fn device_page(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Html<String> {
    let Some(code) = q
        .get("user_code")
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
    else {
        return Html(page(
            "Authorize request",
            &code_form("Enter the code shown by the application."),
        ));
    };
    let ledger = sim.ledger();
    let known = ledger
        .user_codes
        .get(&code)
        .and_then(|d| ledger.devices.get(d))
        .is_some_and(|d| d.decision == Decision::Pending && d.expires > sim.now());
    if !known {
        return Html(page(
            "Authorize request",
            &code_form("That code is not valid or has expired."),
        ));
    }
    let user = &sim.opts.org.user;
    Html(page(
        "Authorize request",
        &format!(
            "<h1>Authorize request</h1>\n<p>Signed in as <strong id=\"user\">{}</strong> ({})</p>\n\
<p>An application wants to access your AWS accounts. Check that it shows this code:</p>\n\
<p class=\"code\" id=\"user-code\">{}</p>\n\
<form method=\"post\" action=\"device\"><input type=\"hidden\" name=\"user_code\" value=\"{}\">\
<button id=\"approve\" name=\"decision\" value=\"approve\" type=\"submit\">Allow access</button>\
<button id=\"deny\" name=\"decision\" value=\"deny\" type=\"submit\">Deny</button></form>",
            escape(&user.name),
            escape(&user.username),
            escape(&code),
            escape(&code)
        ),
    ))
}

#[derive(serde::Deserialize)]
pub(crate) struct DeviceDecision {
    user_code: String,
    decision: String,
}

pub(crate) async fn device_decide(
    State(sim): State<Arc<Sim>>,
    Form(form): Form<DeviceDecision>,
) -> Response {
    let approve = form.decision == "approve";
    match decide_device(&sim, &form.user_code, approve) {
        Ok(Decision::Approved) => result_page(
            "approved",
            "Request approved. You can close this window and return to the application.",
        ),
        Ok(_) => result_page(
            "denied",
            "Request denied. The application will not get access.",
        ),
        Err(message) => (
            StatusCode::BAD_REQUEST,
            Html(page("Authorize request", &code_form(message))),
        )
            .into_response(),
    }
}

/// Records the person's choice for a user code. A pending "deny next approval" fault turns an
/// approval into a denial.
pub(crate) fn decide_device(
    sim: &Sim,
    user_code: &str,
    approve: bool,
) -> Result<Decision, &'static str> {
    let code = user_code.trim().to_ascii_uppercase();
    let mut ledger = sim.ledger();
    let deny_next = ledger.deny_next;
    let device_code = ledger
        .user_codes
        .get(&code)
        .cloned()
        .ok_or("That code is not valid or has expired.")?;
    let device = ledger
        .devices
        .get_mut(&device_code)
        .ok_or("That code is not valid or has expired.")?;
    if device.expires <= sim.now() || device.decision != Decision::Pending {
        return Err("That code is not valid or has expired.");
    }
    let decision = if approve && !deny_next {
        Decision::Approved
    } else {
        Decision::Denied
    };
    device.decision = decision;
    if approve && deny_next {
        ledger.deny_next = false;
    }
    Ok(decision)
}

fn result_page(result: &str, message: &str) -> Response {
    Html(page(
        "Authorize request",
        &format!(
            "<h1>Authorize request</h1>\n<p id=\"result\" data-result=\"{result}\">{}</p>",
            escape(message)
        ),
    ))
    .into_response()
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(page(
            "Invalid request",
            &format!(
                "<h1>Invalid request</h1><p id=\"error\">{}</p>",
                escape(message)
            ),
        )),
    )
        .into_response()
}

pub(crate) async fn authorize_page(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("response_type") != "code" {
        return bad_request("response_type must be code");
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
        return bad_request("PKCE with code_challenge_method=S256 is required");
    }
    let redirect_uri = get("redirect_uri");
    if !is_loopback_callback(redirect_uri) {
        return bad_request("redirect_uri must be a loopback /oauth/callback URI");
    }
    let client_id = get("client_id");
    if client_id.is_empty() {
        return bad_request("client_id is required");
    }
    let mut ledger = sim.ledger();
    let mut refreshable = get("scopes").split([' ', ',']).any(|s| s == SCOPE_ACCESS);
    // Unknown client ids are accepted (registrations outlive a simulator restart); known ones
    // must use a redirect URI they registered.
    if let Some(client) = ledger.clients.get(client_id) {
        if !client
            .redirect_uris
            .iter()
            .any(|r| same_callback(r, redirect_uri))
        {
            return bad_request("redirect_uri was not registered by this client");
        }
        refreshable |= client.refreshable();
    }
    let request = AuthorizeRequest {
        client_id: client_id.to_owned(),
        refreshable,
        redirect_uri: redirect_uri.to_owned(),
        state: get("state").to_owned(),
        code_challenge: get("code_challenge").to_owned(),
        expires: sim.now() + sim.opts.device_code_ttl,
    };
    if sim.opts.auto_approve_after.is_some() {
        let deny = std::mem::take(&mut ledger.deny_next);
        return finish_authorize(sim.now(), &mut ledger, request, !deny);
    }
    let id = ids::token("req-", 16);
    ledger.authorize_requests.insert(id.clone(), request);
    let user = &sim.opts.org.user;
    Html(page(
        "Authorize request",
        &format!(
            "<h1>Authorize request</h1>\n<p>Signed in as <strong id=\"user\">{}</strong> ({})</p>\n\
<p>An application on this computer wants to access your AWS accounts.</p>\n\
<form method=\"post\" action=\"authorize\"><input type=\"hidden\" name=\"request_id\" value=\"{}\">\
<button id=\"approve\" name=\"decision\" value=\"approve\" type=\"submit\">Allow access</button>\
<button id=\"deny\" name=\"decision\" value=\"deny\" type=\"submit\">Deny</button></form>",
            escape(&user.name),
            escape(&user.username),
            escape(&id)
        ),
    ))
    .into_response()
}

#[derive(serde::Deserialize)]
pub(crate) struct AuthorizeDecision {
    request_id: String,
    decision: String,
}

pub(crate) async fn authorize_decide(
    State(sim): State<Arc<Sim>>,
    Form(form): Form<AuthorizeDecision>,
) -> Response {
    let mut ledger = sim.ledger();
    let Some(request) = ledger.authorize_requests.remove(&form.request_id) else {
        return bad_request("This authorization request is unknown or was already answered");
    };
    if request.expires <= sim.now() {
        return bad_request("This authorization request has expired");
    }
    let mut approve = form.decision == "approve";
    if approve && ledger.deny_next {
        ledger.deny_next = false;
        approve = false;
    }
    finish_authorize(sim.now(), &mut ledger, request, approve)
}

fn finish_authorize(
    now: std::time::SystemTime,
    ledger: &mut crate::state::Ledger,
    request: AuthorizeRequest,
    approve: bool,
) -> Response {
    let Ok(mut target) = url::Url::parse(&request.redirect_uri) else {
        return bad_request("redirect_uri is not a URL");
    };
    {
        let mut pairs = target.query_pairs_mut();
        if approve {
            let code = ids::token("code-", 32);
            ledger.auth_codes.insert(
                code.clone(),
                AuthCodeRecord {
                    client_id: request.client_id,
                    refreshable: request.refreshable,
                    redirect_uri: request.redirect_uri.clone(),
                    code_challenge: request.code_challenge,
                    expires: now + AUTH_CODE_TTL,
                },
            );
            pairs.append_pair("code", &code);
        } else {
            pairs.append_pair("error", "access_denied");
            pairs.append_pair("error_description", "The user denied the authorization");
        }
        pairs.append_pair("state", &request.state);
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}
