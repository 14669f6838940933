//! SSO OIDC (REST-JSON, unsigned): RegisterClient, StartDeviceAuthorization, CreateToken.
//!
//! CreateToken speaks every grant the service does (device code, authorization code with PKCE
//! S256, refresh token) and answers every protocol error with the real status, the
//! `x-amzn-ErrorType` header and the `{"error", "error_description"}` body.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::OidcError;
use crate::ids;
use crate::registration::{self, Registration};
use crate::state::{
    AccessTokenRecord, Decision, DeviceRecord, Ledger, RefreshTokenRecord, SessionRecord, Sim,
    epoch_secs,
};

pub(crate) const GRANT_DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub(crate) const GRANT_CODE: &str = "authorization_code";
pub(crate) const GRANT_REFRESH: &str = "refresh_token";
pub(crate) const SCOPE_ACCESS: &str = "sso:account:access";

/// Polls closer together than the interval minus this are `slow_down`.
const POLL_TOLERANCE: Duration = Duration::from_millis(50);

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, OidcError> {
    serde_json::from_slice(body)
        .map_err(|e| OidcError::invalid_request(format!("Invalid request body: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterClientRequest {
    client_name: Option<String>,
    client_type: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
}

pub(crate) async fn register_client(
    State(sim): State<Arc<Sim>>,
    body: Bytes,
) -> Result<Json<Value>, OidcError> {
    let req: RegisterClientRequest = parse(&body)?;
    let name = req
        .client_name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| OidcError::invalid_request("clientName is required"))?;
    if req.client_type.as_deref() != Some("public") {
        return Err(OidcError::invalid_request("clientType must be public"));
    }
    for scope in &req.scopes {
        if !scope.starts_with("sso:") && !scope.starts_with("codewhisperer:") && scope != "openid" {
            return Err(OidcError::invalid_scope(format!("Invalid scope: {scope}")));
        }
    }
    for grant in &req.grant_types {
        if ![GRANT_DEVICE, GRANT_CODE, GRANT_REFRESH].contains(&grant.as_str()) {
            return Err(OidcError::invalid_request(format!(
                "Invalid grant type: {grant}"
            )));
        }
    }
    if req.grant_types.iter().any(|g| g == GRANT_CODE) {
        if req.redirect_uris.is_empty() {
            return Err(OidcError::invalid_request(
                "redirectUris are required for authorization_code",
            ));
        }
        for uri in &req.redirect_uris {
            if !is_loopback_callback(uri) {
                return Err(OidcError::invalid_request(format!(
                    "Invalid redirect URI: {uri}"
                )));
            }
        }
    }
    let issued = sim.now();
    let registration = Registration {
        client_id: ids::token("", 16),
        client_name: name,
        scopes: req.scopes,
        grant_types: req.grant_types,
        redirect_uris: req.redirect_uris,
        issued_at: epoch_secs(issued),
        expires_at: epoch_secs(issued + sim.opts.client_registration_ttl),
    };
    let secret = registration::seal(&sim.opts.registration_key, &registration);
    let mut ledger = sim.ledger();
    ledger.count("RegisterClient");
    ledger
        .clients
        .insert(registration.client_id.clone(), registration.clone());
    Ok(Json(json!({
        "clientId": registration.client_id,
        "clientSecret": secret,
        "clientIdIssuedAt": registration.issued_at,
        "clientSecretExpiresAt": registration.expires_at,
        "authorizationEndpoint": format!("{}/oidc/authorize", sim.base_url),
        "tokenEndpoint": format!("{}/oidc/token", sim.base_url),
    })))
}

/// `http://127.0.0.1:<any port>/oauth/callback` (RFC 8252 loopback redirect).
pub(crate) fn is_loopback_callback(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
            && u.path() == "/oauth/callback"
    })
}

/// Same callback, ignoring the port (the client picks a free one each time).
pub(crate) fn same_callback(registered: &str, used: &str) -> bool {
    match (url::Url::parse(registered), url::Url::parse(used)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.path() == b.path()
        }
        _ => false,
    }
}

/// Checks a client id and secret; the registration travels in the secret, so this works for
/// clients registered before the simulator restarted.
pub(crate) fn authenticate_client(
    sim: &Sim,
    client_id: Option<&str>,
    client_secret: Option<&str>,
) -> Result<Registration, OidcError> {
    let (Some(id), Some(secret)) = (client_id, client_secret) else {
        return Err(OidcError::invalid_request(
            "clientId and clientSecret are required",
        ));
    };
    let registration = registration::open(&sim.opts.registration_key, secret)
        .filter(|r| r.client_id == id)
        .ok_or_else(|| OidcError::invalid_client("Invalid client provided"))?;
    if registration.expires_at <= epoch_secs(sim.now()) {
        return Err(OidcError::invalid_client("Client registration has expired"));
    }
    Ok(registration)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartDeviceAuthorizationRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    start_url: Option<String>,
}

pub(crate) async fn start_device_authorization(
    State(sim): State<Arc<Sim>>,
    body: Bytes,
) -> Result<Json<Value>, OidcError> {
    let req: StartDeviceAuthorizationRequest = parse(&body)?;
    let client = authenticate_client(&sim, req.client_id.as_deref(), req.client_secret.as_deref())?;
    let start_url = req
        .start_url
        .ok_or_else(|| OidcError::invalid_request("startUrl is required"))?;
    if !is_our_start_url(&sim, &start_url) {
        return Err(OidcError::invalid_request(format!(
            "Invalid start URL: {start_url} is not the start URL of this directory"
        )));
    }
    let device_code = ids::token("", 48);
    let user_code = ids::user_code();
    let issued = sim.now();
    let mut ledger = sim.ledger();
    ledger.count("StartDeviceAuthorization");
    ledger.devices.insert(
        device_code.clone(),
        DeviceRecord {
            client_id: client.client_id.clone(),
            refreshable: client.refreshable(),
            user_code: user_code.clone(),
            expires: issued + sim.opts.device_code_ttl,
            interval: sim.opts.device_interval,
            last_poll: None,
            pending_polls: 0,
            decision: Decision::Pending,
        },
    );
    ledger
        .user_codes
        .insert(user_code.clone(), device_code.clone());
    let verification_uri = sim.verification_uri();
    // Since 2026 the service no longer puts the code in the URL it returns: the person
    // types the code the app shows, so clients must show it.
    Ok(Json(json!({
        "deviceCode": device_code,
        "userCode": user_code,
        "verificationUri": verification_uri,
        "verificationUriComplete": verification_uri,
        "expiresIn": sim.opts.device_code_ttl.as_secs(),
        "interval": sim.opts.device_interval.as_secs().max(1),
    })))
}

fn is_our_start_url(sim: &Sim, candidate: &str) -> bool {
    let (Ok(ours), Ok(theirs)) = (
        url::Url::parse(&sim.start_url()),
        url::Url::parse(candidate),
    ) else {
        return false;
    };
    let loopback = |u: &url::Url| matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    loopback(&theirs)
        && theirs.port_or_known_default() == ours.port_or_known_default()
        && theirs.path().trim_end_matches('/') == "/start"
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTokenRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
    device_code: Option<String>,
    code: Option<String>,
    refresh_token: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

pub(crate) async fn create_token(
    State(sim): State<Arc<Sim>>,
    body: Bytes,
) -> Result<Json<Value>, OidcError> {
    let req: CreateTokenRequest = parse(&body)?;
    let client = authenticate_client(&sim, req.client_id.as_deref(), req.client_secret.as_deref())?;
    let grant = req
        .grant_type
        .clone()
        .ok_or_else(|| OidcError::invalid_request("grantType is required"))?;
    if !client.grant_types.is_empty() && !client.grant_types.contains(&grant) {
        return Err(OidcError::unauthorized_client(format!(
            "Client is not registered for {grant}"
        )));
    }
    let mut ledger = sim.ledger();
    ledger.count("CreateToken");
    match grant.as_str() {
        GRANT_DEVICE => device_grant(&sim, &mut ledger, &client, &req),
        GRANT_CODE => code_grant(&sim, &mut ledger, &client, &req),
        GRANT_REFRESH => refresh_grant(&sim, &mut ledger, &client, &req),
        other => Err(OidcError::unsupported_grant_type(format!(
            "Unsupported grant type: {other}"
        ))),
    }
}

fn device_grant(
    sim: &Sim,
    ledger: &mut Ledger,
    client: &Registration,
    req: &CreateTokenRequest,
) -> Result<Json<Value>, OidcError> {
    let code = req
        .device_code
        .as_deref()
        .ok_or_else(|| OidcError::invalid_request("deviceCode is required"))?;
    let at = sim.now();
    let auto = sim.opts.auto_approve_after;
    let deny_next = ledger.deny_next;
    let device = ledger
        .devices
        .get_mut(code)
        .ok_or_else(|| OidcError::invalid_grant("Invalid device code provided"))?;
    if device.client_id != client.client_id {
        return Err(OidcError::invalid_grant(
            "Device code was issued to another client",
        ));
    }
    if device.expires <= at {
        let user_code = device.user_code.clone();
        ledger.devices.remove(code);
        ledger.user_codes.remove(&user_code);
        return Err(OidcError::expired_token("Device code"));
    }
    if let Some(last) = device.last_poll
        && at.duration_since(last).unwrap_or_default() + POLL_TOLERANCE < device.interval
    {
        // RFC 8628 3.5: the interval grows by 5 seconds for this and every later request.
        device.interval += Duration::from_secs(5);
        device.last_poll = Some(at);
        return Err(OidcError::slow_down());
    }
    device.last_poll = Some(at);
    let mut consumed_deny = false;
    if device.decision == Decision::Pending {
        match auto {
            Some(after) if device.pending_polls >= after => {
                device.decision = if deny_next {
                    Decision::Denied
                } else {
                    Decision::Approved
                };
                consumed_deny = deny_next;
            }
            _ => {
                device.pending_polls += 1;
                return Err(OidcError::pending());
            }
        }
    }
    if consumed_deny {
        ledger.deny_next = false;
    }
    let device = ledger.devices.remove(code).expect("looked up above");
    ledger.user_codes.remove(&device.user_code);
    match device.decision {
        Decision::Denied => Err(OidcError::access_denied()),
        _ => Ok(issue_tokens(
            sim,
            ledger,
            &client.client_id,
            device.refreshable,
            None,
        )),
    }
}

fn code_grant(
    sim: &Sim,
    ledger: &mut Ledger,
    client: &Registration,
    req: &CreateTokenRequest,
) -> Result<Json<Value>, OidcError> {
    let code = req
        .code
        .as_deref()
        .ok_or_else(|| OidcError::invalid_request("code is required"))?;
    let verifier = req
        .code_verifier
        .as_deref()
        .ok_or_else(|| OidcError::invalid_request("codeVerifier is required"))?;
    let redirect = req
        .redirect_uri
        .as_deref()
        .ok_or_else(|| OidcError::invalid_request("redirectUri is required"))?;
    // Single use: the code is gone whatever happens next.
    let record = ledger
        .auth_codes
        .remove(code)
        .ok_or_else(|| OidcError::invalid_grant("Invalid authorization code"))?;
    if record.expires <= sim.now() {
        return Err(OidcError::invalid_grant("Authorization code has expired"));
    }
    if record.client_id != client.client_id {
        return Err(OidcError::invalid_grant(
            "Authorization code was issued to another client",
        ));
    }
    if record.redirect_uri != redirect {
        return Err(OidcError::invalid_grant(
            "redirectUri does not match the authorization request",
        ));
    }
    if pkce_challenge(verifier) != record.code_challenge {
        return Err(OidcError::invalid_grant("PKCE verification failed"));
    }
    let refreshable = record.refreshable || client.refreshable();
    Ok(issue_tokens(
        sim,
        ledger,
        &client.client_id,
        refreshable,
        None,
    ))
}

fn refresh_grant(
    sim: &Sim,
    ledger: &mut Ledger,
    client: &Registration,
    req: &CreateTokenRequest,
) -> Result<Json<Value>, OidcError> {
    let token = req
        .refresh_token
        .as_deref()
        .ok_or_else(|| OidcError::invalid_request("refreshToken is required"))?;
    let at = sim.now();
    let record = ledger
        .refresh_tokens
        .get(token)
        .ok_or_else(|| OidcError::invalid_grant("Invalid refresh token provided"))?;
    if record.client_id != client.client_id {
        return Err(OidcError::invalid_grant(
            "Refresh token was issued to another client",
        ));
    }
    let session = record.session.clone();
    let alive = ledger
        .sessions
        .get(&session)
        .is_some_and(|s| !s.ended && s.ends > at);
    if !alive {
        ledger.refresh_tokens.remove(token);
        return Err(OidcError::invalid_grant(
            "The sign-in session has ended; sign in again",
        ));
    }
    ledger.stats.refreshes += 1;
    Ok(issue_tokens(
        sim,
        ledger,
        &client.client_id,
        true,
        Some((session, token.to_owned())),
    ))
}

/// `base64url(sha256(verifier))` without padding.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Issues an access token (and a refresh token for refreshable clients). `existing` continues a
/// session with its refresh token; otherwise a new sign-in session starts.
fn issue_tokens(
    sim: &Sim,
    ledger: &mut Ledger,
    client_id: &str,
    refreshable: bool,
    existing: Option<(String, String)>,
) -> Json<Value> {
    let at: SystemTime = sim.now();
    let (session, refresh_token) = match existing {
        Some((session, refresh)) => (session, Some(refresh)),
        None => {
            let session = ids::token("session-", 12);
            ledger.sessions.insert(
                session.clone(),
                SessionRecord {
                    ends: at + sim.opts.session_ttl,
                    ended: false,
                },
            );
            let refresh = refreshable.then(|| {
                let token = ids::token("aor", 96);
                ledger.refresh_tokens.insert(
                    token.clone(),
                    RefreshTokenRecord {
                        session: session.clone(),
                        client_id: client_id.to_owned(),
                    },
                );
                token
            });
            (session, refresh)
        }
    };
    let ends = ledger.sessions.get(&session).map_or(at, |s| s.ends);
    let lifetime = if refreshable {
        sim.opts.access_token_ttl
    } else {
        sim.opts.session_ttl
    };
    let expires = (at + lifetime).min(ends);
    let access_token = ids::token("aoa", 96);
    ledger
        .access_tokens
        .insert(access_token.clone(), AccessTokenRecord { session, expires });
    let expires_in = expires.duration_since(at).unwrap_or_default().as_secs();
    let mut body =
        json!({ "accessToken": access_token, "tokenType": "Bearer", "expiresIn": expires_in });
    if let Some(refresh) = refresh_token {
        body["refreshToken"] = Value::String(refresh);
    }
    Json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn loopback_callbacks() {
        assert!(is_loopback_callback("http://127.0.0.1/oauth/callback"));
        assert!(is_loopback_callback(
            "http://127.0.0.1:54321/oauth/callback"
        ));
        assert!(!is_loopback_callback("http://evil.example/oauth/callback"));
        assert!(!is_loopback_callback("http://127.0.0.1:5/other"));
        assert!(same_callback(
            "http://127.0.0.1/oauth/callback",
            "http://127.0.0.1:9999/oauth/callback"
        ));
    }
}
