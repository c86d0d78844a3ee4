//! The one error type of the TAXII service, and its one exhaustive mapping to
//! HTTP status codes: every handler returns `Result<_, Error>`, so the status a
//! client sees is decided in exactly one place.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No or wrong credentials.
    #[error("authentication required")]
    Unauthenticated,
    /// Authenticated, but the partner may not do this (e.g. write without `write`).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The resource does not exist, or the partner may not know it exists.
    #[error("not found: {0}")]
    NotFound(String),
    /// A malformed query parameter or path segment.
    #[error("invalid parameter `{name}`: {reason}")]
    BadParameter { name: String, reason: String },
    /// A request body that is not a TAXII envelope.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The route exists but not with this HTTP method.
    #[error("method not allowed on this resource")]
    MethodNotAllowed,
    /// The `Accept` header names only media types the server cannot produce.
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    /// The `Content-Type` of a POST is not a TAXII media type.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("request body exceeds max_content_length ({max} bytes)")]
    TooLarge { max: usize },
    /// Well-formed JSON the server cannot process as STIX (e.g. an envelope of non-objects).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// Too many failed authentications from this source or for this user.
    #[error("too many failed authentications; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// The request target is longer than the server reads.
    #[error("request target longer than {max} bytes")]
    UriTooLong { max: usize },
    /// The request headers are larger than the server reads.
    #[error("request headers larger than {max} bytes")]
    HeadersTooLarge { max: usize },
    /// The body did not arrive in time.
    #[error("request body not received within {secs} s")]
    RequestTimeout { secs: u64 },
    /// The audit entry of this request could not be written, so the request
    /// is not answered (nothing is served unaudited).
    #[error("audit log unavailable: {0}")]
    AuditUnavailable(String),
    #[error("storage: {0}")]
    Storage(#[from] StoreError),
    /// A failed internal task (a panicked blocking job).
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub fn bad_param(name: &str, reason: impl Into<String>) -> Self {
        Error::BadParameter {
            name: name.to_string(),
            reason: reason.into(),
        }
    }

    /// The HTTP status for this error: the single, exhaustive mapping.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::Unauthenticated => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::BadParameter { .. } | Error::BadRequest(_) => 400,
            Error::MethodNotAllowed => 405,
            Error::NotAcceptable(_) => 406,
            Error::UnsupportedMediaType(_) => 415,
            Error::TooLarge { .. } => 413,
            Error::Unprocessable(_) => 422,
            Error::TooManyRequests { .. } => 429,
            Error::UriTooLong { .. } => 414,
            Error::HeadersTooLarge { .. } => 431,
            Error::RequestTimeout { .. } => 408,
            Error::AuditUnavailable(_) => 503,
            Error::Storage(_) | Error::Internal(_) => 500,
        }
    }

    /// The TAXII error resource's `title`.
    pub fn title(&self) -> &'static str {
        match self {
            Error::Unauthenticated => "Unauthorized",
            Error::Forbidden(_) => "Forbidden",
            Error::NotFound(_) => "Not Found",
            Error::BadParameter { .. } | Error::BadRequest(_) => "Bad Request",
            Error::MethodNotAllowed => "Method Not Allowed",
            Error::NotAcceptable(_) => "Not Acceptable",
            Error::UnsupportedMediaType(_) => "Unsupported Media Type",
            Error::TooLarge { .. } => "Request Entity Too Large",
            Error::Unprocessable(_) => "Unprocessable Entity",
            Error::TooManyRequests { .. } => "Too Many Requests",
            Error::UriTooLong { .. } => "URI Too Long",
            Error::HeadersTooLarge { .. } => "Request Header Fields Too Large",
            Error::RequestTimeout { .. } => "Request Timeout",
            Error::AuditUnavailable(_) => "Service Unavailable",
            Error::Storage(_) | Error::Internal(_) => "Internal Server Error",
        }
    }

    /// The TAXII 2.1 error resource (`http_status` always equals the status sent).
    pub fn to_resource(&self) -> serde_json::Value {
        // Storage details can carry SQL; clients get a generic description.
        let description = match self {
            Error::Storage(_) | Error::Internal(_) | Error::AuditUnavailable(_) => {
                "the server failed to process the request".to_string()
            }
            other => other.to_string(),
        };
        serde_json::json!({
            "title": self.title(),
            "description": description,
            "http_status": self.http_status().to_string(),
        })
    }
}
