//! Registry tokens as a service: create, replace, change, delete, read and
//! list the tokens of a registry of the manager's contract.
//!
//! A token's password is generated here (256 random bits), handed back once
//! in the answer that created the token, and stored only as a SHA-256
//! digest. A token's name never changes; a change writes only what it names.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tollgate_api::registry_rules::{GracePeriod, RegistryId, TokenId, TokenName, TokenStatus};

use super::{Manager, Put};
use crate::audit::Event;
use crate::clock::{Clock, rfc3339};
use crate::ops::metrics::{Metrics, TokenKind};
use crate::secrets;
use crate::store::{
    AuditEvent, RegistryTokenRecord, Stamps, Store, StoreError, TokenPatch, TokenSettings,
};

/// What a `POST` or a creating `PUT` asks for.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: TokenName,
    pub settings: TokenSettings,
}

/// A token just created, with its password: shown this once.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: RegistryTokenRecord,
    pub password: String,
}

/// Why a registry token operation failed.
#[derive(Debug)]
pub enum RegistryTokenError {
    /// No registry with this id in the manager's contract.
    RegistryNotFound(RegistryId),
    /// No token with this id in the registry.
    NotFound(TokenId),
    /// The name is taken in the registry.
    NameTaken(TokenName),
    /// A `PUT` may not rename a token.
    NameChanged {
        current: TokenName,
    },
    Store(StoreError),
}

impl fmt::Display for RegistryTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryTokenError::RegistryNotFound(id) => {
                write!(f, "no registry with id {id} exists in your contract")
            }
            RegistryTokenError::NotFound(id) => {
                write!(f, "no token with id {id} exists in this registry")
            }
            RegistryTokenError::NameTaken(name) => write!(
                f,
                "the token name {name} is already taken in this registry (token names are unique per registry)"
            ),
            RegistryTokenError::NameChanged { current } => write!(
                f,
                "properties.name cannot be changed: this token is named {current}"
            ),
            RegistryTokenError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for RegistryTokenError {
    fn from(e: StoreError) -> Self {
        RegistryTokenError::Store(e)
    }
}

/// The tokens of every registry, reached through a registry of the manager's contract.
pub struct RegistryTokens {
    store: Store,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

impl RegistryTokens {
    pub fn new(store: Store, clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> Self {
        Self {
            store,
            clock,
            metrics,
        }
    }

    /// Creates a token with a new id in `registry`.
    pub async fn create(
        &self,
        by: &Manager,
        registry: RegistryId,
        new: NewToken,
    ) -> Result<CreatedToken, RegistryTokenError> {
        self.insert(by, registry, TokenId::generate(), new).await
    }

    /// Creates the token `id` (201, with its password), or replaces its
    /// status, expiry and scopes (200); its name never changes.
    pub async fn put(
        &self,
        by: &Manager,
        registry: RegistryId,
        id: TokenId,
        new: NewToken,
    ) -> Result<Put<CreatedToken, RegistryTokenRecord>, RegistryTokenError> {
        let Some(existing) = self
            .store
            .find_registry_token(by.contract(), &registry, &id)
            .await?
        else {
            return self.insert(by, registry, id, new).await.map(Put::Created);
        };
        if new.name != existing.name {
            return Err(RegistryTokenError::NameChanged {
                current: existing.name,
            });
        }
        self.write(by, &registry, id, TokenPatch::from(&new.settings))
            .await
            .map(Put::Replaced)
    }

    /// Writes the settings `patch` names, and only those.
    pub async fn patch(
        &self,
        by: &Manager,
        registry: RegistryId,
        id: TokenId,
        patch: TokenPatch,
    ) -> Result<RegistryTokenRecord, RegistryTokenError> {
        self.write(by, &registry, id, patch).await
    }

    /// Gives the token a new password, shown in this answer only; the old
    /// one keeps working for `grace` (none: it stops at once). Status,
    /// expiry and scopes stay; refresh tokens of the old password end.
    pub async fn rotate(
        &self,
        by: &Manager,
        registry: RegistryId,
        id: TokenId,
        grace: GracePeriod,
    ) -> Result<CreatedToken, RegistryTokenError> {
        let now = self.clock.now();
        let previous_valid_until = (grace.seconds() > 0).then(|| now + grace.seconds());
        let event = self.event(
            by,
            now,
            "registry_token.rotated",
            &registry,
            &id,
            json!({
                "gracePeriodSeconds": grace.seconds(),
                "previousPasswordValidUntil": previous_valid_until.map(rfc3339),
            }),
        );
        let password = secrets::registry_token_password();
        let rotated = self
            .store
            .rotate_registry_token(
                by.contract(),
                &registry,
                &id,
                &secrets::digest(&password),
                previous_valid_until,
                &by.change(now),
                &event,
            )
            .await?;
        match rotated {
            Some(token) => {
                self.metrics.issued(TokenKind::RegistryToken, 1);
                Ok(CreatedToken { token, password })
            }
            None => Err(self.not_found(by, &registry, id).await),
        }
    }

    /// Deletes the token; it is refused at the next login.
    pub async fn delete(
        &self,
        by: &Manager,
        registry: RegistryId,
        id: TokenId,
    ) -> Result<(), RegistryTokenError> {
        let event = self.event(
            by,
            self.clock.now(),
            "registry_token.deleted",
            &registry,
            &id,
            json!({}),
        );
        if self
            .store
            .delete_registry_token(by.contract(), &registry, &id, &event)
            .await?
        {
            self.metrics.revoked(TokenKind::RegistryToken, 1);
            Ok(())
        } else {
            Err(self.not_found(by, &registry, id).await)
        }
    }

    /// The token `id` of `registry`.
    pub async fn find(
        &self,
        by: &Manager,
        registry: RegistryId,
        id: TokenId,
    ) -> Result<RegistryTokenRecord, RegistryTokenError> {
        let found = self
            .store
            .find_registry_token(by.contract(), &registry, &id)
            .await?;
        match found {
            Some(token) => Ok(token),
            None => Err(self.not_found(by, &registry, id).await),
        }
    }

    /// One page of the registry's tokens in creation order, with the total.
    pub async fn list(
        &self,
        by: &Manager,
        registry: RegistryId,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<RegistryTokenRecord>, u64), RegistryTokenError> {
        let page = self
            .store
            .list_registry_tokens(by.contract(), &registry, offset, limit)
            .await?;
        // An empty answer is all an unknown registry gives: only then ask.
        if page.1 == 0
            && self
                .store
                .find_registry(by.contract(), &registry)
                .await?
                .is_none()
        {
            return Err(RegistryTokenError::RegistryNotFound(registry));
        }
        Ok(page)
    }

    /// Why token `id` was not found: the registry is not the manager's
    /// contract's, or the registry has no such token. Asked only after
    /// the token's own statement found nothing, so that a request for a
    /// token costs one statement.
    async fn not_found(
        &self,
        by: &Manager,
        registry: &RegistryId,
        id: TokenId,
    ) -> RegistryTokenError {
        match self.store.find_registry(by.contract(), registry).await {
            Ok(Some(_)) => RegistryTokenError::NotFound(id),
            Ok(None) => RegistryTokenError::RegistryNotFound(registry.clone()),
            Err(e) => e.into(),
        }
    }

    async fn insert(
        &self,
        by: &Manager,
        registry: RegistryId,
        id: TokenId,
        new: NewToken,
    ) -> Result<CreatedToken, RegistryTokenError> {
        let password = secrets::registry_token_password();
        let now = self.clock.now();
        let mut detail = describe(&TokenPatch::from(&new.settings));
        if let Value::Object(fields) = &mut detail {
            fields.insert("name".into(), json!(new.name.as_str()));
        }
        let event = self.event(by, now, "registry_token.created", &registry, &id, detail);
        let token = RegistryTokenRecord {
            id,
            contract: by.contract(),
            registry_id: registry,
            name: new.name,
            password_digest: secrets::digest(&password),
            settings: new.settings,
            stamps: Stamps::created(&by.change(now)),
            last_use: Default::default(),
            previous_valid_until: None,
        };
        match self.store.insert_registry_token(&token, &event).await {
            Ok(()) => {
                self.metrics.issued(TokenKind::RegistryToken, 1);
                Ok(CreatedToken { token, password })
            }
            Err(StoreError::Conflict) => Err(RegistryTokenError::NameTaken(token.name)),
            Err(StoreError::MissingParent) => {
                Err(RegistryTokenError::RegistryNotFound(token.registry_id))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a change; disabling or enabling a token is its own action in
    /// the audit trail, any other change is `registry_token.changed`.
    async fn write(
        &self,
        by: &Manager,
        registry: &RegistryId,
        id: TokenId,
        patch: TokenPatch,
    ) -> Result<RegistryTokenRecord, RegistryTokenError> {
        let now = self.clock.now();
        let action = match patch.status {
            Some(TokenStatus::Disabled) => "registry_token.disabled",
            Some(TokenStatus::Enabled) => "registry_token.enabled",
            None => "registry_token.changed",
        };
        let event = self.event(by, now, action, registry, &id, describe(&patch));
        let written = self
            .store
            .patch_registry_token(
                by.contract(),
                registry,
                &id,
                &patch,
                &by.change(now),
                &event,
            )
            .await?;
        match written {
            Some(token) => Ok(token),
            None => Err(self.not_found(by, registry, id).await),
        }
    }

    fn event(
        &self,
        by: &Manager,
        at: i64,
        action: &str,
        registry: &RegistryId,
        id: &TokenId,
        mut detail: Value,
    ) -> AuditEvent {
        if let Value::Object(fields) = &mut detail {
            fields.insert("registryId".into(), json!(registry.as_str()));
        }
        Event::by_member(
            by.member(),
            at,
            action,
            ("registry_token", id.as_str()),
            detail,
        )
    }
}

/// What a change sets, as the audit trail records it (wire names).
fn describe(patch: &TokenPatch) -> Value {
    let mut fields = Map::new();
    if let Some(status) = patch.status {
        fields.insert("status".into(), json!(status.as_str()));
    }
    if let Some(expires_at) = patch.expires_at {
        fields.insert("expiryDate".into(), json!(expires_at.map(rfc3339)));
    }
    if let Some(scopes) = &patch.scopes {
        let scopes: Vec<_> = scopes.iter().map(|s| s.to_wire()).collect();
        fields.insert("scopes".into(), json!(scopes));
    }
    Value::Object(fields)
}
