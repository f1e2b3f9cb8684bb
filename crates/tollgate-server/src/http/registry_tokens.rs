//! The Container Registry API's tokens, under
//! `/containerregistries/registries/{registryId}/tokens`.
//!
//! A token's password is generated here (256 random bits), shown once in the
//! answer that created the token, and stored only as a SHA-256 digest. Every
//! handler first proves the registry belongs to the caller's contract.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tollgate_api::registry::{
    Credentials, PaginationLinks, PatchTokenInput, PostTokenInput, PostTokenProperties,
    TokenProperties, TokenResponse, TokensResponse,
};
use tollgate_api::registry_rules::{self as rules, ScopeRule, TokenName, TokenStatus};

use super::AppState;
use super::caller::{Caller, RegistryManager};
use super::error::ApiError;
use super::json::JsonBody;
use super::query::QueryParams;
use super::registries::{
    HasHref, bad, created, metadata, owned_registry, parse_uuid, registry_not_found, with_query,
};
use crate::clock::rfc3339;
use crate::secrets;
use crate::store::{
    Audit, RegistryRecord, RegistryTokenRecord, StoreError, TokenPatch, TokenSettings,
};

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
}

/// `POST /registries/{registryId}/tokens`: 201 with the password, once.
async fn create(
    State(state): State<Arc<AppState>>,
    RegistryManager(caller): RegistryManager,
    Path(registry_id): Path<String>,
    JsonBody(input): JsonBody<PostTokenInput>,
) -> Result<Response, ApiError> {
    let registry = owned_registry(&state, &caller, &registry_id).await?;
    let id = uuid::Uuid::now_v7().to_string();
    insert(&state, &caller, &registry, id, input).await
}

/// Validates a `POST`/`PUT` body and creates the token.
async fn insert(
    state: &AppState,
    caller: &Caller,
    registry: &RegistryRecord,
    id: String,
    input: PostTokenInput,
) -> Result<Response, ApiError> {
    let p = &input.properties;
    let name = TokenName::parse("properties.name", &p.name).map_err(bad)?;
    let settings = settings_from(p)?;
    let password = secrets::registry_token_password();
    let record = RegistryTokenRecord {
        id,
        contract_number: registry.contract_number,
        registry_id: registry.id.clone(),
        name: name.as_str().to_owned(),
        password_digest: secrets::digest(&password),
        settings,
        audit: Audit::created(&caller.change(state.clock.now())),
    };
    match state.store.insert_registry_token(&record).await {
        Ok(()) => Ok(created(to_wire(state, &record, Some(&password)))),
        Err(StoreError::Conflict) => Err(ApiError::conflict(format!(
            "the token name {} is already taken in this registry (token names are unique per registry)",
            record.name
        ))),
        Err(StoreError::MissingParent) => Err(registry_not_found(&registry.id)),
        Err(e) => Err(e.into()),
    }
}

/// The settings a `POST`/`PUT` body asks for; status defaults to enabled.
fn settings_from(p: &PostTokenProperties) -> Result<TokenSettings, ApiError> {
    Ok(TokenSettings {
        status: match &p.status {
            Some(s) => TokenStatus::parse("properties.status", s).map_err(bad)?,
            None => TokenStatus::Enabled,
        }
        .as_str()
        .to_owned(),
        expires_at: match &p.expiry_date {
            Some(date) => Some(rules::parse_date_time("properties.expiryDate", date).map_err(bad)?),
            None => None,
        },
        scopes: rules::parse_scopes("properties.scopes", p.scopes.as_deref()).map_err(bad)?,
    })
}

/// `GET /registries/{registryId}/tokens?offset=&limit=`
async fn list(
    State(state): State<Arc<AppState>>,
    RegistryManager(caller): RegistryManager,
    Path(registry_id): Path<String>,
    query: QueryParams,
) -> Result<Json<TokensResponse>, ApiError> {
    let offset = match query.get("offset") {
        Some(raw) => rules::parse_offset(raw).map_err(bad)?,
        None => 0,
    };
    let limit = match query.get("limit") {
        Some(raw) => rules::parse_limit(raw).map_err(bad)?,
        None => 100,
    };
    let registry = owned_registry(&state, &caller, &registry_id).await?;
    let (records, total) = state
        .store
        .list_registry_tokens(registry.contract_number, &registry.id, offset, limit)
        .await?;
    let base = format!(
        "{}/containerregistries/registries/{}/tokens",
        state.public_url, registry.id
    );
    let page = |offset: u64| {
        with_query(
            &base,
            &[("offset", offset.to_string()), ("limit", limit.to_string())],
        )
    };
    let count = records.len() as u64;
    Ok(Json(TokensResponse {
        id: format!("{}/tokens", registry.id),
        type_: "collection".into(),
        href: base.clone(),
        items: records.iter().map(|r| to_wire(&state, r, None)).collect(),
        offset: offset as i64,
        limit: limit as i64,
        count: count as i64,
        total: total as i64,
        links: PaginationLinks {
            self_: page(offset),
            previous: if offset > 0 {
                page(offset.saturating_sub(limit))
            } else {
                String::new()
            },
            next: if offset + count < total {
                page(offset + limit)
            } else {
                String::new()
            },
        },
    }))
}

/// `GET /registries/{registryId}/tokens/{tokenId}`
async fn find(
    State(state): State<Arc<AppState>>,
    RegistryManager(caller): RegistryManager,
    Path((registry_id, token_id)): Path<(String, String)>,
) -> Result<Json<TokenResponse>, ApiError> {
    let token = owned_token(&state, &caller, &registry_id, &token_id).await?;
    Ok(Json(to_wire(&state, &token, None)))
}

/// `PUT /registries/{registryId}/tokens/{tokenId}`: creates (201, with the
/// password) or replaces status, expiry and scopes (200); never the name.
async fn put(
    State(state): State<Arc<AppState>>,
    RegistryManager(caller): RegistryManager,
    Path((registry_id, token_id)): Path<(String, String)>,
    JsonBody(input): JsonBody<PostTokenInput>,
) -> Result<Response, ApiError> {
    let registry = owned_registry(&state, &caller, &registry_id).await?;
    let token_id = parse_uuid("tokenId", &token_id)?;
    let Some(existing) = state
        .store
        .find_registry_token(registry.contract_number, &registry.id, &token_id)
        .await?
    else {
        return insert(&state, &caller, &registry, token_id, input).await;
    };
    let p = &input.properties;
    if p.name != existing.name {
        return Err(ApiError::bad_request(format!(
            "properties.name cannot be changed: this token is named {}",
            existing.name
        )));
    }
    let settings = settings_from(p)?;
    let updated = update(&state, &caller, existing, settings).await?;
    Ok(Json(to_wire(&state, &updated, None)).into_response())
}

/// `PATCH /registries/{registryId}/tokens/{tokenId}`: status, expiryDate
/// (`null` clears it) and scopes; absent fields stay.
async fn patch(
    State(state): State<Arc<AppState>>,
    RegistryManager(caller): RegistryManager,
    Path((registry_id, token_id)): Path<(String, String)>,
    JsonBody(input): JsonBody<PatchTokenInput>,
) -> Result<Json<TokenResponse>, ApiError> {
    let registry = owned_registry(&state, &caller, &registry_id).await?;
    let token_id = parse_uuid("tokenId", &token_id)?;
    let mut patch = TokenPatch::default();
    if let Some(status) = &input.status {
        patch.status = Some(
            TokenStatus::parse("status", status)
                .map_err(bad)?
                .as_str()
                .to_owned(),
        );
    }
    if let Some(expiry) = &input.expiry_date {
        patch.expires_at = Some(match expiry {
            Some(date) => Some(rules::parse_date_time("expiryDate", date).map_err(bad)?),
            None => None,
        });
    }
    if let Some(scopes) = &input.scopes {
        patch.scopes = Some(rules::parse_scopes("scopes", scopes.as_deref()).map_err(bad)?);
    }
    let change = caller.change(state.clock.now());
    let updated = state
        .store
        .patch_registry_token(
            registry.contract_number,
            &registry.id,
            &token_id,
            &patch,
            &change,
        )
        .await?
        .ok_or_else(|| token_not_found(&token_id))?;
    Ok(Json(to_wire(&state, &updated, None)))
}

async fn update(
    state: &AppState,
    caller: &Caller,
    existing: RegistryTokenRecord,
    settings: TokenSettings,
) -> Result<RegistryTokenRecord, ApiError> {
    let change = caller.change(state.clock.now());
    if !state
        .store
        .update_registry_token(&existing, &settings, &change)
        .await?
    {
        return Err(token_not_found(&existing.id));
    }
    let mut updated = existing;
    updated.settings = settings;
    updated.audit.record(change);
    Ok(updated)
}

/// `DELETE /registries/{registryId}/tokens/{tokenId}`: 204.
async fn delete(
    State(state): State<Arc<AppState>>,
    RegistryManager(caller): RegistryManager,
    Path((registry_id, token_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let registry = owned_registry(&state, &caller, &registry_id).await?;
    let token_id = parse_uuid("tokenId", &token_id)?;
    if state
        .store
        .delete_registry_token(registry.contract_number, &registry.id, &token_id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(token_not_found(&token_id))
    }
}

/// The token of the caller's registry, or 404.
async fn owned_token(
    state: &AppState,
    caller: &Caller,
    registry_id: &str,
    token_id: &str,
) -> Result<RegistryTokenRecord, ApiError> {
    let registry = owned_registry(state, caller, registry_id).await?;
    let token_id = parse_uuid("tokenId", token_id)?;
    state
        .store
        .find_registry_token(registry.contract_number, &registry.id, &token_id)
        .await?
        .ok_or_else(|| token_not_found(&token_id))
}

fn token_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no token with id {id} exists in this registry"))
}

impl HasHref for TokenResponse {
    fn href(&self) -> &str {
        &self.href
    }
}

/// The wire form; the password only when the token was just created.
fn to_wire(state: &AppState, r: &RegistryTokenRecord, password: Option<&str>) -> TokenResponse {
    TokenResponse {
        id: r.id.clone(),
        type_: "token".into(),
        href: format!(
            "{}/containerregistries/registries/{}/tokens/{}",
            state.public_url, r.registry_id, r.id
        ),
        metadata: metadata(&r.audit, &r.settings.status),
        properties: TokenProperties {
            name: r.name.clone(),
            credentials: Credentials {
                username: r.name.clone(),
                password: password.unwrap_or_default().to_owned(),
            },
            expiry_date: r.settings.expires_at.map(rfc3339),
            scopes: r.settings.scopes.iter().map(ScopeRule::to_wire).collect(),
            status: r.settings.status.clone(),
        },
    }
}
