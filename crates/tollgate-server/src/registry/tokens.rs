//! Registry tokens as a service: create, replace, change, delete, read and
//! list the tokens of a registry of the manager's contract.
//!
//! A token's password is generated here (256 random bits), handed back once
//! in the answer that created the token, and stored only as a SHA-256
//! digest. A token's name never changes; a change writes only what it names.

use std::fmt;
use std::sync::Arc;

use tollgate_api::registry_rules::{RegistryId, TokenId, TokenName};

use super::{Manager, Put};
use crate::clock::Clock;
use crate::secrets;
use crate::store::{RegistryTokenRecord, Stamps, Store, StoreError, TokenPatch, TokenSettings};

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
}

impl RegistryTokens {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Creates a token with a new id in `registry`.
    pub async fn create(
        &self,
        by: &Manager,
        registry: RegistryId,
        new: NewToken,
    ) -> Result<CreatedToken, RegistryTokenError> {
        let registry = self.owned_registry(by, registry).await?;
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
        let registry = self.owned_registry(by, registry).await?;
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
        self.write(by, &registry, id, &TokenPatch::from(&new.settings))
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
        let registry = self.owned_registry(by, registry).await?;
        self.write(by, &registry, id, &patch).await
    }

    /// Deletes the token; it is refused at the next login.
    pub async fn delete(
        &self,
        by: &Manager,
        registry: RegistryId,
        id: TokenId,
    ) -> Result<(), RegistryTokenError> {
        let registry = self.owned_registry(by, registry).await?;
        if self
            .store
            .delete_registry_token(by.contract(), &registry, &id)
            .await?
        {
            Ok(())
        } else {
            Err(RegistryTokenError::NotFound(id))
        }
    }

    /// The token `id` of `registry`.
    pub async fn find(
        &self,
        by: &Manager,
        registry: RegistryId,
        id: TokenId,
    ) -> Result<RegistryTokenRecord, RegistryTokenError> {
        let registry = self.owned_registry(by, registry).await?;
        self.store
            .find_registry_token(by.contract(), &registry, &id)
            .await?
            .ok_or(RegistryTokenError::NotFound(id))
    }

    /// One page of the registry's tokens in creation order, with the total.
    pub async fn list(
        &self,
        by: &Manager,
        registry: RegistryId,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<RegistryTokenRecord>, u64), RegistryTokenError> {
        let registry = self.owned_registry(by, registry).await?;
        Ok(self
            .store
            .list_registry_tokens(by.contract(), &registry, offset, limit)
            .await?)
    }

    /// The registry, if the manager's contract has it.
    async fn owned_registry(
        &self,
        by: &Manager,
        registry: RegistryId,
    ) -> Result<RegistryId, RegistryTokenError> {
        match self.store.find_registry(by.contract(), &registry).await? {
            Some(found) => Ok(found.id),
            None => Err(RegistryTokenError::RegistryNotFound(registry)),
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
        let token = RegistryTokenRecord {
            id,
            contract: by.contract(),
            registry_id: registry,
            name: new.name,
            password_digest: secrets::digest(&password),
            settings: new.settings,
            stamps: Stamps::created(&by.change(self.clock.now())),
        };
        match self.store.insert_registry_token(&token).await {
            Ok(()) => Ok(CreatedToken { token, password }),
            Err(StoreError::Conflict) => Err(RegistryTokenError::NameTaken(token.name)),
            Err(StoreError::MissingParent) => {
                Err(RegistryTokenError::RegistryNotFound(token.registry_id))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn write(
        &self,
        by: &Manager,
        registry: &RegistryId,
        id: TokenId,
        patch: &TokenPatch,
    ) -> Result<RegistryTokenRecord, RegistryTokenError> {
        let change = by.change(self.clock.now());
        self.store
            .patch_registry_token(by.contract(), registry, &id, patch, &change)
            .await?
            .ok_or(RegistryTokenError::NotFound(id))
    }
}
