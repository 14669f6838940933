//! SDK errors classified into the engine's [`ApiError`].

use aws_sdk_sso::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use rolecall_engine::api::ApiError;

/// Maps any SDK error (the three SDK crates share these types).
pub(crate) fn classify<E>(err: SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let e = ctx.err();
            let code = e.code().unwrap_or("").to_owned();
            // SSO OIDC puts its text in `error_description`, which the SDK does not surface
            // as the message; read it from the body.
            let message = e
                .message()
                .map(str::to_owned)
                .or_else(|| description_in(ctx.raw().body().bytes()))
                .unwrap_or_else(|| e.to_string());
            from_code(status, &code, message)
        }
        SdkError::TimeoutError(_) => ApiError::Network("the request timed out".into()),
        SdkError::DispatchFailure(e) => ApiError::Network(describe_dispatch(&e)),
        SdkError::ResponseError(e) => {
            let status = e.raw().status().as_u16();
            if status == 429 {
                ApiError::Throttled
            } else if status >= 500 {
                ApiError::Server(format!("HTTP {status}"))
            } else {
                ApiError::Network(format!("unreadable answer (HTTP {status})"))
            }
        }
        SdkError::ConstructionFailure(_) => {
            ApiError::InvalidRequest("the request could not be built".into())
        }
        other => ApiError::Network(other.to_string()),
    }
}

fn description_in(body: Option<&[u8]>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body?).ok()?;
    ["error_description", "message", "Message"]
        .iter()
        .find_map(|k| value.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
        .filter(|s| !s.is_empty())
}

fn describe_dispatch<T: std::fmt::Debug>(e: &T) -> String {
    let text = format!("{e:?}");
    if text.contains("Connection refused") || text.contains("ConnectionRefused") {
        "connection refused".into()
    } else if text.contains("dns") || text.contains("failed to lookup") {
        "the host name could not be resolved".into()
    } else if text.contains("Timeout") || text.contains("timed out") {
        "the connection timed out".into()
    } else {
        "the connection failed".into()
    }
}

pub(crate) fn from_code(status: u16, code: &str, message: String) -> ApiError {
    match code {
        "AuthorizationPendingException" => ApiError::AuthorizationPending,
        "SlowDownException" => ApiError::SlowDown,
        "ExpiredTokenException" | "ExpiredToken" => ApiError::Expired(message),
        "AccessDeniedException" => ApiError::AccessDenied,
        "InvalidGrantException" => ApiError::InvalidGrant(message),
        "InvalidClientException" => ApiError::InvalidClient(message),
        "UnauthorizedException" => ApiError::Unauthorized(message),
        "ForbiddenException" | "AccessDenied" => ApiError::Forbidden(message),
        "TooManyRequestsException"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded" => ApiError::Throttled,
        "InvalidRequestException" | "ValidationError" | "ValidationException" => {
            ApiError::InvalidRequest(message)
        }
        "InvalidClientTokenId" | "SignatureDoesNotMatch" => {
            ApiError::Forbidden(format!("{code}: {message}"))
        }
        _ if status == 429 => ApiError::Throttled,
        _ if status >= 500 => ApiError::Server(if code.is_empty() {
            format!("HTTP {status}")
        } else {
            code.to_owned()
        }),
        _ if status == 401 => ApiError::Unauthorized(message),
        _ => ApiError::Other {
            code: code.to_owned(),
            message,
        },
    }
}
