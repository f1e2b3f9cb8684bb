//! The Container Registry API's registries, names and locations, under
//! `/containerregistries`.
//!
//! Registries belong to a contract: only its managers reach them (403 for
//! other members), and a registry of another contract answers 404. Request
//! bodies parse into `tollgate_api::registry_rules` types before the store
//! is touched. Helpers shared with the token handlers live here too.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tollgate_api::registry::{
    FeatureToggle, Location, LocationsResponse, Metadata, PaginationLinks, PatchRegistryInput,
    PostRegistryInput, RegistriesResponse, RegistryFeatures, RegistryPagination,
    RegistryProperties, RegistryResponse, StorageUsage, WeeklySchedule,
};
use tollgate_api::registry_rules::{self as rules, GcSchedule, RegistryName};

use super::AppState;
use super::caller::{Caller, RegistryManager};
use super::error::ApiError;
use super::json::JsonBody;
use super::query::QueryParams;
use crate::clock::rfc3339;
use crate::store::{Audit, RegistryPatch, RegistryRecord, RegistrySettings, StoreError};

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
            .locations
            .iter()
            .map(|id| Location { id: id.clone() })
            .collect(),
    })
}

/// `HEAD /names/{name}`: 200 taken, 404 free, 400 invalid.
async fn check_name(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let name =
        RegistryName::parse("name", &name).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let now = state.clock.now();
    if state
        .store
        .registry_name_taken(name.as_str(), caller.contract(), now)
        .await?
    {
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
    RegistryManager(caller): RegistryManager,
    JsonBody(input): JsonBody<PostRegistryInput>,
) -> Result<Response, ApiError> {
    let id = uuid::Uuid::now_v7().to_string();
    insert(&state, &caller, id, input).await
}

/// Validates a `POST`/`PUT` body and creates the registry: 201 with `Location`.
async fn insert(
    state: &AppState,
    caller: &Caller,
    id: String,
    input: PostRegistryInput,
) -> Result<Response, ApiError> {
    let p = &input.properties;
    let name = RegistryName::parse("properties.name", &p.name).map_err(bad)?;
    check_location(state, &p.location)?;
    let settings = settings_from(
        p.garbage_collection_schedule.as_ref(),
        p.features.as_ref(),
        p.api_subnet_allow_list.as_deref(),
    )?;
    let now = state.clock.now();
    let record = RegistryRecord {
        id,
        contract_number: caller.contract(),
        name: name.as_str().to_owned(),
        location: p.location.clone(),
        settings,
        audit: Audit::created(&caller.change(now)),
    };
    match state.store.insert_registry(&record, now).await {
        Ok(()) => Ok(created(to_wire(state, &record))),
        Err(StoreError::Conflict) => Err(ApiError::conflict(format!(
            "the registry name {name} is not available: registry names are unique across all contracts, \
             and the name of a deleted registry stays reserved for its contract for {} days",
            state.name_quarantine_seconds / 86_400
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `GET /registries?filter.name=&limit=&pagination.token=`
async fn list(
    State(state): State<Arc<AppState>>,
    RegistryManager(caller): RegistryManager,
    query: QueryParams,
) -> Result<Json<RegistriesResponse>, ApiError> {
    let limit = match query.get("limit") {
        Some(raw) => rules::parse_limit(raw).map_err(bad)?,
        None => 100,
    };
    let filter = query.get("filter.name").filter(|f| !f.is_empty());
    let after = match query.get("pagination.token").filter(|t| !t.is_empty()) {
        Some(token) => Some(decode_page_token(token)?),
        None => None,
    };
    let page = state
        .store
        .list_registries(caller.contract(), filter, after, limit)
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
    RegistryManager(caller): RegistryManager,
    Path(registry_id): Path<String>,
) -> Result<Json<RegistryResponse>, ApiError> {
    let registry = owned_registry(&state, &caller, &registry_id).await?;
    Ok(Json(to_wire(&state, &registry)))
}

/// `PUT /registries/{registryId}`: creates (201) or replaces (200).
async fn put(
    State(state): State<Arc<AppState>>,
    RegistryManager(caller): RegistryManager,
    Path(registry_id): Path<String>,
    JsonBody(input): JsonBody<PostRegistryInput>,
) -> Result<Response, ApiError> {
    let id = parse_uuid("registryId", &registry_id)?;
    let Some(existing) = state.store.find_registry(caller.contract(), &id).await? else {
        return insert(&state, &caller, id, input).await;
    };
    let p = &input.properties;
    if p.name != existing.name {
        return Err(ApiError::bad_request(format!(
            "properties.name cannot be changed: this registry is named {}",
            existing.name
        )));
    }
    if p.location != existing.location {
        return Err(ApiError::bad_request(format!(
            "properties.location cannot be changed: this registry is in {}",
            existing.location
        )));
    }
    let settings = settings_from(
        p.garbage_collection_schedule.as_ref(),
        p.features.as_ref(),
        p.api_subnet_allow_list.as_deref(),
    )?;
    let updated = update(&state, &caller, &existing, settings).await?;
    Ok(Json(to_wire(&state, &updated)).into_response())
}

/// `PATCH /registries/{registryId}`: absent fields stay as they are.
async fn patch(
    State(state): State<Arc<AppState>>,
    RegistryManager(caller): RegistryManager,
    Path(registry_id): Path<String>,
    JsonBody(input): JsonBody<PatchRegistryInput>,
) -> Result<Json<RegistryResponse>, ApiError> {
    let id = parse_uuid("registryId", &registry_id)?;
    let mut patch = RegistryPatch::default();
    if let Some(schedule) = &input.garbage_collection_schedule {
        let parsed = GcSchedule::parse("garbageCollectionSchedule", &schedule.days, &schedule.time)
            .map_err(bad)?;
        patch.gc_schedule = Some((parsed.days, parsed.time));
    }
    if let Some(toggle) = input
        .features
        .as_ref()
        .and_then(|f| f.vulnerability_scanning.as_ref())
    {
        patch.vulnerability_scanning = Some(toggle.enabled);
    }
    if let Some(list) = &input.api_subnet_allow_list {
        patch.api_subnet_allow_list =
            Some(rules::parse_allow_list("apiSubnetAllowList", list).map_err(bad)?);
    }
    let change = caller.change(state.clock.now());
    let updated = state
        .store
        .patch_registry(caller.contract(), &id, &patch, &change)
        .await?
        .ok_or_else(|| registry_not_found(&id))?;
    Ok(Json(to_wire(&state, &updated)))
}

async fn update(
    state: &AppState,
    caller: &Caller,
    existing: &RegistryRecord,
    settings: RegistrySettings,
) -> Result<RegistryRecord, ApiError> {
    let change = caller.change(state.clock.now());
    if !state
        .store
        .update_registry(caller.contract(), &existing.id, &settings, &change)
        .await?
    {
        return Err(registry_not_found(&existing.id));
    }
    let mut updated = existing.clone();
    updated.settings = settings;
    updated.audit.record(change);
    Ok(updated)
}

/// `DELETE /registries/{registryId}`: the registry and all its tokens.
async fn delete(
    State(state): State<Arc<AppState>>,
    RegistryManager(caller): RegistryManager,
    Path(registry_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_uuid("registryId", &registry_id)?;
    let name_released_at = state.clock.now() + state.name_quarantine_seconds;
    if state
        .store
        .delete_registry(caller.contract(), &id, name_released_at)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(registry_not_found(&id))
    }
}

fn default_settings() -> RegistrySettings {
    RegistrySettings {
        gc_days: Vec::new(),
        gc_time: "00:00:00+00:00".into(),
        vulnerability_scanning: false,
        api_subnet_allow_list: Vec::new(),
    }
}

/// The settings of a `POST`/`PUT` body, validated; absent fields take the defaults.
fn settings_from(
    schedule: Option<&WeeklySchedule>,
    features: Option<&RegistryFeatures>,
    allow_list: Option<&[String]>,
) -> Result<RegistrySettings, ApiError> {
    let mut settings = default_settings();
    if let Some(schedule) = schedule {
        let parsed = GcSchedule::parse("garbageCollectionSchedule", &schedule.days, &schedule.time)
            .map_err(bad)?;
        settings.gc_days = parsed.days;
        settings.gc_time = parsed.time;
    }
    if let Some(toggle) = features.and_then(|f| f.vulnerability_scanning.as_ref()) {
        settings.vulnerability_scanning = toggle.enabled;
    }
    if let Some(list) = allow_list {
        settings.api_subnet_allow_list =
            rules::parse_allow_list("apiSubnetAllowList", list).map_err(bad)?;
    }
    Ok(settings)
}

fn check_location(state: &AppState, location: &str) -> Result<(), ApiError> {
    if state.locations.iter().any(|l| l == location) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "properties.location {:?} is not an available location: use one of {}",
            location.chars().take(64).collect::<String>(),
            state.locations.join(", ")
        )))
    }
}

/// The caller's registry with this id, or 404 (also for other contracts' registries).
pub(super) async fn owned_registry(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<RegistryRecord, ApiError> {
    let id = parse_uuid("registryId", raw_id)?;
    state
        .store
        .find_registry(caller.contract(), &id)
        .await?
        .ok_or_else(|| registry_not_found(&id))
}

pub(super) fn registry_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no registry with id {id} exists in your contract"))
}

/// A path id that must be a UUID; answers it in canonical lower case.
pub(super) fn parse_uuid(field: &str, raw: &str) -> Result<String, ApiError> {
    let canonical = raw.len() == 36 && raw.bytes().filter(|b| *b == b'-').count() == 4;
    uuid::Uuid::parse_str(raw)
        .ok()
        .filter(|_| canonical)
        .map(|u| u.to_string())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{field} {:?} is not a UUID such as 046b6c7f-0b8a-43b9-b35d-6489e6daee91",
                raw.chars().take(64).collect::<String>()
            ))
        })
}

pub(super) fn bad(e: tollgate_api::parse::ParseError) -> ApiError {
    ApiError::bad_request(e.to_string())
}

/// `ApiResourceMetadata` of a row.
pub(super) fn metadata(audit: &Audit, state: &str) -> Metadata {
    Metadata {
        created_by: audit.created_by.clone(),
        created_by_user_id: audit.created_by_user_id.clone(),
        created_date: rfc3339(audit.created_at),
        last_modified_by: audit.modified_by.clone(),
        last_modified_by_user_id: audit.modified_by_user_id.clone(),
        last_modified_date: audit.modified_at.map(rfc3339),
        state: state.to_owned(),
    }
}

/// 201 with a `Location` header pointing at the new resource.
pub(super) fn created<T: serde::Serialize + HasHref>(body: T) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(body.href()) {
        headers.insert(header::LOCATION, location);
    }
    (StatusCode::CREATED, headers, Json(body)).into_response()
}

/// A resource that knows its own URL.
pub(super) trait HasHref {
    fn href(&self) -> &str;
}

impl HasHref for RegistryResponse {
    fn href(&self) -> &str {
        &self.href
    }
}

/// `base?k=v&...`, percent-encoding the values.
pub(super) fn with_query(base: &str, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    format!("{base}?{}", query.join("&"))
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn to_wire(state: &AppState, r: &RegistryRecord) -> RegistryResponse {
    RegistryResponse {
        id: r.id.clone(),
        type_: "registry".into(),
        href: format!(
            "{}/containerregistries/registries/{}",
            state.public_url, r.id
        ),
        metadata: metadata(&r.audit, REGISTRY_STATE),
        properties: RegistryProperties {
            name: r.name.clone(),
            location: r.location.clone(),
            hostname: format!("{}.{}", r.name, state.registry_domain),
            garbage_collection_schedule: WeeklySchedule {
                days: r.settings.gc_days.clone(),
                time: r.settings.gc_time.clone(),
            },
            storage_usage: StorageUsage {
                bytes: 0,
                updated_at: None,
            },
            features: RegistryFeatures {
                vulnerability_scanning: Some(FeatureToggle {
                    enabled: r.settings.vulnerability_scanning,
                }),
            },
            api_subnet_allow_list: r.settings.api_subnet_allow_list.clone(),
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
