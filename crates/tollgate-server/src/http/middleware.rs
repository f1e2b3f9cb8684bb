//! Cross-cutting layers: one log line per request, IONOS error bodies for
//! answers the framework produced itself, and a 500 instead of a panic.

use std::any::Any;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Logs method, path (never the query or headers), status and latency,
/// after giving an error answer of the framework the IONOS body. A request
/// whose client went away before the answer is logged too, as `aborted`.
pub async fn log_and_complete(request: Request, next: Next) -> Response {
    let mut line = RequestLine {
        started: Instant::now(),
        method: request.method().clone(),
        path: request.uri().path().to_owned(),
        answered: false,
    };
    let response = with_ionos_error_body(next.run(request).await).await;
    line.answered = true;
    tracing::info!(
        target: "tollgate::http",
        "{} {} {} {:.3}ms",
        line.method,
        line.path,
        response.status().as_u16(),
        line.elapsed_ms()
    );
    response
}

/// The log line of one request; dropped unanswered, it logs the abort.
struct RequestLine {
    started: Instant,
    method: Method,
    path: String,
    answered: bool,
}

impl RequestLine {
    fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }
}

impl Drop for RequestLine {
    fn drop(&mut self) {
        if !self.answered {
            tracing::info!(
                target: "tollgate::http",
                "{} {} aborted {:.3}ms (the client closed the connection before the answer)",
                self.method,
                self.path,
                self.elapsed_ms()
            );
        }
    }
}

/// Gives every 4xx/5xx without a JSON body (framework rejections such as a
/// body over the size limit, a panic turned into a 500) the IONOS error body.
async fn with_ionos_error_body(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    if status.is_server_error() {
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap_or_default();
        tracing::error!(
            "{status} from the framework: {}",
            String::from_utf8_lossy(&body)
        );
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
pub fn panic_to_500(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    ApiError::internal(format!("handler panicked: {detail}")).into_response()
}
