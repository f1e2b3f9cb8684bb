//! Repositories and artifacts as a service: what a manager's registry
//! holds, as its notifications reported it ([`super::events`]), listed and
//! read in the manager's contract only (another contract's registry is
//! not found); and deleting a repository, which deletes its manifests
//! through the registry's own API ([`super::distribution`]) so that a
//! following pull fails (manifests reachable only by a digest Tollgate
//! never heard of stay until the registry's garbage collection).

use std::fmt;
use std::sync::Arc;

use serde_json::json;

use tollgate_api::parse::truncate;
use tollgate_api::registry_rules::RegistryId;
use tollgate_api::repository::RepositoryName;

use super::Manager;
use super::distribution::{RegistryAddress, RegistryApi, RegistryApiError};
use crate::audit::Event;
use crate::clock::Clock;
use crate::store::{ArtifactRecord, Order, RepositoryRecord, Store, StoreError, Window};

/// Why a repository or artifact could not be read.
#[derive(Debug)]
pub enum RepositoryError {
    RegistryNotFound(RegistryId),
    RepositoryNotFound(RepositoryName),
    ArtifactNotFound(String),
    /// Tollgate does not know where the registry's HTTP API is.
    NotConnected(RegistryId),
    /// The registry's API refused or failed.
    RegistryApi(RegistryApiError),
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
            RepositoryError::NotConnected(id) => write!(
                f,
                "Tollgate does not know where the HTTP API of registry {id} is, so it cannot \
                 delete from it: the operator connects it with `tollgate admin registry-connect`"
            ),
            RepositoryError::RegistryApi(e) => e.fmt(f),
            RepositoryError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for RepositoryError {
    fn from(e: StoreError) -> Self {
        RepositoryError::Store(e)
    }
}

/// Reads the repositories and artifacts of a manager's registries, and
/// deletes repositories.
pub struct Repositories {
    store: Store,
    api: Arc<RegistryApi>,
    clock: Arc<dyn Clock>,
    /// Registries are `<name>.<domain>`.
    domain: String,
}

impl Repositories {
    pub fn new(store: Store, api: Arc<RegistryApi>, clock: Arc<dyn Clock>, domain: String) -> Self {
        Self {
            store,
            api,
            clock,
            domain,
        }
    }

    /// Deletes a repository: every manifest of it, through the registry's
    /// API (those its tags name and those Tollgate knows of), then what
    /// Tollgate keeps of it. A pull from it fails afterwards.
    pub async fn delete(
        &self,
        by: &Manager,
        registry: &RegistryId,
        name: &RepositoryName,
    ) -> Result<(), RepositoryError> {
        self.find(by, registry, name).await?;
        let connected = self
            .store
            .registry_api_url(by.contract(), registry)
            .await?
            .ok_or_else(|| RepositoryError::NotConnected(registry.clone()))?;
        let at = RegistryAddress::of(&connected, &self.domain);
        let mut digests = self
            .store
            .repository_digests(by.contract(), registry, name.as_str())
            .await?;
        let api = |e| RepositoryError::RegistryApi(e);
        for tag in self.api.tags(&at, name.as_str()).await.map_err(api)? {
            if let Some(manifest) = self
                .api
                .manifest(&at, name.as_str(), &tag)
                .await
                .map_err(api)?
            {
                digests.push(manifest.digest);
            }
        }
        digests.sort();
        digests.dedup();
        for digest in &digests {
            self.api
                .delete_manifest(&at, name.as_str(), digest)
                .await
                .map_err(api)?;
        }
        let event = Event::by_member(
            by.member(),
            self.clock.now(),
            "repository.deleted",
            ("repository", name.as_str()),
            json!({"registry": registry.as_str(), "manifests": digests.len()}),
        );
        self.store
            .delete_repository(by.contract(), registry, name.as_str(), &event)
            .await?;
        Ok(())
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
