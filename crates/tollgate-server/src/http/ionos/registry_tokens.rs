//! The Container Registry API's tokens, under
//! `/containerregistries/registries/{registryId}/tokens`: parse the body
//! into domain types, call [`crate::registry::RegistryTokens`], answer the
//! documented model. A token's password appears only in the answer that
//! created it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::routing::post;
use axum::{Json, Router};
use tollgate_api::registry::{
    Credentials, PatchTokenInput, PostTokenInput, RotateTokenInput, TokenProperties, TokenResponse,
    TokensResponse,
};
use tollgate_api::registry_rules::{
    self as rules, GracePeriod, RegistryId, TokenId, TokenName, TokenStatus,
};
use tollgate_api::repository::parse_scopes;

use super::caller::RegistryManager;
use super::error::ApiError;
use super::json::{JsonBody, OptionalJsonBody};
use super::links::{created, metadata, offset_and_limit, offset_page_links, with_query};
use crate::clock::rfc3339;
use crate::http::AppState;
use crate::http::query::QueryParams;
use crate::registry::{NewToken, Put};
use crate::store::{RegistryTokenRecord, TokenPatch, TokenSettings};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/containerregistries/registries/{registry_id}/tokens",
            get(list).post(create),
        )
        .route(
            "/containerregistries/registries/{registry_id}/tokens/{token_id}",
            get(find).put(put).patch(patch).delete(delete),
        )
        .route(
            "/containerregistries/registries/{registry_id}/tokens/{token_id}/rotate",
            post(rotate),
        )
}

/// `POST /registries/{registryId}/tokens`: 201 with the password, once.
async fn create(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path(registry_id): Path<String>,
    JsonBody(input): JsonBody<PostTokenInput>,
) -> Result<Response, ApiError> {
    let registry = RegistryId::parse("registryId", &registry_id)?;
    let new = new_token(&input)?;
    let made = state
        .registry_tokens
        .create(&manager, registry, new)
        .await?;
    Ok(created(to_wire(&state, &made.token, Some(&made.password))))
}

/// `GET /registries/{registryId}/tokens?offset=&limit=`
async fn list(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path(registry_id): Path<String>,
    query: QueryParams,
) -> Result<Json<TokensResponse>, ApiError> {
    let (offset, limit) = offset_and_limit(&query)?;
    let registry = RegistryId::parse("registryId", &registry_id)?;
    let (records, total) = state
        .registry_tokens
        .list(&manager, registry.clone(), offset, limit)
        .await?;
    let base = format!(
        "{}/containerregistries/registries/{registry}/tokens",
        state.public_url
    );
    let page = |offset: u64| {
        with_query(
            &base,
            &[("offset", offset.to_string()), ("limit", limit.to_string())],
        )
    };
    let count = records.len() as u64;
    Ok(Json(TokensResponse {
        id: format!("{registry}/tokens"),
        type_: "collection".into(),
        href: base.clone(),
        items: records.iter().map(|r| to_wire(&state, r, None)).collect(),
        offset: offset as i64,
        limit: limit as i64,
        count: count as i64,
        total: total as i64,
        links: offset_page_links(offset, limit, count, total, page),
    }))
}

/// `GET /registries/{registryId}/tokens/{tokenId}`
async fn find(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path((registry_id, token_id)): Path<(String, String)>,
) -> Result<Json<TokenResponse>, ApiError> {
    let (registry, id) = ids(&registry_id, &token_id)?;
    let token = state.registry_tokens.find(&manager, registry, id).await?;
    Ok(Json(to_wire(&state, &token, None)))
}

/// `PUT /registries/{registryId}/tokens/{tokenId}`: creates (201, with the
/// password) or replaces status, expiry and scopes (200); never the name.
async fn put(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path((registry_id, token_id)): Path<(String, String)>,
    JsonBody(input): JsonBody<PostTokenInput>,
) -> Result<Response, ApiError> {
    let (registry, id) = ids(&registry_id, &token_id)?;
    let new = new_token(&input)?;
    Ok(
        match state
            .registry_tokens
            .put(&manager, registry, id, new)
            .await?
        {
            Put::Created(made) => created(to_wire(&state, &made.token, Some(&made.password))),
            Put::Replaced(token) => Json(to_wire(&state, &token, None)).into_response(),
        },
    )
}

/// `PATCH /registries/{registryId}/tokens/{tokenId}`: status, expiryDate
/// and scopes (`null` clears either); absent fields stay.
async fn patch(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path((registry_id, token_id)): Path<(String, String)>,
    JsonBody(input): JsonBody<PatchTokenInput>,
) -> Result<Json<TokenResponse>, ApiError> {
    let (registry, id) = ids(&registry_id, &token_id)?;
    let patch = TokenPatch {
        status: input
            .status
            .as_deref()
            .map(|s| TokenStatus::parse("status", s))
            .transpose()?,
        expires_at: input
            .expiry_date
            .as_ref()
            .map(|date| {
                date.as_deref()
                    .map(|d| rules::parse_date_time("expiryDate", d))
                    .transpose()
            })
            .transpose()?,
        scopes: input
            .scopes
            .as_ref()
            .map(|scopes| parse_scopes("scopes", scopes.as_deref()))
            .transpose()?,
    };
    let token = state
        .registry_tokens
        .patch(&manager, registry, id, patch)
        .await?;
    Ok(Json(to_wire(&state, &token, None)))
}

/// `POST /registries/{registryId}/tokens/{tokenId}/rotate` (Tollgate's
/// extension): a new password, shown in this answer only; the previous one
/// keeps working `gracePeriodSeconds` (0 to 7 days, default 0).
async fn rotate(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path((registry_id, token_id)): Path<(String, String)>,
    OptionalJsonBody(input): OptionalJsonBody<RotateTokenInput>,
) -> Result<Json<TokenResponse>, ApiError> {
    let (registry, id) = ids(&registry_id, &token_id)?;
    let grace = GracePeriod::parse(
        "gracePeriodSeconds",
        input.grace_period_seconds.unwrap_or(0),
    )?;
    let made = state
        .registry_tokens
        .rotate(&manager, registry, id, grace)
        .await?;
    Ok(Json(to_wire(&state, &made.token, Some(&made.password))))
}

/// `DELETE /registries/{registryId}/tokens/{tokenId}`: 204.
async fn delete(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path((registry_id, token_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (registry, id) = ids(&registry_id, &token_id)?;
    state.registry_tokens.delete(&manager, registry, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn ids(registry_id: &str, token_id: &str) -> Result<(RegistryId, TokenId), ApiError> {
    Ok((
        RegistryId::parse("registryId", registry_id)?,
        TokenId::parse("tokenId", token_id)?,
    ))
}

/// A `POST`/`PUT` body as a new token; status defaults to enabled.
fn new_token(input: &PostTokenInput) -> Result<NewToken, ApiError> {
    let p = &input.properties;
    Ok(NewToken {
        name: TokenName::parse("properties.name", &p.name)?,
        settings: TokenSettings {
            status: match &p.status {
                Some(s) => TokenStatus::parse("properties.status", s)?,
                None => TokenStatus::Enabled,
            },
            expires_at: p
                .expiry_date
                .as_deref()
                .map(|date| rules::parse_date_time("properties.expiryDate", date))
                .transpose()?,
            scopes: parse_scopes("properties.scopes", p.scopes.as_deref())?,
        },
    })
}

/// The wire form; the password only when the token was just created.
fn to_wire(state: &AppState, r: &RegistryTokenRecord, password: Option<&str>) -> TokenResponse {
    TokenResponse {
        id: r.id.to_string(),
        type_: "token".into(),
        href: format!(
            "{}/containerregistries/registries/{}/tokens/{}",
            state.public_url, r.registry_id, r.id
        ),
        metadata: metadata(&r.stamps, r.settings.status.as_str()),
        properties: TokenProperties {
            name: r.name.to_string(),
            credentials: Credentials {
                username: r.name.to_string(),
                password: password.unwrap_or_default().to_owned(),
            },
            expiry_date: r.settings.expires_at.map(rfc3339),
            scopes: r.settings.scopes.iter().map(|s| s.to_wire()).collect(),
            status: r.settings.status.as_str().to_owned(),
            last_used_date: r.last_use.at.map(rfc3339),
            last_used_from: r.last_use.from.clone(),
            previous_password_valid_until: r
                .previous_valid_until
                .filter(|until| *until > state.clock.now())
                .map(rfc3339),
        },
    }
}
