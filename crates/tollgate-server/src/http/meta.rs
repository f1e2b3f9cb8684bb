//! Routes outside the two APIs: health, published keys, and the answers for
//! unknown paths and methods.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;

/// `GET /healthz`: 200 while the database answers, 503 otherwise.
pub async fn health(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    Ok(Json(json!({"status": "ok"})))
}

/// `GET /.well-known/jwks.json`: the public keys that verify access tokens.
pub async fn jwks(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.tokens.keys().jwks())
}

pub async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no such resource: {}", clip(uri.path())))
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!("{method} is not allowed on {}", clip(uri.path())),
    )
}

fn clip(path: &str) -> String {
    path.chars().take(200).collect()
}
