//! The console's files, compiled into the binary from `console/`: one
//! page, its script (plain ES2020, no build step) and its style sheet.
//! Nothing is fetched from anywhere else, at build or at run time.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::AppState;

const INDEX_HTML: &str = include_str!("../../../console/index.html");
const APP_JS: &str = include_str!("../../../console/app.js");
const APP_CSS: &str = include_str!("../../../console/app.css");
const ICON_SVG: &str = include_str!("../../../console/icon.svg");

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            super::CONSOLE_PATH,
            get(|| file(INDEX_HTML, "text/html; charset=utf-8")),
        )
        .route(
            "/console/app.js",
            get(|| file(APP_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/console/app.css",
            get(|| file(APP_CSS, "text/css; charset=utf-8")),
        )
        .route("/console/icon.svg", get(|| file(ICON_SVG, "image/svg+xml")))
}

/// A file of the console; a browser asks again before reusing it, so a
/// new build's files are taken up at once.
async fn file(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}
