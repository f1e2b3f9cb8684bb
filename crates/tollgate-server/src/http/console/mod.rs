//! The web console: pages at `/console/` (every asset inside the binary),
//! and its session at `/console/session`.
//!
//! The console's script calls the IONOS APIs themselves, so it obeys the
//! same rules (roles, privileges, contracts) and shows the same errors.
//! Instead of an `Authorization` header its requests carry the session
//! cookie, which JavaScript cannot read ([`cookie`]), and the session's
//! CSRF token in `X-CSRF-Token` ([`check_csrf`]). Every console answer has
//! a Content-Security-Policy that allows only this origin's own scripts
//! and styles ([`security_headers`]).

mod assets;
mod cookie;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Redirect, Response};
use axum::routing::get;

pub(crate) use cookie::session_secret;

use super::AppState;
use super::ionos::error::ApiError;
use crate::auth::console_sessions::csrf_matches;

/// Where the console is served.
pub const CONSOLE_PATH: &str = "/console/";

/// The header that carries the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The `errorCode` of a request refused for a missing or stale CSRF token
/// (the console then reads the session again and retries once).
pub const CSRF_REFUSED: &str = "csrf-token-mismatch";

/// The console's pages, assets and session.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to(CONSOLE_PATH) }))
        .route("/console", get(|| async { Redirect::to(CONSOLE_PATH) }))
        .merge(assets::routes())
        .merge(session::routes())
        .layer(axum::middleware::map_response(security_headers))
}

/// Refuses a request made with the session cookie that does not also carry
/// the session's CSRF token, which only the console's own pages know. The
/// one exception is reading the session (`GET /console/session`), which is
/// how a reloaded page learns the token.
pub(crate) fn check_csrf(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    secret: &str,
) -> Result<(), ApiError> {
    if *method == Method::GET && uri.path() == session::SESSION_PATH {
        return Ok(());
    }
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if csrf_matches(secret, presented) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            CSRF_REFUSED,
            "this request carries the console's session cookie but not its CSRF token (X-CSRF-Token): reload the console",
        ))
    }
}

/// What every console answer carries: scripts, styles and requests only
/// from this origin, no framing, no inline script, no referrer, no caching
/// of pages that show credentials.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
