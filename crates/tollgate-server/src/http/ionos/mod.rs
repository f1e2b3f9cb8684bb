//! The IONOS APIs: the Auth API v1 (`/auth/v1`) and the Container Registry
//! API (`/containerregistries`), and Tollgate's extensions in their style
//! (the audit API `/audit/v1`, token rotation). Every 4xx and 5xx answer
//! carries the IONOS error body ([`error::ApiError`]), also the answers the
//! framework makes itself (a 405, a 413) and a panic turned into a 500.
//!
//! A handler parses its input into domain types, calls one service, and
//! renders the wire type; [`caller`] turns credentials into a member through
//! the authentication gate, [`json`] reads bodies, [`links`] writes `href`s.

mod audit_api;
mod auth_api;
pub(crate) mod caller;
pub mod error;
pub(crate) mod json;
mod links;
mod registries;
mod registry_tokens;
mod repositories;

use std::any::Any;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;

use super::AppState;
use error::ApiError;

/// The routes of both APIs.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .merge(auth_api::routes())
        .merge(audit_api::routes())
        .merge(registries::routes())
        .merge(registry_tokens::routes())
        .merge(repositories::routes())
}

/// Gives `router` this surface's error rendering: a 405 names the method,
/// panics get the IONOS body (other framework answers get it from
/// [`super::complete_framework_error`]).
pub fn surface(router: Router<Arc<AppState>>) -> Router<Arc<AppState>> {
    router
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(panic_to_500))
}

/// Any path no surface serves.
pub async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "no such resource: {}",
        super::clip_path(uri.path())
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!(
            "{method} is not allowed on {}",
            super::clip_path(uri.path())
        ),
    )
}

/// Gives a 4xx/5xx the framework answered without a JSON body (a body
/// over the size limit, a wrong media type) the IONOS error body.
pub(crate) fn complete_error(status: StatusCode, path: &str) -> Response {
    if status.is_server_error() {
        tracing::error!("{status} from the framework on {}", super::clip_path(path));
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload-too-large",
            "the request body is larger than this service accepts",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            "send the body as application/json",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "this method is not allowed on this path",
        ),
        StatusCode::NOT_FOUND => ("not-found", "no such resource"),
        s if s.is_server_error() => ("internal-error", "the service failed to handle the request"),
        _ => ("invalid-request", "the request could not be understood"),
    };
    ApiError::new(status, code, message).into_response()
}

/// Turns a panic in a handler into a logged 500 with the IONOS body.
fn panic_to_500(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    ApiError::internal(format!("handler panicked: {}", panic_message(&panic))).into_response()
}

/// What a panic said, if it said it as text.
pub(super) fn panic_message(panic: &Box<dyn Any + Send + 'static>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}
