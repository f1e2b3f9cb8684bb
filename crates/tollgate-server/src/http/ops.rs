//! Routes for operators and verifiers: liveness, readiness, metrics, and
//! the public keys that verify access tokens. Errors carry the IONOS body
//! (see `ionos::surface`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::ionos::error::ApiError;
use crate::ops::health::NotReady;

/// The content type of the metrics exposition (OpenMetrics text, which
/// Prometheus reads).
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(live))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/.well-known/jwks.json", get(jwks))
}

/// `GET /healthz`: 200 while the process answers.
async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 while the store answers with this build's schema,
/// 503 otherwise (a load balancer sends no traffic here meanwhile).
async fn ready(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    state.health.ready().await.map_err(|not_ready| {
        tracing::warn!("not ready: {not_ready}");
        let message = match not_ready {
            NotReady::Store(_) => "not ready: the database does not answer".to_owned(),
            schema @ NotReady::Schema { .. } => format!("not ready: {schema}"),
        };
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", message)
    })?;
    Ok(Json(json!({"status": "ready"})))
}

/// `GET /metrics`: the metrics in the Prometheus text format.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(state.health.pool_use());
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
}

/// `GET /.well-known/jwks.json`: the public keys that verify access tokens.
async fn jwks(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.access_tokens.keys().jwks())
}
