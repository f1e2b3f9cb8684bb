//! Resynchronisation: events a registry sent while Tollgate was down are
//! lost (Distribution keeps its queue in memory), so the view is brought
//! back in line with what the registry's own API shows: its catalog, each
//! repository's tags and the manifests they name. Artifacts found are
//! added (counted as pushed once, at the time of the resync), each
//! catalogued repository's tags become the ones the registry has, and
//! artifacts the registry no longer has are removed. Counts and times of
//! known artifacts stay as the events made them. The storage usage is
//! recounted from the blobs the manifests reference: the blobs of deleted
//! manifests, which no event reports freed (the registry's garbage
//! collection frees them, silently), leave it. Run by
//! `tollgate admin registry-resync` and on a schedule by `serve`.
//!
//! Each repository is read and applied in a transaction of its own, and
//! only if no event changed it while it was read (the store checks its
//! change count): an event is newer than a reading, and is never undone by
//! one. Such a repository is left to the next run.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tollgate_api::repository::RepositoryName;

use super::distribution::{Manifest, RegistryAddress, RegistryApi, RegistryApiError};
use super::events::{valid_digest, valid_tag};
use crate::clock::Clock;
use crate::store::{ConnectedRegistry, RepositoryReading, SeenArtifact, Store, StoreError};

/// What a resynchronisation found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resynced {
    /// Repositories with tagged artifacts.
    pub repositories: usize,
    /// Tagged artifacts.
    pub artifacts: usize,
    /// Artifacts the registry no longer has, removed.
    pub removed: usize,
    /// Blobs the registry's manifests reference, recounted.
    pub blobs: usize,
    /// Repositories an event changed while they were read: left as the
    /// events made them, to be read again by the next run.
    pub left_to_next_run: usize,
}

/// Why a resynchronisation stopped (repositories applied before stay so).
#[derive(Debug)]
pub enum ResyncError {
    RegistryApi(RegistryApiError),
    Store(StoreError),
}

impl std::fmt::Display for Resynced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} repositories, {} artifacts, {} removed, {} blobs referenced",
            self.repositories, self.artifacts, self.removed, self.blobs
        )?;
        if self.left_to_next_run > 0 {
            write!(
                f,
                ", {} changed while read (left to the next run)",
                self.left_to_next_run
            )?;
        }
        Ok(())
    }
}

impl std::fmt::Display for ResyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResyncError::RegistryApi(e) => e.fmt(f),
            ResyncError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for ResyncError {
    fn from(e: StoreError) -> Self {
        ResyncError::Store(e)
    }
}

impl From<RegistryApiError> for ResyncError {
    fn from(e: RegistryApiError) -> Self {
        ResyncError::RegistryApi(e)
    }
}

/// Resynchronises connected registries.
pub struct Resync {
    store: Store,
    api: Arc<RegistryApi>,
    clock: Arc<dyn Clock>,
    /// Registries are `<name>.<domain>`.
    domain: String,
}

impl Resync {
    pub fn new(store: Store, api: Arc<RegistryApi>, clock: Arc<dyn Clock>, domain: String) -> Self {
        Self {
            store,
            api,
            clock,
            domain,
        }
    }

    /// Every connected registry, one after the other; answers each outcome.
    pub async fn all(
        &self,
    ) -> Result<Vec<(ConnectedRegistry, Result<Resynced, ResyncError>)>, StoreError> {
        let mut outcomes = Vec::new();
        for registry in self.store.connected_registries().await? {
            let outcome = self.registry(&registry).await;
            outcomes.push((registry, outcome));
        }
        Ok(outcomes)
    }

    /// Brings one registry's view in line with its API, one repository at
    /// a time: the catalogued ones, then those the store knows that the
    /// catalog no longer lists.
    pub async fn registry(&self, registry: &ConnectedRegistry) -> Result<Resynced, ResyncError> {
        let at = RegistryAddress::of(registry, &self.domain);
        let began = self.clock.now();
        let mut done = Resynced::default();
        let mut blobs = BTreeMap::new();
        let mut catalogued = HashSet::new();
        for name in self.api.catalog(&at).await? {
            let Ok(name) = RepositoryName::parse("repository", &name) else {
                continue;
            };
            self.repository(&at, registry, name.as_str(), true, &mut done, &mut blobs)
                .await?;
            catalogued.insert(name.as_str().to_owned());
        }
        for name in self
            .store
            .repositories_holding_artifacts(registry.contract, &registry.id)
            .await?
        {
            if !catalogued.contains(&name) {
                self.repository(&at, registry, &name, false, &mut done, &mut blobs)
                    .await?;
            }
        }
        done.blobs = blobs.len();
        // Every repository was read: the blobs its manifests reference are
        // what the registry keeps (the rest goes at its garbage collection).
        self.store
            .recount_storage(
                registry.contract,
                &registry.id,
                &blobs,
                began,
                self.clock.now(),
            )
            .await?;
        Ok(done)
    }

    /// Reads one repository from the registry and applies it, unless an
    /// event changes it meanwhile. Only a catalogued repository has tags
    /// to read; for every artifact known but not seen tagged, the registry
    /// is asked whether it still has the manifest. The blobs the manifests
    /// found reference are added to `blobs`.
    async fn repository(
        &self,
        at: &RegistryAddress,
        registry: &ConnectedRegistry,
        name: &str,
        catalogued: bool,
        done: &mut Resynced,
        blobs: &mut BTreeMap<String, i64>,
    ) -> Result<(), ResyncError> {
        let (contract, id) = (registry.contract, &registry.id);
        let changes_before = self.store.repository_changes(contract, id, name).await?;
        let known = self.store.repository_digests(contract, id, name).await?;
        let seen = if catalogued {
            self.tagged_artifacts(at, name, blobs).await?
        } else {
            Vec::new()
        };
        let mut gone = Vec::new();
        for digest in known {
            if seen.iter().any(|artifact| artifact.digest == digest) {
                continue;
            }
            match self.api.manifest(at, name, &digest).await? {
                Some(manifest) => self.note_blobs(at, name, &manifest, blobs).await?,
                None => gone.push(digest),
            }
        }
        let reading = RepositoryReading {
            name,
            catalogued,
            changes_before,
            seen: &seen,
            gone: &gone,
        };
        if self
            .store
            .resync_repository(contract, id, &reading, self.clock.now())
            .await?
        {
            done.repositories += usize::from(!seen.is_empty());
            done.artifacts += seen.len();
            done.removed += gone.len();
        } else {
            done.left_to_next_run += 1;
        }
        Ok(())
    }

    /// A repository's tagged artifacts, as its tags and their manifests
    /// show them; the blobs they reference are added to `blobs`.
    async fn tagged_artifacts(
        &self,
        at: &RegistryAddress,
        name: &str,
        blobs: &mut BTreeMap<String, i64>,
    ) -> Result<Vec<SeenArtifact>, ResyncError> {
        let mut by_digest: BTreeMap<String, SeenArtifact> = BTreeMap::new();
        for tag in self.api.tags(at, name).await? {
            if !valid_tag(&tag) {
                continue;
            }
            let Some(manifest) = self.api.manifest(at, name, &tag).await? else {
                continue;
            };
            if !valid_digest(&manifest.digest) {
                continue;
            }
            if !by_digest.contains_key(&manifest.digest) {
                self.note_blobs(at, name, &manifest, blobs).await?;
            }
            by_digest
                .entry(manifest.digest.clone())
                .or_insert_with(|| SeenArtifact {
                    digest: manifest.digest,
                    media_type: manifest.media_type,
                    size: manifest.size,
                    tags: Vec::new(),
                })
                .tags
                .push(tag);
        }
        Ok(by_digest.into_values().collect())
    }

    /// Adds the blobs `manifest` references to `blobs`, with those of the
    /// manifests it references if it is an index (one level: an index of
    /// indexes is not followed further).
    async fn note_blobs(
        &self,
        at: &RegistryAddress,
        name: &str,
        manifest: &Manifest,
        blobs: &mut BTreeMap<String, i64>,
    ) -> Result<(), ResyncError> {
        blobs.extend(manifest.blobs.iter().cloned());
        for child in &manifest.manifests {
            if !valid_digest(child) {
                continue;
            }
            if let Some(child) = self.api.manifest(at, name, child).await? {
                blobs.extend(child.blobs);
            }
        }
        Ok(())
    }

    /// Resynchronises every connected registry every `period`, for ever.
    pub async fn run_periodically(self: Arc<Self>, period: Duration) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match self.all().await {
                Ok(outcomes) => {
                    for (registry, outcome) in outcomes {
                        match outcome {
                            Ok(done) => {
                                tracing::info!("resynchronised registry {}: {done}", registry.name)
                            }
                            Err(e) => tracing::warn!(
                                "registry {} was not resynchronised: {e}",
                                registry.name
                            ),
                        }
                    }
                }
                Err(e) => tracing::warn!("registries were not resynchronised: {e}"),
            }
        }
    }
}
