//! One HTTPS client for every AWS call (the SDK's, through `sdk`, and the federation
//! endpoint's), and how a REST-JSON or JSON 1.1 error answer reads (SSO OIDC's OAuth errors carry
//! `error` and `error_description`, which the SDK's generic error metadata does not read).
//!
//! The client follows no redirect: an AWS API never answers with one, and a redirect would carry
//! the portal's bearer token header (which reqwest does not know to strip) to another host.
//! Answers are read up to [`MAX_ANSWER`] bytes, then refused; what is read is zeroized once
//! parsed, as it may hold a token or a key.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use rolecall_engine::api::ApiError;
use zeroize::Zeroizing;

use crate::errors::from_code;

/// The largest answer read. A page of 100 accounts is about 15 KB.
pub(crate) const MAX_ANSWER: usize = 1 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// The HTTPS client (rustls on ring, the OS's roots) every adapter shares, or why there is none.
///
/// Calls to AWS go through the proxy the environment names (`HTTPS_PROXY`, `NO_PROXY`), as the
/// AWS CLI's do. Calls to a loopback endpoint (the simulator, a local test double) never do:
/// a proxy cannot reach this machine's loopback, and a plain-http request would show it the
/// portal's bearer token.
///
/// Each client is built on first use (it reads and parses the OS's root certificates, which a
/// command served from the cache, or the app's start, need not wait for); clones share them,
/// and so their connection pools.
#[derive(Debug, Clone, Default)]
pub struct Http(Arc<Clients>);

#[derive(Debug, Default)]
struct Clients {
    proxied: OnceLock<Result<reqwest::Client, String>>,
    direct: OnceLock<Result<reqwest::Client, String>>,
}

fn client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, String> {
    builder
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("rolecall/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            tracing::warn!("no HTTPS client: {e}");
            format!("HTTPS cannot be set up on this machine: {e}")
        })
}

/// Whether `url` names this machine: `localhost` or a loopback address.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl Http {
    /// The client for a request to `url`.
    pub(crate) fn client(&self, url: &url::Url) -> Result<&reqwest::Client, ApiError> {
        let chosen = if is_loopback(url) {
            self.0
                .direct
                .get_or_init(|| client(reqwest::Client::builder().no_proxy()))
        } else {
            self.0
                .proxied
                .get_or_init(|| client(reqwest::Client::builder()))
        };
        chosen
            .as_ref()
            .map_err(|why| ApiError::Network(why.clone()))
    }
}

/// An answer read whole: its status, its headers and its body (zeroized when dropped).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Zeroizing<Vec<u8>>,
}

impl Answer {
    /// The body as JSON of type `T`, or an "unreadable answer".
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|_| self.unreadable())
    }

    pub fn unreadable(&self) -> ApiError {
        ApiError::Network(format!("unreadable answer (HTTP {})", self.status.as_u16()))
    }
}

/// Sends a request and reads its answer, whatever its status.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<Answer, ApiError> {
    let mut response = request.send().await.map_err(|e| network(&e))?;
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = response.chunk().await.map_err(|e| network(&e))? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(ApiError::Server(format!(
                "the answer is larger than {} KiB (HTTP {})",
                MAX_ANSWER / 1024,
                status.as_u16()
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// What a request that got no answer tells the person. Never the URL: a federation request
/// carries credentials in its query.
fn network(e: &reqwest::Error) -> ApiError {
    if e.is_timeout() {
        return ApiError::Network("the request timed out".into());
    }
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        chain.push_str(&s.to_string());
        chain.push(' ');
        source = s.source();
    }
    let chain = chain.to_ascii_lowercase();
    ApiError::Network(
        if chain.contains("connection refused") {
            "connection refused"
        } else if chain.contains("dns") || chain.contains("failed to lookup") {
            "the host name could not be resolved"
        } else if chain.contains("certificate") || chain.contains("tls") {
            "the secure connection failed (certificate)"
        } else if chain.contains("timed out") {
            "the connection timed out"
        } else {
            "the connection failed"
        }
        .into(),
    )
}

/// A REST-JSON or JSON 1.1 error: the code from `x-amzn-ErrorType` (else the body's `__type`,
/// `code` or OIDC's `error`), the text from `message`, `Message` or `error_description`.
pub(crate) fn json_error(answer: &Answer) -> ApiError {
    let status = answer.status.as_u16();
    let body: Option<serde_json::Value> = serde_json::from_slice(&answer.body).ok();
    let field = |key: &str| {
        body.as_ref()
            .and_then(|b| b.get(key))
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let code = answer
        .headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .or_else(|| field("__type"))
        .or_else(|| field("code"))
        .map(error_code)
        .or_else(|| field("error").map(oauth_exception))
        .unwrap_or_default();
    let message = ["message", "Message", "error_description"]
        .into_iter()
        .find_map(field)
        .map_or_else(|| format!("HTTP {status}"), str::to_owned);
    from_code(status, &code, message)
}

/// `aws.protocoltests#ValidationException:http://internal.amazon.com/` -> `ValidationException`.
fn error_code(raw: &str) -> String {
    let name = raw.split(':').next().unwrap_or(raw);
    name.rsplit('#').next().unwrap_or(name).trim().to_owned()
}

/// OAuth's `authorization_pending` -> `AuthorizationPendingException`, the name SSO OIDC gives
/// it in `x-amzn-ErrorType`.
fn oauth_exception(error: &str) -> String {
    let mut name: String = error
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    name.push_str("Exception");
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().expect("header"));
        }
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers: map,
            body: Zeroizing::new(body.as_bytes().to_vec()),
        }
    }

    #[test]
    fn errors_are_read_from_the_header_the_type_or_the_oauth_error() {
        let pending = answer(
            400,
            &[("x-amzn-errortype", "AuthorizationPendingException")],
            r#"{"error":"authorization_pending","error_description":"Authorization is pending"}"#,
        );
        assert!(matches!(
            json_error(&pending),
            ApiError::AuthorizationPending
        ));
        let no_header = answer(400, &[], r#"{"error":"slow_down"}"#);
        assert!(matches!(json_error(&no_header), ApiError::SlowDown));
        let typed = answer(
            400,
            &[],
            r#"{"__type":"com.amazonaws.ecr#InvalidParameterException","message":"bad"}"#,
        );
        match json_error(&typed) {
            ApiError::Other { code, message } => {
                assert_eq!(
                    (code.as_str(), message.as_str()),
                    ("InvalidParameterException", "bad")
                );
            }
            other => panic!("{other:?}"),
        }
        let suffixed = answer(
            401,
            &[(
                "x-amzn-errortype",
                "UnauthorizedException:http://internal.amazon.com/",
            )],
            r#"{"message":"Session token not found or invalid"}"#,
        );
        match json_error(&suffixed) {
            ApiError::Unauthorized(m) => assert_eq!(m, "Session token not found or invalid"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_answer_that_is_not_json_still_says_what_happened() {
        assert!(matches!(
            json_error(&answer(429, &[], "<html>slow down</html>")),
            ApiError::Throttled
        ));
        assert!(matches!(
            json_error(&answer(503, &[], "")),
            ApiError::Server(m) if m == "HTTP 503"
        ));
        assert!(matches!(
            json_error(&answer(401, &[], "")),
            ApiError::Unauthorized(_)
        ));
    }

    #[test]
    fn only_this_machines_addresses_bypass_the_proxy() {
        for local in [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://LOCALHOST:1/x",
        ] {
            assert!(
                is_loopback(&url::Url::parse(local).expect("url")),
                "{local}"
            );
        }
        for remote in [
            "https://portal.sso.eu-west-1.amazonaws.com/",
            "https://localhost.example.com/",
            "https://10.0.0.1/",
        ] {
            assert!(
                !is_loopback(&url::Url::parse(remote).expect("url")),
                "{remote}"
            );
        }
    }
}
