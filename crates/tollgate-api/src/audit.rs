//! Tollgate's audit API (`/audit/v1`, an extension in the IONOS APIs'
//! style): the events of a contract's audit trail, as answered.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::registry::PaginationLinks;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    /// `account`, `registry_token`, `operator` or `anonymous`.
    #[serde(rename = "type")]
    pub type_: String,
    /// An e-mail, a registry token's name, `operator`, or the name presented.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventResource {
    /// `account`, `auth_token`, `registry` or `registry_token`.
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// One event of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: String,
    /// RFC 3339, UTC.
    pub time: String,
    /// e.g. `registry_token.rotated`, `login.refused`.
    pub action: String,
    /// `success` or `refused`.
    pub outcome: String,
    pub actor: EventActor,
    /// The client's address, when there was a client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub resource: EventResource,
    /// What changed, or why a login was refused. Never a secret.
    pub detail: Value,
}

/// One page of events, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvents {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub href: String,
    pub items: Vec<AuditEvent>,
    pub offset: i64,
    pub limit: i64,
    pub count: i64,
    pub total: i64,
    #[serde(rename = "_links")]
    pub links: PaginationLinks,
}
