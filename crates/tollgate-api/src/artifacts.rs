//! What a registry holds, as API 1.2.1 spells it: repositories
//! (`RepositoryRead`, `RepositoryReadList`), artifacts (`ArtifactRead`,
//! `ArtifactReadList`, `RegistryArtifactsReadList`) and vulnerabilities
//! (`ArtifactVulnerabilityReadList`, `VulnerabilityRead`).
//!
//! Lists carry `offset`, `limit` and `_links` (`self`, and `prev`/`next`
//! only where there is such a page), no total. Optional fields without a
//! value are left out, never `null`.

use serde::{Deserialize, Serialize};

/// `Links` of a list: the page itself, and the neighbours that exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A page of `T`: `RepositoryReadList`, `ArtifactReadList`,
/// `RegistryArtifactsReadList`, `ArtifactVulnerabilityReadList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadList<T> {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub href: String,
    pub items: Vec<T>,
    pub offset: i64,
    pub limit: i64,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// `RepositoryRead`: `id` is the repository's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryRead {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub href: String,
    pub metadata: RepositoryMetadata,
    pub properties: Repository,
}

/// `Repository`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    pub name: String,
}

/// `RepositoryMetadata`: the counts, when it was first pushed to and last
/// pushed and pulled, and who pushed first and last (the registry token
/// the registry names; left out when unknown). The last push is the last
/// modification. Nothing scans, so `lastSeverity` is left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryMetadata {
    pub created_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<String>,
    pub artifact_count: i64,
    pub pull_count: i64,
    pub push_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pulled_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pushed_at: Option<String>,
}

/// `ArtifactRead`: `id` is the artifact's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRead {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub href: String,
    pub metadata: ArtifactMetadata,
    pub properties: Artifact,
}

/// `Artifact`: a manifest of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub repository_name: String,
    pub digest: String,
    pub tags: Vec<String>,
    pub media_type: String,
}

/// `ArtifactMetadata`, with who pushed first and last as for a repository.
/// Nothing scans, so the `vuln*` fields and `lastScannedAt` are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactMetadata {
    pub created_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<String>,
    pub last_pushed_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pulled_at: Option<String>,
    pub push_count: i64,
    pub pull_count: i64,
}

/// The items of an `ArtifactVulnerabilityReadList` here: none can exist,
/// since this service has no scanner and no vulnerability database (the
/// list is always empty, and `/vulnerabilities/{id}` always 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoVulnerability {}
