//! The registry token service: `/registry/token`, where registries send
//! `docker login`, push and pull, and `/registry/certs.pem`, the bundle
//! they verify its JWTs with; and `/registry/events`, where they send
//! their event notifications ([`events`]). Every error answer is in Docker's format,
//! `{"errors": [{"code", "message"}]}` ([`TokenError`]), also the answers
//! the framework makes itself and a panic turned into a 500.

mod events;
mod token;

use std::any::Any;
use std::sync::Arc;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use tower_http::catch_panic::CatchPanicLayer;

use super::AppState;
use super::limits::Overrun;

/// The routes of the token service, with its own error rendering for
/// panics (other framework answers get it from
/// [`super::complete_framework_error`]).
pub fn routes() -> Router<Arc<AppState>> {
    token::routes()
        .merge(events::routes())
        .layer(CatchPanicLayer::custom(panic_to_500))
}

/// Whether `path` is this surface's: everything under `/registry/`.
pub fn serves(path: &str) -> bool {
    path.starts_with("/registry/")
}

/// An error in Docker's token format.
#[derive(Debug)]
pub struct TokenError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds to wait before trying again (`Retry-After` of a 429 or 503).
    retry_after: Option<i64>,
}

impl From<Overrun> for TokenError {
    fn from(overrun: Overrun) -> Self {
        TokenError {
            retry_after: overrun.retry_after(),
            ..TokenError::new(overrun.status(), overrun.docker_code(), overrun.message())
        }
    }
}

impl TokenError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Too many wrong passwords: 429 with `Retry-After`, in the code
    /// Distribution itself uses for it.
    fn throttled(retry_after: i64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TOOMANYREQUESTS",
                format!(
                    "too many wrong passwords for this token from your address: try again in {retry_after} seconds"
                ),
            )
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }
}

#[derive(Serialize)]
struct ErrorsBody<'a> {
    errors: [ErrorEntry<'a>; 1],
}

#[derive(Serialize)]
struct ErrorEntry<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = ErrorsBody {
            errors: [ErrorEntry {
                code: self.code,
                message: &self.message,
            }],
        };
        let response = (self.status, Json(body)).into_response();
        super::with_error_headers(
            response,
            r#"Basic realm="tollgate registry token service""#,
            self.retry_after,
        )
    }
}

/// Gives a 4xx/5xx the framework answered without a JSON body (a 405,
/// a 413) Docker's error format.
pub(crate) fn complete_error(status: StatusCode) -> Response {
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => TokenError::new(
            status,
            "UNSUPPORTED",
            "use GET with Basic credentials, or POST with an OAuth2 form",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            TokenError::new(status, "INVALID_REQUEST", "the request body is too large")
        }
        s if s.is_server_error() => TokenError::new(
            s,
            "UNAVAILABLE",
            "the token service failed to handle the request; try again later",
        ),
        s => TokenError::new(s, "INVALID_REQUEST", "the request could not be understood"),
    };
    error.into_response()
}

/// Turns a panic in a handler into a logged 500 in Docker's format.
fn panic_to_500(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    tracing::error!(
        "token service handler panicked: {}",
        super::ionos::panic_message(&panic)
    );
    TokenError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNAVAILABLE",
        "the token service failed to handle the request; try again later",
    )
    .into_response()
}
