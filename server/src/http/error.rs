//! The one HTTP error type. Every failure leaves the server as
//! `{"error": "<stable_code>", "message": "<human text>", "field": …}` with the right status.

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use schalter_events::feedback::FeedbackError;
use schalter_events::store::StoreError;

use crate::engine::executor::Busy;
pub use schalter_events::api::ErrorBody;

/// Largest JSON body the API reads; bookings and queue commands are a few hundred bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    #[error("{message}")]
    Unauthorized { code: &'static str, message: &'static str },
    #[error("your role may not do this")]
    Forbidden,
    #[error("this request came from another site; staff actions only work from Schalter's own pages")]
    CrossSite,
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request body does not have the expected fields and types: {0}")]
    InvalidBody(String),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        field: Option<std::borrow::Cow<'static, str>>,
    },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the closure meets {0} booked appointments: choose to keep them or to cancel them with a message")]
    BookingsAffected(u32),
    #[error("too many requests from here; please wait {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    #[error("the event store is not reachable")]
    StoreUnavailable,
    /// More connections or streams than the server holds; answered with Retry-After.
    #[error("{message}")]
    Overloaded {
        status: StatusCode,
        code: &'static str,
        message: &'static str,
    },
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(code: &'static str, field: Option<&'static str>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            message: message.into(),
            field: field.map(std::borrow::Cow::Borrowed),
        }
    }

    /// The stable code the answer carries, for reports that list several refusals.
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    /// Refused for what was asked (4xx), as opposed to the server failing it (5xx).
    pub fn is_refusal(&self) -> bool {
        self.status_and_code().0.is_client_error()
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Unauthorized { code, .. } => (StatusCode::UNAUTHORIZED, code),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::CrossSite => (StatusCode::FORBIDDEN, "cross_site_request"),
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::InvalidBody(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Invalid { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::BookingsAffected(_) => (StatusCode::CONFLICT, "bookings_affected"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::StoreUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            ApiError::Overloaded { status, code, .. } => (*status, code),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(detail) = &self {
            // A 5xx is a bug: log it loudly, tell the client nothing internal.
            tracing::error!(%detail, "internal error");
        }
        let field = match &self {
            ApiError::Invalid { field, .. } => field.as_deref().map(str::to_owned),
            ApiError::InvalidBody(message) => body_field(message),
            _ => None,
        };
        let body = ErrorBody {
            error: code.to_owned(),
            message: self.to_string(),
            field,
            count: match &self {
                ApiError::BookingsAffected(n) => Some(*n),
                _ => None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let retry_after = match self {
            ApiError::RateLimited { retry_after } => Some(retry_after),
            ApiError::Overloaded { .. } => Some(5),
            ApiError::StoreUnavailable => Some(2),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// The field a JSON reader's complaint is about: serde names its path before a colon
/// (`opening[0].close: invalid type…`), `.` when the body as a whole is wrong.
fn body_field(message: &str) -> Option<String> {
    let message = message
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(message);
    let (path, _) = message.split_once(": ")?;
    (path != "." && !path.is_empty() && !path.contains(' ')).then(|| path.to_owned())
}

impl From<schalter_events::administration::Invalid> for ApiError {
    fn from(e: schalter_events::administration::Invalid) -> Self {
        ApiError::Invalid {
            code: e.code,
            message: e.message,
            field: Some(e.field.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. } | StoreError::ConcurrentWrite => ApiError::Conflict {
                code: "concurrent_change",
                message: "someone changed this at the same moment; please try again".into(),
            },
            StoreError::CommandReused { .. } => ApiError::invalid(
                "idempotency_key_reused",
                None,
                "this Idempotency-Key was used for another request",
            ),
            unavailable if unavailable.is_unavailable() => {
                tracing::warn!(error = %unavailable, "the event store is unavailable");
                ApiError::StoreUnavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<Busy> for ApiError {
    fn from(_: Busy) -> Self {
        ApiError::Conflict {
            code: "concurrent_change",
            message: "many people are changing this right now; please try again".into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => ApiError::InvalidBody(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => ApiError::MalformedJson(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge(BODY_LIMIT)
            }
            other => ApiError::MalformedJson(other.body_text()),
        }
    }
}

impl From<FeedbackError> for ApiError {
    fn from(e: FeedbackError) -> Self {
        let (code, field) = match e {
            FeedbackError::RatingOutOfRange => ("rating_out_of_range", "rating"),
            FeedbackError::UnknownService => ("unknown_service", "service"),
        };
        ApiError::invalid(code, Some(field), e.to_string())
    }
}
