//! The error shapes of the three wire protocols, so that every SDK parses them as it would
//! the real service's: SSO OIDC (`{"error", "error_description"}`), the portal
//! (`{"message"}`), both with `x-amzn-ErrorType`; STS (query protocol, XML `ErrorResponse`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An SSO OIDC error, e.g. `authorization_pending` (400, `AuthorizationPendingException`).
#[derive(Debug, Clone)]
pub struct OidcError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OidcError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }
    pub fn pending() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "authorization_pending",
            "Authorization is pending",
        )
    }
    pub fn slow_down() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "slow_down",
            "Client is polling too quickly",
        )
    }
    pub fn expired_token(what: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "expired_token",
            format!("{what} has expired"),
        )
    }
    pub fn access_denied() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "access_denied",
            "The user denied the authorization",
        )
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", d)
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Injected server fault",
        )
    }

    /// `authorization_pending` -> `AuthorizationPendingException`.
    pub fn exception_name(&self) -> String {
        if self.error == "server_error" {
            return "InternalServerException".into();
        }
        let mut name: String = self
            .error
            .split('_')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        name.push_str("Exception");
        name
    }
}

impl IntoResponse for OidcError {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({ "error": self.error, "error_description": self.description });
        json_error(self.status, &self.exception_name(), body)
    }
}

/// A portal error, e.g. 401 `UnauthorizedException`.
#[derive(Debug, Clone)]
pub struct PortalError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl PortalError {
    pub fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "UnauthorizedException",
            message: "Session token not found or invalid".into(),
        }
    }
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidRequestException",
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "ResourceNotFoundException",
            message: message.into(),
        }
    }
    pub fn forbidden() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "ForbiddenException",
            message: "No access".into(),
        }
    }
    pub fn throttled() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "TooManyRequestsException",
            message: "HTTP 429 Unknown Code".into(),
        }
    }
    pub fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalServerException",
            message: "Injected server fault".into(),
        }
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        json_error(
            self.status,
            self.code,
            serde_json::json!({ "message": self.message }),
        )
    }
}

fn json_error(status: StatusCode, error_type: &str, body: serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(error_type) {
        headers.insert("x-amzn-ErrorType", value);
    }
    response
}

/// An STS error in the query protocol's XML.
#[derive(Debug, Clone)]
pub struct StsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl StsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn invalid_client_token() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    }
    pub fn expired_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "ExpiredToken",
            "The security token included in the request is expired",
        )
    }
    pub fn signature_mismatch(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", message)
    }
    pub fn missing_auth() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        )
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "Injected server fault",
        )
    }
}

impl IntoResponse for StsError {
    fn into_response(self) -> Response {
        let kind = if self.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        let body = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
            self.code,
            crate::html::escape(&self.message),
            crate::ids::request_id()
        );
        let mut response = (self.status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_names_follow_the_service() {
        assert_eq!(
            OidcError::pending().exception_name(),
            "AuthorizationPendingException"
        );
        assert_eq!(OidcError::slow_down().exception_name(), "SlowDownException");
        assert_eq!(
            OidcError::invalid_client("x").exception_name(),
            "InvalidClientException"
        );
        assert_eq!(
            OidcError::expired_token("x").exception_name(),
            "ExpiredTokenException"
        );
    }
}
