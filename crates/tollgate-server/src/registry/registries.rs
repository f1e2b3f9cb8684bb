//! Registries as a service: create, replace, change, delete, read and list
//! the registries of a manager's contract, and check whether a name is free.
//!
//! The rules live here: a registry's name and location never change, its
//! location is one this service offers, a name is unique across contracts
//! and a deleted registry's name stays reserved for its contract during the
//! quarantine, and a change writes only what it names.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tollgate_api::parse::truncate;
use tollgate_api::registry_rules::{RegistryId, RegistryName, Subnet};

use super::{Manager, Put};
use crate::audit::Event;
use crate::auth::Member;
use crate::clock::Clock;
use crate::store::{
    AuditEvent, RegistryPage, RegistryPatch, RegistryRecord, RegistrySettings, Stamps, Store,
    StoreError,
};

/// What a `POST` or a creating `PUT` asks for.
#[derive(Debug, Clone)]
pub struct NewRegistry {
    pub name: RegistryName,
    pub location: String,
    pub settings: RegistrySettings,
}

/// Why a registry operation failed.
#[derive(Debug)]
pub enum RegistryError {
    /// No registry with this id in the manager's contract.
    NotFound(RegistryId),
    /// The name is in use, or reserved for another contract.
    NameUnavailable {
        name: RegistryName,
        quarantine_days: i64,
    },
    UnknownLocation {
        given: String,
        available: Vec<String>,
    },
    /// A `PUT` may not rename a registry.
    NameChanged {
        current: RegistryName,
    },
    /// A `PUT` may not move a registry.
    LocationChanged {
        current: String,
    },
    Store(StoreError),
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::NotFound(id) => {
                write!(f, "no registry with id {id} exists in your contract")
            }
            RegistryError::NameUnavailable {
                name,
                quarantine_days,
            } => write!(
                f,
                "the registry name {name} is not available: registry names are unique across all \
                 contracts, and the name of a deleted registry stays reserved for its contract for \
                 {quarantine_days} days"
            ),
            RegistryError::UnknownLocation { given, available } => write!(
                f,
                "properties.location {:?} is not an available location: use one of {}",
                truncate(given),
                available.join(", ")
            ),
            RegistryError::NameChanged { current } => write!(
                f,
                "properties.name cannot be changed: this registry is named {current}"
            ),
            RegistryError::LocationChanged { current } => write!(
                f,
                "properties.location cannot be changed: this registry is in {current}"
            ),
            RegistryError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        RegistryError::Store(e)
    }
}

/// The registries of every contract, reached by contract.
pub struct Registries {
    store: Store,
    clock: Arc<dyn Clock>,
    locations: Vec<String>,
    name_quarantine_seconds: i64,
}

impl Registries {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        locations: Vec<String>,
        name_quarantine_seconds: i64,
    ) -> Self {
        Self {
            store,
            clock,
            locations,
            name_quarantine_seconds,
        }
    }

    /// The location ids a registry may be created in.
    pub fn locations(&self) -> &[String] {
        &self.locations
    }

    /// Creates a registry with a new id.
    pub async fn create(
        &self,
        by: &Manager,
        new: NewRegistry,
    ) -> Result<RegistryRecord, RegistryError> {
        self.insert(by, RegistryId::generate(), new).await
    }

    /// Creates the registry `id` (201), or replaces its settings (200);
    /// its name and location never change.
    pub async fn put(
        &self,
        by: &Manager,
        id: RegistryId,
        new: NewRegistry,
    ) -> Result<Put<RegistryRecord>, RegistryError> {
        let Some(existing) = self.store.find_registry(by.contract(), &id).await? else {
            return self.insert(by, id, new).await.map(Put::Created);
        };
        if new.name != existing.name {
            return Err(RegistryError::NameChanged {
                current: existing.name,
            });
        }
        if new.location != existing.location {
            return Err(RegistryError::LocationChanged {
                current: existing.location,
            });
        }
        self.patch(by, id, RegistryPatch::from(new.settings))
            .await
            .map(Put::Replaced)
    }

    /// Writes the settings `patch` names, and only those.
    pub async fn patch(
        &self,
        by: &Manager,
        id: RegistryId,
        patch: RegistryPatch,
    ) -> Result<RegistryRecord, RegistryError> {
        let now = self.clock.now();
        let change = by.change(now);
        let event = self.event(by, now, "registry.changed", &id, describe(&patch));
        self.store
            .patch_registry(by.contract(), &id, &patch, &change, &event)
            .await?
            .ok_or(RegistryError::NotFound(id))
    }

    /// Deletes the registry and all its tokens; its name stays reserved for
    /// the contract during the quarantine.
    pub async fn delete(&self, by: &Manager, id: RegistryId) -> Result<(), RegistryError> {
        let now = self.clock.now();
        let name_released_at = now + self.name_quarantine_seconds;
        let event = self.event(by, now, "registry.deleted", &id, json!({}));
        if self
            .store
            .delete_registry(by.contract(), &id, name_released_at, &event)
            .await?
        {
            Ok(())
        } else {
            Err(RegistryError::NotFound(id))
        }
    }

    /// The registry `id` of the manager's contract.
    pub async fn find(
        &self,
        by: &Manager,
        id: RegistryId,
    ) -> Result<RegistryRecord, RegistryError> {
        self.store
            .find_registry(by.contract(), &id)
            .await?
            .ok_or(RegistryError::NotFound(id))
    }

    /// Up to `limit` registries of the contract whose names contain
    /// `name_filter`, after a keyset position.
    pub async fn list(
        &self,
        by: &Manager,
        name_filter: Option<&str>,
        after: Option<(i64, String)>,
        limit: u64,
    ) -> Result<RegistryPage, RegistryError> {
        Ok(self
            .store
            .list_registries(by.contract(), name_filter, after, limit)
            .await?)
    }

    /// Whether the member's contract cannot create a registry of this name now.
    pub async fn name_taken(
        &self,
        by: &Member,
        name: &RegistryName,
    ) -> Result<bool, RegistryError> {
        Ok(self
            .store
            .registry_name_taken(name, by.contract(), self.clock.now())
            .await?)
    }

    async fn insert(
        &self,
        by: &Manager,
        id: RegistryId,
        new: NewRegistry,
    ) -> Result<RegistryRecord, RegistryError> {
        if !self.locations.contains(&new.location) {
            return Err(RegistryError::UnknownLocation {
                given: new.location,
                available: self.locations.clone(),
            });
        }
        let now = self.clock.now();
        let mut detail = describe(&RegistryPatch::from(new.settings.clone()));
        if let Value::Object(fields) = &mut detail {
            fields.insert("name".into(), json!(new.name.as_str()));
            fields.insert("location".into(), json!(new.location));
        }
        let event = self.event(by, now, "registry.created", &id, detail);
        let record = RegistryRecord {
            id,
            contract: by.contract(),
            name: new.name,
            location: new.location,
            settings: new.settings,
            stamps: Stamps::created(&by.change(now)),
            storage: Default::default(),
        };
        match self.store.insert_registry(&record, now, &event).await {
            Ok(()) => Ok(record),
            Err(StoreError::Conflict) => Err(RegistryError::NameUnavailable {
                name: record.name,
                quarantine_days: self.name_quarantine_seconds / 86_400,
            }),
            Err(e) => Err(e.into()),
        }
    }

    fn event(
        &self,
        by: &Manager,
        at: i64,
        action: &str,
        id: &RegistryId,
        detail: Value,
    ) -> AuditEvent {
        Event::by_member(by.member(), at, action, ("registry", id.as_str()), detail)
    }
}

/// What a change sets, as the audit trail records it (wire names).
fn describe(patch: &RegistryPatch) -> Value {
    let mut fields = Map::new();
    if let Some(gc) = &patch.gc {
        fields.insert(
            "garbageCollectionSchedule".into(),
            json!({"days": gc.days(), "time": gc.time()}),
        );
    }
    if let Some(enabled) = patch.vulnerability_scanning {
        fields.insert("vulnerabilityScanning".into(), json!(enabled));
    }
    if let Some(list) = &patch.allow_list {
        let entries: Vec<&str> = list.iter().map(Subnet::as_str).collect();
        fields.insert("apiSubnetAllowList".into(), json!(entries));
    }
    Value::Object(fields)
}
