//! The AWS SDK for Rust over Rolecall's own HTTPS client.
//!
//! The SDK builds, signs, retries and parses every SSO OIDC, portal, STS and ECR call; it sends
//! them through [`SdkHttp`], an `HttpClient` served by [`Http`]'s reqwest clients. So one TLS
//! stack (rustls on ring, the OS's roots) and one connection pool serve everything, and every
//! property of those clients holds for the SDK's calls too: no redirect followed, answers bounded
//! in size ([`crate::wire::MAX_ANSWER`]) and time, the environment's proxy for AWS and never for
//! loopback.
//!
//! What the SDK cannot know comes back as the engine's [`ApiError`]: a failed call is read from
//! the raw answer the SDK keeps (the same classification as before the SDK, [`wire::json_error`]
//! or STS's query error), a call that got no answer from the [`WireError`] the connector gave.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rolecall_engine::api::ApiError;
use zeroize::Zeroizing;

use crate::wire::{self, Answer, Http};

/// The SDK's HTTP client: each request goes out through [`Http`].
#[derive(Debug, Clone)]
pub(crate) struct SdkHttp {
    http: Http,
}

impl SdkHttp {
    pub(crate) fn shared(http: &Http) -> SharedHttpClient {
        SharedHttpClient::new(Self { http: http.clone() })
    }
}

impl HttpClient for SdkHttp {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        // The connect and attempt timeouts are the reqwest clients' own (`wire`).
        SharedHttpConnector::new(self.clone())
    }
}

/// Why a request the SDK made got no answer it could read, as the engine will say it.
#[derive(Debug)]
pub(crate) struct WireError(pub ApiError);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for WireError {}

impl HttpConnector for SdkHttp {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let http = self.http.clone();
        HttpConnectorFuture::new(async move {
            let answer = send(&http, request).await.map_err(|e| {
                let timed_out = matches!(&e, ApiError::Network(why) if why.contains("timed out"));
                let network = matches!(e, ApiError::Network(_));
                let boxed = Box::new(WireError(e));
                if timed_out {
                    ConnectorError::timeout(boxed)
                } else if network {
                    // Transient: the SDK's retry modes may try again (never the portal's).
                    ConnectorError::io(boxed)
                } else {
                    ConnectorError::other(boxed, None)
                }
            })?;
            into_response(answer)
        })
    }
}

async fn send(http: &Http, request: HttpRequest) -> Result<Answer, ApiError> {
    let cannot = |what: &str| ApiError::InvalidRequest(format!("the request {what}"));
    let url = url::Url::parse(request.uri()).map_err(|_| cannot("has no valid URL"))?;
    let method = reqwest::Method::from_bytes(request.method().as_bytes())
        .map_err(|_| cannot("has no valid method"))?;
    let mut headers = HeaderMap::new();
    for (name, value) in request.headers() {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| cannot("has a bad header"))?,
            HeaderValue::from_str(value).map_err(|_| cannot("has a bad header"))?,
        );
    }
    // Every call Rolecall makes has a body in memory (or none); a form or JSON body may hold a
    // client secret or a refresh token, so the copy handed to reqwest is wiped after use.
    let body = Zeroizing::new(
        request
            .body()
            .bytes()
            .ok_or_else(|| cannot("has a streaming body"))?
            .to_vec(),
    );
    let builder = http
        .client(&url)?
        .request(method, url)
        .headers(headers)
        .body(body.to_vec());
    wire::send(builder).await
}

fn into_response(mut answer: Answer) -> Result<HttpResponse, ConnectorError> {
    let status = answer.status.as_u16().try_into().map_err(|_| {
        ConnectorError::other(
            Box::new(WireError(ApiError::Server(format!(
                "HTTP {} is not a status",
                answer.status.as_u16()
            )))),
            None,
        )
    })?;
    let body = std::mem::take(&mut *answer.body);
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    for (name, value) in &answer.headers {
        if let Ok(value) = value.to_str() {
            response
                .headers_mut()
                .append(name.as_str().to_owned(), value.to_owned());
        }
    }
    Ok(response)
}

/// The engine's error for a failed SDK call: read from the raw answer with `of_answer` (the
/// protocol's error shape) when there is one, else from what the connector said.
pub(crate) fn api_error<E>(
    e: &SdkError<E, HttpResponse>,
    of_answer: fn(&Answer) -> ApiError,
) -> ApiError
where
    E: std::error::Error + 'static,
{
    if let Some(raw) = e.raw_response() {
        let answer = from_response(raw);
        return if answer.status.is_success() {
            answer.unreadable()
        } else {
            of_answer(&answer)
        };
    }
    // The connector's own error, if it is somewhere in the chain.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(WireError(why)) = s.downcast_ref::<WireError>() {
            return why.clone();
        }
        source = s.source();
    }
    match e {
        SdkError::TimeoutError(_) => ApiError::Network("the request timed out".into()),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            ApiError::Network("the request timed out".into())
        }
        SdkError::ConstructionFailure(_) => {
            ApiError::InvalidRequest("the request could not be built".into())
        }
        _ => ApiError::Network("the connection failed".into()),
    }
}

fn from_response(raw: &HttpResponse) -> Answer {
    let mut headers = HeaderMap::new();
    for (name, value) in raw.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    Answer {
        status: reqwest::StatusCode::from_u16(raw.status().as_u16())
            .unwrap_or(reqwest::StatusCode::INTERNAL_SERVER_ERROR),
        headers,
        body: Zeroizing::new(raw.body().bytes().unwrap_or_default().to_vec()),
    }
}

/// The SDK's standard retry mode with `attempts` in all (OIDC, STS, ECR): transient errors and
/// throttling only, with backoff and jitter from 200 ms.
pub(crate) fn retries(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}
