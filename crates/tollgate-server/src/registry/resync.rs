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
use crate::ops::metrics::{Metrics, ResyncOutcome};
use crate::store::{ConnectedRegistry, RepositoryReading, SeenArtifact, Store, StoreError};

/// What a resynchronisation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// Repositories that could not be read or applied, and the first
    /// reason; the others are applied all the same, but no blob is
    /// forgotten, since one of theirs may be what the failed ones reference.
    pub failed: usize,
    pub first_failure: Option<String>,
}

impl Resynced {
    /// Whether every repository was read and applied (or left to the next run).
    pub fn complete(&self) -> bool {
        self.failed == 0
    }
}

/// Why a resynchronisation could not start (its catalog or the store
/// failed); nothing was changed.
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
        if let Some(first) = &self.first_failure {
            write!(f, "; {} repositories failed, first: {first}", self.failed)?;
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

/// The most blobs one registry's manifests may reference in a
/// resynchronisation (their digests are held in memory while it reads).
const MAX_BLOBS: usize = 2_000_000;

/// What a resynchronisation has read of one registry so far.
struct RegistryReading {
    /// The blobs the store knew when it began.
    known_blobs: HashSet<String>,
    /// The blobs the manifests read reference: for a blob the store did
    /// not know, its size as the registry gives it (else 0, unused).
    blobs: BTreeMap<String, i64>,
    done: Resynced,
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
    /// catalog no longer lists. A repository that fails is counted and
    /// skipped; the storage usage is summed again in any case.
    pub async fn registry(&self, registry: &ConnectedRegistry) -> Result<Resynced, ResyncError> {
        let (contract, id) = (registry.contract, &registry.id);
        let at = RegistryAddress::of(registry, &self.domain);
        // By the database's clock, which stamps the blobs events report
        // on every node.
        let began = self.store.database_now().await?;
        let catalog = self.api.catalog(&at).await?;
        let mut reading = RegistryReading {
            known_blobs: self.store.registry_blob_digests(contract, id).await?,
            blobs: BTreeMap::new(),
            done: Resynced::default(),
        };
        // (name, whether the catalog lists it)
        let mut repositories: Vec<(String, bool)> = catalog
            .iter()
            .filter_map(|name| RepositoryName::parse("repository", name).ok())
            .map(|name| (name.as_str().to_owned(), true))
            .collect();
        let catalogued: HashSet<String> = repositories.iter().map(|(n, _)| n.clone()).collect();
        let known = self
            .store
            .repositories_holding_artifacts(contract, id)
            .await?;
        repositories.extend(
            known
                .into_iter()
                .filter(|name| !catalogued.contains(name))
                .map(|name| (name, false)),
        );
        for (name, catalogued) in &repositories {
            let read = self
                .repository(&at, registry, name, *catalogued, &mut reading)
                .await;
            if let Err(e) = read {
                tracing::warn!(
                    "registry {}: repository {name} not resynchronised: {e}",
                    registry.name
                );
                let done = &mut reading.done;
                done.failed += 1;
                done.first_failure
                    .get_or_insert_with(|| format!("{name}: {e}"));
            }
        }
        let RegistryReading {
            blobs, mut done, ..
        } = reading;
        done.blobs = blobs.len();
        // When every repository was read, the blobs their manifests
        // reference are what the registry keeps (the rest goes at its
        // garbage collection); otherwise none is forgotten.
        let forget_since = done.complete().then_some(began);
        self.store
            .recount_storage(contract, id, &blobs, forget_since, self.clock.now())
            .await?;
        Ok(done)
    }

    /// Reads one repository from the registry and applies it, unless an
    /// event changes it meanwhile. Only a catalogued repository has tags
    /// to read; for every artifact known but not seen tagged, the registry
    /// is asked whether it still has the manifest. The blobs the manifests
    /// found reference are noted in `reading`.
    async fn repository(
        &self,
        at: &RegistryAddress,
        registry: &ConnectedRegistry,
        name: &str,
        catalogued: bool,
        reading: &mut RegistryReading,
    ) -> Result<(), ResyncError> {
        let (contract, id) = (registry.contract, &registry.id);
        let version_before = self.store.repository_version(contract, id, name).await?;
        let known = self.store.repository_digests(contract, id, name).await?;
        let seen = if catalogued {
            self.tagged_artifacts(at, name, reading).await?
        } else {
            Vec::new()
        };
        let mut gone = Vec::new();
        for digest in known {
            if seen.iter().any(|artifact| artifact.digest == digest) {
                continue;
            }
            match self.api.manifest(at, name, &digest).await? {
                Some(manifest) => self.note_blobs(at, name, &manifest, reading).await?,
                None => gone.push(digest),
            }
        }
        let applying = RepositoryReading {
            name,
            catalogued,
            version_before,
            seen: &seen,
            gone: &gone,
        };
        let done = &mut reading.done;
        if self
            .store
            .resync_repository(contract, id, &applying, self.clock.now())
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
        reading: &mut RegistryReading,
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
                self.note_blobs(at, name, &manifest, reading).await?;
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

    /// Notes the blobs `manifest` references, with those of the manifests
    /// it references if it is an index (one level: an index of indexes is
    /// not followed further). A blob new to the store is counted at the
    /// size the registry gives for it, never at the manifest's word, and
    /// only if the registry has it.
    async fn note_blobs(
        &self,
        at: &RegistryAddress,
        name: &str,
        manifest: &Manifest,
        reading: &mut RegistryReading,
    ) -> Result<(), ResyncError> {
        let mut digests = manifest.blobs.clone();
        for child in &manifest.manifests {
            if let Some(child) = self.api.manifest(at, name, child).await? {
                digests.extend(child.blobs);
            }
        }
        for digest in digests {
            if reading.blobs.contains_key(&digest) {
                continue;
            }
            if reading.blobs.len() >= MAX_BLOBS {
                return Err(ResyncError::RegistryApi(RegistryApiError(format!(
                    "its manifests reference more than {MAX_BLOBS} blobs"
                ))));
            }
            // A known blob keeps the size its event reported.
            let size = if reading.known_blobs.contains(&digest) {
                Some(0)
            } else {
                self.api.blob_size(at, name, &digest).await?
            };
            if let Some(size) = size {
                reading.blobs.insert(digest, size);
            }
        }
        Ok(())
    }

    /// Resynchronises every connected registry every `period`, for ever,
    /// logging and counting (in `metrics`) how each ended.
    pub async fn run_periodically(self: Arc<Self>, period: Duration, metrics: Arc<Metrics>) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let outcomes = match self.all().await {
                Ok(outcomes) => outcomes,
                Err(e) => {
                    tracing::warn!("registries were not resynchronised: {e}");
                    continue;
                }
            };
            for (registry, outcome) in outcomes {
                let ended = match outcome {
                    Ok(done) if done.complete() => {
                        tracing::info!("resynchronised registry {}: {done}", registry.name);
                        ResyncOutcome::Complete
                    }
                    Ok(done) => {
                        tracing::warn!("resynchronised registry {} in part: {done}", registry.name);
                        ResyncOutcome::Partial
                    }
                    Err(e) => {
                        tracing::warn!("registry {} was not resynchronised: {e}", registry.name);
                        ResyncOutcome::Failed
                    }
                };
                metrics.resynced(ended);
            }
        }
    }
}
