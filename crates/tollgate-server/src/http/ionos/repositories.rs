//! Handlers of the Container Registry API's repositories, artifacts and
//! vulnerabilities (API 1.2.1): what a registry holds, from its own event
//! notifications.
//!
//! Repository names contain `/` (`team/app`): in a path they arrive as one
//! percent-encoded segment (`team%2Fapp`, as the official SDKs send them),
//! and `href`s write them so. Digests (`sha256:...`) may arrive with `:` or
//! `%3A`. Vulnerability scanning needs a scanner and a vulnerability
//! database this service does not have: the vulnerability lists are valid
//! and empty, and no vulnerability id exists (404).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tollgate_api::artifacts::{
    Artifact, ArtifactMetadata, ArtifactRead, Links, NoVulnerability, ReadList, Repository,
    RepositoryMetadata, RepositoryRead,
};
use tollgate_api::registry_rules::RegistryId;
use tollgate_api::repository::RepositoryName;

use super::caller::{Caller, RegistryManager};
use super::error::ApiError;
use super::links::{offset_and_limit, with_query};
use crate::clock::rfc3339;
use crate::http::AppState;
use crate::http::query::QueryParams;
use crate::registry::RepositoryError;
use crate::store::{ArtifactRecord, Order, OrderColumn, RepositoryRecord, Window};

/// What a path segment keeps unencoded: RFC 3986's unreserved characters
/// and `:` (so digests read as they are written).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':');

const REGISTRIES: &str = "/containerregistries/registries";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/containerregistries/registries/{registry_id}/repositories",
            get(list_repositories),
        )
        .route(
            "/containerregistries/registries/{registry_id}/repositories/{repository}",
            get(find_repository).delete(delete_repository),
        )
        .route(
            "/containerregistries/registries/{registry_id}/artifacts",
            get(registry_artifacts),
        )
        .route(
            "/containerregistries/registries/{registry_id}/repositories/{repository}/artifacts",
            get(repository_artifacts),
        )
        .route(
            "/containerregistries/registries/{registry_id}/repositories/{repository}/artifacts/{digest}",
            get(find_artifact),
        )
        .route(
            "/containerregistries/registries/{registry_id}/repositories/{repository}/artifacts/{digest}/vulnerabilities",
            get(artifact_vulnerabilities),
        )
        .route(
            "/containerregistries/vulnerabilities/{vulnerability_id}",
            get(find_vulnerability),
        )
}

/// `GET /registries/{registryId}/repositories?offset=&limit=&filter.name=&orderBy=`
async fn list_repositories(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path(registry_id): Path<String>,
    query: QueryParams,
) -> Result<Json<ReadList<RepositoryRead>>, ApiError> {
    let registry = RegistryId::parse("registryId", &registry_id)?;
    let window = window(&query)?;
    let order_by = query.get("orderBy").unwrap_or("-lastPush");
    let order = repository_order(order_by)?;
    let filter = query.get("filter.name").filter(|f| !f.is_empty());
    let severity = query
        .get("filter.vulnerabilitySeverity")
        .filter(|s| !s.is_empty());
    let mut records = match severity {
        // Nothing was scanned: no repository has a severity to match.
        Some(severity) => {
            severity_filter(severity)?;
            Vec::new()
        }
        None => {
            state
                .repositories
                .list(&manager, &registry, filter, order, one_more(window))
                .await?
        }
    };
    let more = trim(&mut records, window);
    let base = format!("{}{REGISTRIES}/{registry}/repositories", state.public_url);
    let mut params = vec![("orderBy", order_by.to_owned())];
    if let Some(filter) = filter {
        params.push(("filter.name", filter.to_owned()));
    }
    Ok(Json(ReadList {
        id: "repositories".into(),
        type_: "collection".into(),
        href: base.clone(),
        items: records
            .iter()
            .map(|r| repository_to_wire(&state, &registry, r))
            .collect(),
        offset: window.offset,
        limit: window.limit,
        links: links(&base, window, more, &params),
    }))
}

/// `GET /registries/{registryId}/repositories/{repositoryName}`
async fn find_repository(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path((registry_id, repository)): Path<(String, String)>,
) -> Result<Json<RepositoryRead>, ApiError> {
    let registry = RegistryId::parse("registryId", &registry_id)?;
    let name = RepositoryName::parse("repositoryName", &repository)?;
    let record = state.repositories.find(&manager, &registry, &name).await?;
    Ok(Json(repository_to_wire(&state, &registry, &record)))
}

/// `DELETE /registries/{registryId}/repositories/{repositoryName}`: its
/// manifests are deleted from the registry itself, so a pull fails after.
async fn delete_repository(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path((registry_id, repository)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let registry = RegistryId::parse("registryId", &registry_id)?;
    let name = RepositoryName::parse("repositoryName", &repository)?;
    // In a task of its own: a client that goes away does not cut the
    // deletion short between the registry's manifests and the rows.
    let deleting =
        tokio::spawn(async move { state.repositories.delete(&manager, &registry, &name).await });
    match deleting.await {
        Ok(deleted) => deleted?,
        Err(e) => return Err(ApiError::internal(e)),
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /registries/{registryId}/artifacts?offset=&limit=&filter.vulnerabilityId=&orderBy=`
async fn registry_artifacts(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path(registry_id): Path<String>,
    query: QueryParams,
) -> Result<Json<ReadList<ArtifactRead>>, ApiError> {
    let registry = RegistryId::parse("registryId", &registry_id)?;
    let base = format!("{}{REGISTRIES}/{registry}/artifacts", state.public_url);
    // Nothing was scanned: no artifact is affected by a vulnerability.
    let unscanned = query
        .get("filter.vulnerabilityId")
        .is_some_and(|v| !v.is_empty());
    artifacts(
        &state,
        &manager,
        &registry,
        None,
        &query,
        "-pullCount",
        unscanned,
        base,
    )
    .await
}

/// `GET /registries/{registryId}/repositories/{repositoryName}/artifacts?offset=&limit=&orderBy=`
async fn repository_artifacts(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path((registry_id, repository)): Path<(String, String)>,
    query: QueryParams,
) -> Result<Json<ReadList<ArtifactRead>>, ApiError> {
    let registry = RegistryId::parse("registryId", &registry_id)?;
    let name = RepositoryName::parse("repositoryName", &repository)?;
    let base = format!(
        "{}{REGISTRIES}/{registry}/repositories/{}/artifacts",
        state.public_url,
        segment(name.as_str())
    );
    artifacts(
        &state,
        &manager,
        &registry,
        Some(&name),
        &query,
        "-lastPush",
        false,
        base,
    )
    .await
}

/// A page of artifacts of a repository or a registry, as both lists answer.
#[allow(clippy::too_many_arguments)]
async fn artifacts(
    state: &AppState,
    manager: &crate::registry::Manager,
    registry: &RegistryId,
    repository: Option<&RepositoryName>,
    query: &QueryParams,
    default_order: &str,
    none_match: bool,
    base: String,
) -> Result<Json<ReadList<ArtifactRead>>, ApiError> {
    let window = window(query)?;
    let order_by = query.get("orderBy").unwrap_or(default_order);
    let order = artifact_order(order_by)?;
    let mut records = state
        .repositories
        .artifacts(manager, registry, repository, order, one_more(window))
        .await?;
    if none_match {
        records.clear();
    }
    let more = trim(&mut records, window);
    let params = [("orderBy", order_by.to_owned())];
    Ok(Json(ReadList {
        id: "artifacts".into(),
        type_: "collection".into(),
        href: base.clone(),
        items: records
            .iter()
            .map(|a| artifact_to_wire(state, registry, a))
            .collect(),
        offset: window.offset,
        limit: window.limit,
        links: links(&base, window, more, &params),
    }))
}

/// `GET /registries/{registryId}/repositories/{repositoryName}/artifacts/{digest}`
async fn find_artifact(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path((registry_id, repository, digest)): Path<(String, String, String)>,
) -> Result<Json<ArtifactRead>, ApiError> {
    let registry = RegistryId::parse("registryId", &registry_id)?;
    let name = RepositoryName::parse("repositoryName", &repository)?;
    let record = state
        .repositories
        .artifact(&manager, &registry, &name, &digest)
        .await?;
    Ok(Json(artifact_to_wire(&state, &registry, &record)))
}

/// `GET .../artifacts/{digest}/vulnerabilities`: always an empty list of
/// an artifact that exists (nothing scans).
async fn artifact_vulnerabilities(
    State(state): State<Arc<AppState>>,
    RegistryManager(manager): RegistryManager,
    Path((registry_id, repository, digest)): Path<(String, String, String)>,
    query: QueryParams,
) -> Result<Json<ReadList<NoVulnerability>>, ApiError> {
    let registry = RegistryId::parse("registryId", &registry_id)?;
    let name = RepositoryName::parse("repositoryName", &repository)?;
    let window = window(&query)?;
    let order_by = query.get("orderBy").unwrap_or("-score");
    vulnerability_order(order_by)?;
    if let Some(severity) = query.get("filter.severity").filter(|s| !s.is_empty()) {
        severity_filter(severity)?;
    }
    if let Some(fixable) = query.get("filter.fixable")
        && fixable != "true"
        && fixable != "false"
    {
        return Err(ApiError::bad_request(format!(
            "filter.fixable must be true or false, got {:?}",
            tollgate_api::parse::truncate(fixable)
        )));
    }
    state
        .repositories
        .artifact(&manager, &registry, &name, &digest)
        .await?;
    let base = format!(
        "{}{REGISTRIES}/{registry}/repositories/{}/artifacts/{}/vulnerabilities",
        state.public_url,
        segment(name.as_str()),
        segment(&digest)
    );
    let params = [("orderBy", order_by.to_owned())];
    Ok(Json(ReadList {
        id: "vulnerabilities".into(),
        type_: "collection".into(),
        href: base.clone(),
        items: Vec::new(),
        offset: window.offset,
        limit: window.limit,
        links: links(&base, window, false, &params),
    }))
}

/// `GET /vulnerabilities/{vulnerabilityId}`: no vulnerability database, so
/// no id is known.
async fn find_vulnerability(
    _caller: Caller,
    Path(vulnerability_id): Path<String>,
) -> Result<Json<NoVulnerability>, ApiError> {
    Err(ApiError::not_found(format!(
        "no vulnerability {:?} is known: this service has no vulnerability scanner or database",
        tollgate_api::parse::truncate(&vulnerability_id)
    )))
}

fn repository_to_wire(
    state: &AppState,
    registry: &RegistryId,
    r: &RepositoryRecord,
) -> RepositoryRead {
    RepositoryRead {
        id: r.name.clone(),
        type_: "repository".into(),
        href: format!(
            "{}{REGISTRIES}/{registry}/repositories/{}",
            state.public_url,
            segment(&r.name)
        ),
        metadata: RepositoryMetadata {
            created_date: rfc3339(r.created_at),
            created_by: r.created_by.clone(),
            last_modified_date: r.last_pushed_at.map(rfc3339),
            last_modified_by: r.last_pushed_by.clone(),
            artifact_count: r.artifact_count,
            pull_count: r.pull_count,
            push_count: r.push_count,
            last_pulled_at: r.last_pulled_at.map(rfc3339),
            last_pushed_at: r.last_pushed_at.map(rfc3339),
        },
        properties: Repository {
            name: r.name.clone(),
        },
    }
}

fn artifact_to_wire(state: &AppState, registry: &RegistryId, a: &ArtifactRecord) -> ArtifactRead {
    ArtifactRead {
        id: a.digest.clone(),
        type_: "artifact".into(),
        href: format!(
            "{}{REGISTRIES}/{registry}/repositories/{}/artifacts/{}",
            state.public_url,
            segment(&a.repository),
            segment(&a.digest)
        ),
        metadata: ArtifactMetadata {
            created_date: rfc3339(a.created_at),
            created_by: a.created_by.clone(),
            last_modified_date: Some(rfc3339(a.last_pushed_at)),
            last_modified_by: a.last_pushed_by.clone(),
            last_pushed_at: rfc3339(a.last_pushed_at),
            last_pulled_at: a.last_pulled_at.map(rfc3339),
            push_count: a.push_count,
            pull_count: a.pull_count,
        },
        properties: Artifact {
            repository_name: a.repository.clone(),
            digest: a.digest.clone(),
            tags: a.tags.clone(),
            media_type: a.media_type.clone(),
        },
    }
}

/// A path segment: `team/app` as `team%2Fapp`.
fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `offset` (default 0) and `limit` (default 100, at most 1000).
fn window(query: &QueryParams) -> Result<Window, ApiError> {
    let (offset, limit) = offset_and_limit(query)?;
    Ok(Window {
        offset: offset as i64,
        limit: limit as i64,
    })
}

/// The window with one more row, which tells whether a next page exists.
fn one_more(window: Window) -> Window {
    Window {
        limit: window.limit + 1,
        ..window
    }
}

/// Drops the row past the window; answers whether there was one.
fn trim<T>(records: &mut Vec<T>, window: Window) -> bool {
    let more = records.len() as i64 > window.limit;
    records.truncate(window.limit as usize);
    more
}

/// `_links`: this page, the one before (past the first) and after (if any).
fn links(base: &str, window: Window, more: bool, params: &[(&str, String)]) -> Links {
    let page = |offset: i64| {
        let mut all = vec![
            ("offset", offset.to_string()),
            ("limit", window.limit.to_string()),
        ];
        all.extend(params.iter().cloned());
        with_query(base, &all)
    };
    Links {
        self_: page(window.offset),
        prev: (window.offset > 0).then(|| page((window.offset - window.limit).max(0))),
        next: more.then(|| page(window.offset + window.limit)),
    }
}

/// `[-]field`: the direction and the field.
fn direction(order_by: &str) -> (bool, &str) {
    match order_by.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, order_by),
    }
}

fn repository_order(order_by: &str) -> Result<Order, ApiError> {
    let (descending, field) = direction(order_by);
    let column = match field.to_ascii_lowercase().as_str() {
        "name" => OrderColumn::Name,
        "lastpush" => OrderColumn::LastPush,
        "lastpull" => OrderColumn::LastPull,
        "artifactcount" => OrderColumn::ArtifactCount,
        "pullcount" => OrderColumn::PullCount,
        "pushcount" => OrderColumn::PushCount,
        _ => {
            return Err(ApiError::bad_request(format!(
                "orderBy {:?} is not known: use name, lastPush, lastPull, artifactCount, pullCount or pushCount, with - in front for descending order",
                tollgate_api::parse::truncate(order_by)
            )));
        }
    };
    Ok(Order {
        column: Some(column),
        descending,
    })
}

fn artifact_order(order_by: &str) -> Result<Order, ApiError> {
    let (descending, field) = direction(order_by);
    let column = match field.to_ascii_lowercase().as_str() {
        "pullcount" => Some(OrderColumn::PullCount),
        "pushcount" => Some(OrderColumn::PushCount),
        "lastpush" => Some(OrderColumn::LastPush),
        "lastpull" => Some(OrderColumn::LastPull),
        // Nothing is scanned: these are the same for every artifact.
        "lastscan" | "vulntotalcount" | "vulnfixablecount" => None,
        _ => {
            return Err(ApiError::bad_request(format!(
                "orderBy {:?} is not known: use pullCount, pushCount, lastPush, lastPull, lastScan, vulnTotalCount or vulnFixableCount, with - in front for descending order",
                tollgate_api::parse::truncate(order_by)
            )));
        }
    };
    Ok(Order { column, descending })
}

fn vulnerability_order(order_by: &str) -> Result<(), ApiError> {
    let (_, field) = direction(order_by);
    match field.to_ascii_lowercase().as_str() {
        "score" | "severity" | "publishedat" | "updatedat" | "fixable" => Ok(()),
        _ => Err(ApiError::bad_request(format!(
            "orderBy {:?} is not known: use score, severity, publishedAt, updatedAt or fixable, with - in front for descending order",
            tollgate_api::parse::truncate(order_by)
        ))),
    }
}

fn severity_filter(severity: &str) -> Result<(), ApiError> {
    match severity.to_ascii_lowercase().as_str() {
        "none" | "low" | "medium" | "high" | "critical" | "unknown" => Ok(()),
        _ => Err(ApiError::bad_request(format!(
            "severity {:?} is not known: use none, low, medium, high, critical or unknown",
            tollgate_api::parse::truncate(severity)
        ))),
    }
}

impl From<RepositoryError> for ApiError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::RegistryNotFound(_)
            | RepositoryError::RepositoryNotFound(_)
            | RepositoryError::ArtifactNotFound(_) => ApiError::not_found(e.to_string()),
            RepositoryError::NotConnected(_) => ApiError::conflict(e.to_string()),
            RepositoryError::RegistryApi(_) => {
                // The detail names the registry's internal address: logged, not answered.
                tracing::warn!("{e}");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "bad-gateway",
                    "the registry's API failed or could not be reached; nothing was forgotten, try again",
                )
            }
            RepositoryError::Store(e) => e.into(),
        }
    }
}
