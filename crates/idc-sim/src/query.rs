//! What STS and IAM share as AWS query-protocol services: parameters from the query string and
//! the form body, a SigV4-checked caller, the action dispatched, and the XML envelope around
//! each answer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::StsError;
use crate::ids;
use crate::state::{IssuedCredentials, Sim};

/// One query-protocol service: its API version, its XML namespace and its actions.
pub(crate) struct Service {
    /// `2011-06-15` (STS), `2010-05-08` (IAM).
    pub version: &'static str,
    pub namespace: &'static str,
    pub act: Act,
}

/// Answers `action` for an authenticated caller; `None` for an action the service does not
/// have.
pub(crate) type Act = fn(
    &Sim,
    &IssuedCredentials,
    &str,
    &HashMap<String, String>,
) -> Option<Result<String, StsError>>;

/// The request's parameters: the query string's, then (for a POST) the form body's.
pub(crate) fn params(method: &Method, uri: &Uri, body: &[u8]) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = HashMap::new();
    if let Some(q) = uri.query() {
        params.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    if method == Method::POST {
        params.extend(form_urlencoded::parse(body).into_owned());
    }
    params
}

/// Serves one request to `service`: authenticated, counted in the ledger, answered as XML.
pub(crate) fn serve(
    service: &Service,
    sim: &Arc<Sim>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    match dispatch(service, sim, method, uri, headers, body) {
        Ok(xml) => {
            let mut response = xml.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
            response
        }
        Err(e) => e.into_response(),
    }
}

fn dispatch(
    service: &Service,
    sim: &Sim,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, StsError> {
    let params = params(method, uri, body);
    let caller = crate::sts::authenticate(sim, method, uri, headers, body)?;
    let action = params.get("Action").map(String::as_str).unwrap_or("");
    sim.ledger().count(action);
    if action.is_empty() {
        return Err(StsError::new(
            StatusCode::BAD_REQUEST,
            "MissingAction",
            "Missing Action",
        ));
    }
    (service.act)(sim, &caller, action, &params).unwrap_or_else(|| {
        Err(StsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!(
                "Could not find operation {action} for version {}",
                service.version
            ),
        ))
    })
}

/// `<{action}Response xmlns=..>`, with `<{action}Result>` around `result` when the action
/// has one, and the request id.
pub(crate) fn envelope(service: &Service, action: &str, result: Option<&str>) -> String {
    let result = result
        .map(|r| format!("  <{action}Result>\n    {r}\n  </{action}Result>\n"))
        .unwrap_or_default();
    format!(
        "<{action}Response xmlns=\"{}\">\n{result}  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n",
        service.namespace,
        ids::request_id()
    )
}
