//! Repositories and artifacts as a service: what a manager's registry
//! holds, as its notifications reported it ([`super::events`]), listed and
//! read in the manager's contract only (another contract's registry is
//! not found).

use std::fmt;

use tollgate_api::parse::truncate;
use tollgate_api::registry_rules::RegistryId;
use tollgate_api::repository::RepositoryName;

use super::Manager;
use crate::store::{ArtifactRecord, Order, RepositoryRecord, Store, StoreError, Window};

/// Why a repository or artifact could not be read.
#[derive(Debug)]
pub enum RepositoryError {
    RegistryNotFound(RegistryId),
    RepositoryNotFound(RepositoryName),
    ArtifactNotFound(String),
    Store(StoreError),
}

impl fmt::Display for RepositoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepositoryError::RegistryNotFound(id) => {
                write!(f, "no registry with id {id} exists in this contract")
            }
            RepositoryError::RepositoryNotFound(name) => write!(
                f,
                "the registry has no repository named {:?} (or nothing was pushed to it yet)",
                name.as_str()
            ),
            RepositoryError::ArtifactNotFound(digest) => write!(
                f,
                "the repository has no artifact with digest {:?}",
                truncate(digest)
            ),
            RepositoryError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for RepositoryError {
    fn from(e: StoreError) -> Self {
        RepositoryError::Store(e)
    }
}

/// Reads the repositories and artifacts of a manager's registries.
pub struct Repositories {
    store: Store,
}

impl Repositories {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The registry's repositories whose names contain `filter`, one page.
    pub async fn list(
        &self,
        by: &Manager,
        registry: &RegistryId,
        filter: Option<&str>,
        order: Order,
        window: Window,
    ) -> Result<Vec<RepositoryRecord>, RepositoryError> {
        self.registry(by, registry).await?;
        Ok(self
            .store
            .list_repositories(by.contract(), registry, filter, order, window)
            .await?)
    }

    /// One repository of the registry.
    pub async fn find(
        &self,
        by: &Manager,
        registry: &RegistryId,
        name: &RepositoryName,
    ) -> Result<RepositoryRecord, RepositoryError> {
        self.registry(by, registry).await?;
        self.store
            .find_repository(by.contract(), registry, name.as_str())
            .await?
            .ok_or_else(|| RepositoryError::RepositoryNotFound(name.clone()))
    }

    /// The artifacts of one repository of the registry, or of all of them.
    pub async fn artifacts(
        &self,
        by: &Manager,
        registry: &RegistryId,
        repository: Option<&RepositoryName>,
        order: Order,
        window: Window,
    ) -> Result<Vec<ArtifactRecord>, RepositoryError> {
        match repository {
            Some(name) => {
                self.find(by, registry, name).await?;
            }
            None => self.registry(by, registry).await?,
        }
        Ok(self
            .store
            .list_artifacts(
                by.contract(),
                registry,
                repository.map(RepositoryName::as_str),
                order,
                window,
            )
            .await?)
    }

    /// One artifact of a repository, by digest.
    pub async fn artifact(
        &self,
        by: &Manager,
        registry: &RegistryId,
        repository: &RepositoryName,
        digest: &str,
    ) -> Result<ArtifactRecord, RepositoryError> {
        self.find(by, registry, repository).await?;
        self.store
            .find_artifact(by.contract(), registry, repository.as_str(), digest)
            .await?
            .ok_or_else(|| RepositoryError::ArtifactNotFound(digest.to_owned()))
    }

    async fn registry(&self, by: &Manager, id: &RegistryId) -> Result<(), RepositoryError> {
        match self.store.find_registry(by.contract(), id).await? {
            Some(_) => Ok(()),
            None => Err(RepositoryError::RegistryNotFound(id.clone())),
        }
    }
}
