//! Resynchronisation: events a registry sent while Tollgate was down are
//! lost (Distribution keeps its queue in memory), so the view is brought
//! back in line with what the registry's own API shows: its catalog, each
//! repository's tags and the manifests they name. Artifacts found are
//! added (counted as pushed once, at the time of the resync), each
//! catalogued repository's tags become the ones the registry has, and
//! artifacts the registry no longer has are removed. (Events that arrive
//! while it reads the registry may be undone until the next run.) Counts and times of known
//! artifacts stay as the events made them. Run by `tollgate admin
//! registry-resync` and on a schedule by `serve`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tollgate_api::repository::RepositoryName;

use super::distribution::{RegistryAddress, RegistryApi, RegistryApiError};
use super::events::{valid_digest, valid_tag};
use crate::clock::Clock;
use crate::store::{ConnectedRegistry, SeenArtifact, Store, StoreError};

/// What a resynchronisation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resynced {
    pub repositories: usize,
    pub artifacts: usize,
    pub removed: usize,
}

/// Why a resynchronisation failed (nothing was changed).
#[derive(Debug)]
pub enum ResyncError {
    RegistryApi(RegistryApiError),
    Store(StoreError),
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

    /// Brings one registry's view in line with its API.
    pub async fn registry(&self, registry: &ConnectedRegistry) -> Result<Resynced, ResyncError> {
        let at = RegistryAddress::of(registry, &self.domain);
        let mut seen: Vec<SeenArtifact> = Vec::new();
        let mut catalogued: Vec<String> = Vec::new();
        let mut repositories = 0;
        for name in self.api.catalog(&at).await? {
            let Ok(name) = RepositoryName::parse("repository", &name) else {
                continue;
            };
            catalogued.push(name.as_str().to_owned());
            let mut by_digest: BTreeMap<String, SeenArtifact> = BTreeMap::new();
            for tag in self.api.tags(&at, name.as_str()).await? {
                if !valid_tag(&tag) {
                    continue;
                }
                let Some(head) = self.api.manifest(&at, name.as_str(), &tag).await? else {
                    continue;
                };
                if !valid_digest(&head.digest) {
                    continue;
                }
                by_digest
                    .entry(head.digest.clone())
                    .or_insert_with(|| SeenArtifact {
                        repository: name.as_str().to_owned(),
                        digest: head.digest,
                        media_type: head.media_type,
                        size: head.size,
                        tags: Vec::new(),
                    })
                    .tags
                    .push(tag);
            }
            repositories += usize::from(!by_digest.is_empty());
            seen.extend(by_digest.into_values());
        }
        let tagged: HashSet<(&str, &str)> = seen
            .iter()
            .map(|s| (s.repository.as_str(), s.digest.as_str()))
            .collect();
        let mut gone = Vec::new();
        for (repository, digest) in self
            .store
            .known_artifacts(registry.contract, &registry.id)
            .await?
        {
            if !tagged.contains(&(repository.as_str(), digest.as_str()))
                && self
                    .api
                    .manifest(&at, &repository, &digest)
                    .await?
                    .is_none()
            {
                gone.push((repository, digest));
            }
        }
        self.store
            .resync_registry(
                registry.contract,
                &registry.id,
                &catalogued,
                &seen,
                &gone,
                self.clock.now(),
            )
            .await?;
        Ok(Resynced {
            repositories,
            artifacts: seen.len(),
            removed: gone.len(),
        })
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
                            Ok(done) => tracing::info!(
                                "resynchronised registry {}: {} repositories, {} artifacts, {} removed",
                                registry.name,
                                done.repositories,
                                done.artifacts,
                                done.removed
                            ),
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
