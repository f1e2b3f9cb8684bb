//! The Container Registry API's registries, names and locations, under
//! `/containerregistries`: parse the body into domain types, call
//! [`crate::registry::Registries`], answer the documented model.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tollgate_api::registry::{
    FeatureToggle, Location, LocationsResponse, PaginationLinks, PatchRegistryInput,
    PostRegistryInput, RegistriesResponse, RegistryFeatures, RegistryPagination,
    RegistryProperties, RegistryResponse, StorageUsage, WeeklySchedule,
};
use tollgate_api::registry_rules::{self as rules, GcSchedule, RegistryId, RegistryName};

use super::caller::{Caller, RegistryManager};
use super::error::ApiError;
use super::json::JsonBody;
use super::links::{created, metadata, with_query};
use crate::clock::rfc3339;
use crate::http::AppState;
use crate::http::query::QueryParams;
use crate::registry::{NewRegistry, Put};
use crate::store::{RegistryPatch, RegistryRecord, RegistrySettings};

/// The state every registry reports: it serves as soon as it exists.
const REGISTRY_STATE: &str = "Running";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/containerregistries/locations", get(locations))
        .route("/containerregistries/names/{name}", head(check_name))
        .route("/containerregistries/registries", get(list).post(create))
        .route(
            "/containerregistries/registries/{registry_id}",
            get(find).put(put).patch(patch).delete(delete),
        )
}

/// `GET /locations`
async fn locations(State(state): State<Arc<AppState>>, _caller: Caller) -> Json<LocationsResponse> {
    Json(LocationsResponse {
        id: "locations".into(),
        type_: "collection".into(),
        href: format!("{}/containerregistries/locations", state.public_url),
        items: state
            .registries
            .locations()
            .iter()
            .map(|id| Location { id: id.clone() })
            .collect(),
    })
}

/// `HEAD /names/{name}`: 200 taken, 404 free, 400 invalid.
async fn check_name(
    State(state): State<Arc<AppState>>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let name = RegistryName::parse("name", &name)?;
    if state.registries.name_taken(&caller, &name).await? {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::not_found(format!(
            "the registry name {name} is valid and available"
        )))
    }
}

/// `POST /registries`
async fn create(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    JsonBody(input): JsonBody<PostRegistryInput>,
) -> Result<Response, ApiError> {
    let registry = state
        .registries
        .create(&manager, new_registry(input)?)
        .await?;
    Ok(created(to_wire(&state, &registry)))
}

/// `GET /registries?filter.name=&limit=&pagination.token=`
async fn list(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    query: QueryParams,
) -> Result<Json<RegistriesResponse>, ApiError> {
    let limit = match query.get("limit") {
        Some(raw) => rules::parse_limit(raw)?,
        None => 100,
    };
    let filter = query.get("filter.name").filter(|f| !f.is_empty());
    let after = match query.get("pagination.token").filter(|t| !t.is_empty()) {
        Some(token) => Some(decode_page_token(token)?),
        None => None,
    };
    let page = state
        .registries
        .list(&manager, filter, after, limit)
        .await?;
    let next_token = page
        .next_after
        .as_ref()
        .map(encode_page_token)
        .unwrap_or_default();
    let base = format!("{}/containerregistries/registries", state.public_url);
    let link = |token: Option<&str>| {
        let mut params = vec![("limit", limit.to_string())];
        if let Some(filter) = filter {
            params.push(("filter.name", filter.to_owned()));
        }
        if let Some(token) = token {
            params.push(("pagination.token", token.to_owned()));
        }
        with_query(&base, &params)
    };
    Ok(Json(RegistriesResponse {
        id: "registries".into(),
        type_: "collection".into(),
        href: base.clone(),
        items: page.items.iter().map(|r| to_wire(&state, r)).collect(),
        pagination: RegistryPagination {
            limit: limit as i64,
            token: next_token.clone(),
        },
        links: PaginationLinks {
            self_: link(query.get("pagination.token").filter(|t| !t.is_empty())),
            previous: String::new(),
            next: if next_token.is_empty() {
                String::new()
            } else {
                link(Some(&next_token))
            },
        },
    }))
}

/// `GET /registries/{registryId}`
async fn find(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path(registry_id): Path<String>,
) -> Result<Json<RegistryResponse>, ApiError> {
    let id = RegistryId::parse("registryId", &registry_id)?;
    let registry = state.registries.find(&manager, id).await?;
    Ok(Json(to_wire(&state, &registry)))
}

/// `PUT /registries/{registryId}`: creates (201) or replaces (200).
async fn put(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path(registry_id): Path<String>,
    JsonBody(input): JsonBody<PostRegistryInput>,
) -> Result<Response, ApiError> {
    let id = RegistryId::parse("registryId", &registry_id)?;
    let new = new_registry(input)?;
    Ok(match state.registries.put(&manager, id, new).await? {
        Put::Created(registry) => created(to_wire(&state, &registry)),
        Put::Replaced(registry) => Json(to_wire(&state, &registry)).into_response(),
    })
}

/// `PATCH /registries/{registryId}`: absent fields stay as they are.
async fn patch(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path(registry_id): Path<String>,
    JsonBody(input): JsonBody<PatchRegistryInput>,
) -> Result<Json<RegistryResponse>, ApiError> {
    let id = RegistryId::parse("registryId", &registry_id)?;
    let patch = RegistryPatch {
        gc: input
            .garbage_collection_schedule
            .as_ref()
            .map(|s| GcSchedule::parse("garbageCollectionSchedule", &s.days, &s.time))
            .transpose()?,
        vulnerability_scanning: input
            .features
            .as_ref()
            .and_then(|f| f.vulnerability_scanning.as_ref())
            .map(|toggle| toggle.enabled),
        allow_list: input
            .api_subnet_allow_list
            .as_deref()
            .map(|list| rules::parse_allow_list("apiSubnetAllowList", list))
            .transpose()?,
    };
    let registry = state.registries.patch(&manager, id, patch).await?;
    Ok(Json(to_wire(&state, &registry)))
}

/// `DELETE /registries/{registryId}`: the registry and all its tokens.
async fn delete(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path(registry_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = RegistryId::parse("registryId", &registry_id)?;
    state.registries.delete(&manager, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A `POST`/`PUT` body as a new registry; absent settings take the defaults.
fn new_registry(input: PostRegistryInput) -> Result<NewRegistry, ApiError> {
    let p = input.properties;
    let name = RegistryName::parse("properties.name", &p.name)?;
    let mut settings = RegistrySettings::default();
    if let Some(schedule) = &p.garbage_collection_schedule {
        settings.gc =
            GcSchedule::parse("garbageCollectionSchedule", &schedule.days, &schedule.time)?;
    }
    if let Some(toggle) = p.features.and_then(|f| f.vulnerability_scanning) {
        settings.vulnerability_scanning = toggle.enabled;
    }
    if let Some(list) = &p.api_subnet_allow_list {
        settings.allow_list = rules::parse_allow_list("apiSubnetAllowList", list)?;
    }
    Ok(NewRegistry {
        name,
        location: p.location,
        settings,
    })
}

fn to_wire(state: &AppState, r: &RegistryRecord) -> RegistryResponse {
    RegistryResponse {
        id: r.id.to_string(),
        type_: "registry".into(),
        href: format!(
            "{}/containerregistries/registries/{}",
            state.public_url, r.id
        ),
        metadata: metadata(&r.stamps, REGISTRY_STATE),
        properties: RegistryProperties {
            name: r.name.to_string(),
            location: r.location.clone(),
            hostname: format!("{}.{}", r.name, state.registry_domain),
            garbage_collection_schedule: WeeklySchedule {
                days: r.settings.gc.days().to_vec(),
                time: r.settings.gc.time().to_owned(),
            },
            storage_usage: StorageUsage {
                bytes: r.storage.bytes,
                updated_at: r.storage.updated_at.map(rfc3339),
            },
            features: RegistryFeatures {
                vulnerability_scanning: Some(FeatureToggle {
                    properties: None,
                    enabled: r.settings.vulnerability_scanning,
                }),
            },
            api_subnet_allow_list: r
                .settings
                .allow_list
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        },
    }
}

/// The opaque `pagination.token`: base64url of `[created_at, id]` of the last item seen.
fn encode_page_token(after: &(i64, String)) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!([after.0, after.1]).to_string())
}

fn decode_page_token(token: &str) -> Result<(i64, String), ApiError> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<(i64, String)>(&bytes).ok())
        .ok_or_else(|| {
            ApiError::bad_request("pagination.token is not a token this service issued: pass the token of the previous page unchanged")
        })
}
