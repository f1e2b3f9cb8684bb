//! One log line per request, on every surface: method, path (never the
//! query, headers or body), status and latency.

use std::time::Instant;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// Logs the request once it is answered; a request whose client went away
/// before the answer is logged too, as `aborted`.
pub async fn log_request(request: Request, next: Next) -> Response {
    let mut line = RequestLine {
        started: Instant::now(),
        method: request.method().clone(),
        path: request.uri().path().to_owned(),
        answered: false,
    };
    let response = next.run(request).await;
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
