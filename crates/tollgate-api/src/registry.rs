//! The Container Registry API (`/containerregistries`): its models, spelled
//! as the official OpenAPI document and the 1.2.1 SDK spell them.
//!
//! Response models serialize every documented field; request models accept
//! what the official SDK sends. The rules a value must obey live in
//! [`crate::registry_rules`].

use serde::{Deserialize, Serialize};

use crate::strict;

/// `ApiResourceMetadata`: who made and last changed a resource, and its
/// state. The `lastModified*` fields are left out until a first change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub created_by: String,
    pub created_by_user_id: String,
    pub created_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_date: Option<String>,
    pub state: String,
}

/// `PaginationLinks`: absent pages are the empty string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaginationLinks {
    #[serde(rename = "self")]
    pub self_: String,
    pub previous: String,
    pub next: String,
}

/// `WeeklySchedule` of the garbage collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklySchedule {
    /// `null` reads as `[]` (the document makes it nullable).
    #[serde(deserialize_with = "strict::null_as_empty")]
    pub days: Vec<String>,
    pub time: String,
}

/// No collection: no days (what a `null` schedule means).
impl Default for WeeklySchedule {
    fn default() -> Self {
        WeeklySchedule {
            days: Vec::new(),
            time: "00:00:00+00:00".to_owned(),
        }
    }
}

/// `StorageUsage`: what the registry's blobs and manifests take, as its
/// notifications reported them; `updatedAt` is left out until one arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageUsage {
    pub bytes: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// `RegistryFeatures` (SDK 1.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryFeatures {
    #[serde(default, deserialize_with = "strict::some_object")]
    pub vulnerability_scanning: Option<FeatureToggle>,
}

/// `FeatureVulnerabilityScanning`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureToggle {
    pub enabled: bool,
    /// `properties`, which the document types as an object and says nothing
    /// more of: read (an object, or refused), never kept or answered.
    #[serde(
        default,
        skip_serializing,
        deserialize_with = "strict::some_ignored_object"
    )]
    pub properties: Option<strict::IgnoredObject>,
}

/// `RegistryProperties` as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryProperties {
    pub name: String,
    pub location: String,
    pub hostname: String,
    pub garbage_collection_schedule: WeeklySchedule,
    pub storage_usage: StorageUsage,
    pub features: RegistryFeatures,
    pub api_subnet_allow_list: Vec<String>,
}

/// `RegistryResponse` (also `PostRegistryOutput`, `PutRegistryOutput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub href: String,
    pub metadata: Metadata,
    pub properties: RegistryProperties,
}

/// `Pagination` of the registry list: an opaque token, empty on the last page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryPagination {
    pub limit: i64,
    pub token: String,
}

/// `RegistriesResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistriesResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub href: String,
    pub items: Vec<RegistryResponse>,
    pub pagination: RegistryPagination,
    #[serde(rename = "_links")]
    pub links: PaginationLinks,
}

/// `PostRegistryProperties`, also the body of `PUT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostRegistryProperties {
    pub name: String,
    pub location: String,
    #[serde(
        default,
        deserialize_with = "strict::object_or_null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub garbage_collection_schedule: Option<WeeklySchedule>,
    #[serde(
        default,
        deserialize_with = "strict::some_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub features: Option<RegistryFeatures>,
    #[serde(
        default,
        deserialize_with = "strict::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub api_subnet_allow_list: Option<Vec<String>>,
}

/// `PostRegistryInput` and `PutRegistryInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostRegistryInput {
    #[serde(deserialize_with = "strict::object")]
    pub properties: PostRegistryProperties,
}

/// `PatchRegistryInput`: absent fields stay as they are; a `null`
/// schedule (the document makes it nullable) means no collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchRegistryInput {
    #[serde(
        default,
        deserialize_with = "strict::object_or_null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub garbage_collection_schedule: Option<WeeklySchedule>,
    #[serde(
        default,
        deserialize_with = "strict::some_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub features: Option<RegistryFeatures>,
    #[serde(
        default,
        deserialize_with = "strict::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub api_subnet_allow_list: Option<Vec<String>>,
}

/// `Scope`: a repository name or pattern and the actions allowed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    #[serde(rename = "type")]
    pub type_: String,
    pub name: String,
    /// `null` reads as `[]`, which is then refused for naming no action.
    #[serde(deserialize_with = "strict::null_as_empty")]
    pub actions: Vec<String>,
}

/// `Credentials`: the password is the empty string except in the answer
/// that created the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// `TokenProperties` as answered; `expiryDate` is `null` for a token that
/// never expires (the document makes it nullable). Tollgate's extension
/// fields, which the official SDKs ignore, are left out when they have no
/// value: when and from where the token was last used, and until when its
/// password from before a rotation still works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenProperties {
    pub name: String,
    pub credentials: Credentials,
    pub expiry_date: Option<String>,
    pub scopes: Vec<Scope>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_password_valid_until: Option<String>,
}

/// `TokenResponse` (also `PostTokenOutput`, `PutTokenOutput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub href: String,
    pub metadata: Metadata,
    pub properties: TokenProperties,
}

/// `TokensResponse`: one page of a registry's tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub href: String,
    pub items: Vec<TokenResponse>,
    pub offset: i64,
    pub limit: i64,
    pub count: i64,
    pub total: i64,
    #[serde(rename = "_links")]
    pub links: PaginationLinks,
}

/// `PostTokenProperties`, also the body of `PUT`. `expiryDate` and
/// `scopes` are nullable (`null`: no expiry, no scopes); `status` is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostTokenProperties {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<String>,
    #[serde(
        default,
        deserialize_with = "strict::nullable_objects",
        skip_serializing_if = "Option::is_none"
    )]
    pub scopes: Option<Vec<Scope>>,
    #[serde(
        default,
        deserialize_with = "strict::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<String>,
}

/// `PostTokenInput` and `PutTokenInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostTokenInput {
    #[serde(deserialize_with = "strict::object")]
    pub properties: PostTokenProperties,
}

/// `PatchTokenInput`: an absent field stays; `expiryDate: null` clears the
/// date, `scopes: null` removes every scope; `status` may not be `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchTokenInput {
    #[serde(
        default,
        deserialize_with = "strict::null_or_present",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiry_date: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "strict::null_or_objects",
        skip_serializing_if = "Option::is_none"
    )]
    pub scopes: Option<Option<Vec<Scope>>>,
    #[serde(
        default,
        deserialize_with = "strict::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<String>,
}

/// The body of Tollgate's extension `POST .../tokens/{tokenId}/rotate`:
/// how long the previous password keeps working (default 0: it stops at once).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotateTokenInput {
    #[serde(
        default,
        deserialize_with = "strict::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub grace_period_seconds: Option<i64>,
}

/// `Location`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub id: String,
}

/// `LocationsResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationsResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub href: String,
    pub items: Vec<Location>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_tells_null_from_absent() {
        let absent: PatchTokenInput = serde_json::from_str(r#"{"status": "disabled"}"#).unwrap();
        assert_eq!(absent.expiry_date, None);
        let null: PatchTokenInput = serde_json::from_str(r#"{"expiryDate": null}"#).unwrap();
        assert_eq!(null.expiry_date, Some(None));
        let set: PatchTokenInput =
            serde_json::from_str(r#"{"expiryDate": "2030-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(set.expiry_date, Some(Some("2030-01-01T00:00:00Z".into())));
    }

    #[test]
    fn links_and_types_use_the_documented_names() {
        let links = PaginationLinks {
            self_: "s".into(),
            previous: "p".into(),
            next: "n".into(),
        };
        assert_eq!(
            serde_json::to_value(&links).unwrap(),
            serde_json::json!({"self": "s", "previous": "p", "next": "n"})
        );
        let scope: Scope =
            serde_json::from_str(r#"{"type": "repository", "name": "*", "actions": ["pull"]}"#)
                .unwrap();
        assert_eq!(scope.type_, "repository");
    }
}
