//! Routes for operators and verifiers: health, and the public keys that
//! verify access tokens. Errors carry the IONOS body (see `ionos::surface`).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::ionos::error::ApiError;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(health))
        .route("/.well-known/jwks.json", get(jwks))
}

/// `GET /healthz`: 200 while the database answers, 503 otherwise.
async fn health(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    state.health.check().await?;
    Ok(Json(json!({"status": "ok"})))
}

/// `GET /.well-known/jwks.json`: the public keys that verify access tokens.
async fn jwks(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.access_tokens.keys().jwks())
}
