//! The Auth API v1 handlers, under `/auth/v1`.
//!
//! Each handler parses its parameters into `tollgate_api` types, asks the
//! store, and answers the documented model. A token is written durably
//! before its JWT is handed out; a delete is durable before it is acknowledged.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use tollgate_api::auth::{Criteria, DeleteResponse, Jwt, Token, Tokens, Ttl};

use super::AppState;
use super::caller::{AuthMethod, Caller};
use super::error::ApiError;
use super::query::QueryParams;
use crate::clock::rfc3339;
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

/// `GET /tokens/generate?ttl=N`. A token generated with Bearer auth
/// never outlives the token that generated it.
async fn generate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: QueryParams,
) -> Result<Json<Jwt>, ApiError> {
    let ttl = match query.get("ttl") {
        Some(raw) => raw
            .parse::<Ttl>()
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
        None => Ttl::DEFAULT,
    };
    let now = state.clock.now();
    let not_after = match &caller.method {
        AuthMethod::Bearer { token } => Some(token.expires_at),
        AuthMethod::Basic => None,
    };
    let (record, jwt) = state.tokens.issue(
        &caller.user_id,
        &caller.membership,
        ttl.seconds(),
        not_after,
        now,
    );
    state.store.insert_auth_token(&record).await?;
    Ok(Json(Jwt { token: jwt }))
}

/// `GET /tokens`
async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Tokens>, ApiError> {
    let records = state
        .store
        .list_auth_tokens(&caller.user_id, caller.contract())
        .await?;
    let tokens = records.iter().map(|r| to_wire(&state, r)).collect();
    Ok(Json(Tokens { tokens }))
}

/// `GET /tokens/{tokenId}`
async fn find_by_id(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(token_id): Path<String>,
) -> Result<Json<Token>, ApiError> {
    // A client reading its own token: the authentication just read that row.
    if let AuthMethod::Bearer { token } = &caller.method
        && token.id == token_id
    {
        return Ok(Json(to_wire(&state, token)));
    }
    let record = state
        .store
        .find_auth_token(&caller.user_id, caller.contract(), &token_id)
        .await?
        .ok_or_else(|| token_not_found(&token_id))?;
    Ok(Json(to_wire(&state, &record)))
}

/// `DELETE /tokens/{tokenId}`
async fn delete_by_id(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(token_id): Path<String>,
) -> Result<Json<DeleteResponse>, ApiError> {
    if !state
        .store
        .delete_auth_token(&caller.user_id, caller.contract(), &token_id)
        .await?
    {
        return Err(token_not_found(&token_id));
    }
    Ok(Json(DeleteResponse { success: true }))
}

/// `DELETE /tokens?criteria=ALL|EXPIRED|CURRENT`
async fn delete_by_criteria(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: QueryParams,
) -> Result<Json<DeleteResponse>, ApiError> {
    let criteria = query
        .get("criteria")
        .ok_or_else(|| {
            ApiError::bad_request(
                "the query parameter criteria is required: ALL, EXPIRED or CURRENT",
            )
        })?
        .parse::<Criteria>()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (user, contract) = (&caller.user_id, caller.contract());
    match criteria {
        Criteria::All => {
            state.store.delete_all_auth_tokens(user, contract).await?;
        }
        Criteria::Expired => {
            state
                .store
                .delete_expired_auth_tokens(user, contract, state.clock.now())
                .await?;
        }
        Criteria::Current => {
            let AuthMethod::Bearer { token } = &caller.method else {
                return Err(ApiError::bad_request(
                    "criteria CURRENT deletes the token that authenticated the request: authenticate with Bearer",
                ));
            };
            state
                .store
                .delete_auth_token(user, contract, &token.id)
                .await?;
        }
    }
    Ok(Json(DeleteResponse { success: true }))
}

fn token_not_found(token_id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no token with id {:?} exists for you in this contract",
        token_id.chars().take(64).collect::<String>()
    ))
}

fn to_wire(state: &AppState, record: &AuthTokenRecord) -> Token {
    Token {
        href: format!("{}/auth/v1/tokens/{}", state.public_url, record.id),
        id: record.id.clone(),
        created_date: rfc3339(record.created_at),
        expiration_date: rfc3339(record.expires_at),
    }
}
