//! The Auth API v1 handlers, under `/auth/v1`: parse the parameters, call
//! [`crate::auth::tokens::AuthTokens`], answer the documented model.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use tollgate_api::account::AuthTokenId;
use tollgate_api::auth::{Criteria, DeleteResponse, Jwt, Token, Tokens, Ttl};

use super::caller::Caller;
use super::error::ApiError;
use crate::clock::rfc3339;
use crate::http::AppState;
use crate::http::query::QueryParams;
use crate::store::AuthTokenRecord;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/auth/v1/tokens", get(list).delete(delete_by_criteria))
        .route("/auth/v1/tokens/generate", get(generate))
        .route(
            "/auth/v1/tokens/{token_id}",
            get(find_by_id).delete(delete_by_id),
        )
}

/// `GET /tokens/generate?ttl=N`
async fn generate(
    State(state): State<Arc<AppState>>,
    Caller(caller): Caller,
    query: QueryParams,
) -> Result<Json<Jwt>, ApiError> {
    let ttl = match query.get("ttl") {
        Some(raw) => raw.parse::<Ttl>()?,
        None => Ttl::DEFAULT,
    };
    let (_, jwt) = state.auth_tokens.generate(&caller, ttl).await?;
    Ok(Json(Jwt { token: jwt }))
}

/// `GET /tokens`
async fn list(
    State(state): State<Arc<AppState>>,
    Caller(caller): Caller,
) -> Result<Json<Tokens>, ApiError> {
    let records = state.auth_tokens.list(&caller).await?;
    let tokens = records.iter().map(|r| to_wire(&state, r)).collect();
    Ok(Json(Tokens { tokens }))
}

/// `GET /tokens/{tokenId}`
async fn find_by_id(
    State(state): State<Arc<AppState>>,
    Caller(caller): Caller,
    Path(token_id): Path<String>,
) -> Result<Json<Token>, ApiError> {
    let record = state
        .auth_tokens
        .find(&caller, &AuthTokenId::from(token_id))
        .await?;
    Ok(Json(to_wire(&state, &record)))
}

/// `DELETE /tokens/{tokenId}`
async fn delete_by_id(
    State(state): State<Arc<AppState>>,
    Caller(caller): Caller,
    Path(token_id): Path<String>,
) -> Result<Json<DeleteResponse>, ApiError> {
    state
        .auth_tokens
        .delete(&caller, &AuthTokenId::from(token_id))
        .await?;
    Ok(Json(DeleteResponse { success: true }))
}

/// `DELETE /tokens?criteria=ALL|EXPIRED|CURRENT`
async fn delete_by_criteria(
    State(state): State<Arc<AppState>>,
    Caller(caller): Caller,
    query: QueryParams,
) -> Result<Json<DeleteResponse>, ApiError> {
    let criteria = query
        .get("criteria")
        .ok_or_else(|| {
            ApiError::bad_request(
                "the query parameter criteria is required: ALL, EXPIRED or CURRENT",
            )
        })?
        .parse::<Criteria>()?;
    state.auth_tokens.delete_by(&caller, criteria).await?;
    Ok(Json(DeleteResponse { success: true }))
}

fn to_wire(state: &AppState, record: &AuthTokenRecord) -> Token {
    Token {
        href: format!("{}/auth/v1/tokens/{}", state.public_url, record.id),
        id: record.id.to_string(),
        created_date: rfc3339(record.created_at),
        expiration_date: rfc3339(record.expires_at),
        last_used_date: record.last_use.at.map(rfc3339),
        last_used_from: record.last_use.from.clone(),
    }
}
