//! AWS error codes classified into the engine's [`ApiError`], whichever protocol carried them.

use rolecall_engine::api::ApiError;

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
