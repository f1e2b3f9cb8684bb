//! Resynchronisation's reads and writes: what the store knows of a
//! registry's repositories, and applying what was read of one repository
//! from the registry's API, in a transaction of its own.
//!
//! Events keep arriving while a registry is read. Every event that changes
//! a repository's artifacts or tags gives the repository a new random
//! version; what was read is applied only if the version is still the one
//! noted before the read began, and the check takes the repository's row
//! for the rest of the transaction, so that an event is never undone by an
//! older reading. (Random rather than counted: a repository deleted and
//! pushed again starts a new row, which must not repeat an old version.)
//! Blobs are recounted the same way: what the reading found, and what
//! events reported since it began, stay.

use std::collections::{BTreeMap, HashSet};

use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::RegistryId;

use super::query::{Param, Single, bind};
use super::repositories::{new_version, sum_storage};
use super::{Store, StoreResult};

/// An artifact as a registry's API shows it, with the tags pointing at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenArtifact {
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub tags: Vec<String>,
}

/// What was read of one repository from the registry's API.
#[derive(Debug, Clone, Copy)]
pub struct RepositoryReading<'a> {
    pub name: &'a str,
    /// Whether the registry's catalog lists it: its tags then become
    /// exactly the ones seen.
    pub catalogued: bool,
    /// Its version before the read began (`None`: no row then).
    pub version_before: Option<i64>,
    /// Its tagged artifacts.
    pub seen: &'a [SeenArtifact],
    /// Digests the store knew that the registry no longer has.
    pub gone: &'a [String],
}

impl Store {
    /// The version of a repository's artifacts and tags (see the module
    /// doc); `None` if the store has no such repository.
    pub async fn repository_version(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        name: &str,
    ) -> StoreResult<Option<i64>> {
        let params = [
            Param::contract(contract),
            Param::str(registry.as_str()),
            Param::str(name),
        ];
        let row: Option<Single<i64>> = self
            .read_optional(
                "SELECT version AS value FROM repositories WHERE contract_number = $1 \
                 AND registry_id = $2 AND name = $3",
                &params,
            )
            .await?;
        Ok(row.map(|Single(version)| version))
    }

    /// The repositories that hold artifacts, by name.
    pub async fn repositories_holding_artifacts(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
    ) -> StoreResult<Vec<String>> {
        let params = [Param::contract(contract), Param::str(registry.as_str())];
        let rows: Vec<Single<String>> = self
            .read_all(
                "SELECT DISTINCT repository AS value FROM artifacts \
                 WHERE contract_number = $1 AND registry_id = $2 ORDER BY repository",
                &params,
            )
            .await?;
        Ok(rows.into_iter().map(|Single(name)| name).collect())
    }

    /// Applies what was read of one repository: artifacts unknown so far
    /// are added (pushed once, at `now`), a catalogued repository's tags
    /// become the ones seen, and the artifacts gone are removed. Counts and
    /// times of known artifacts stay as the events made them. Answers
    /// `false`, changing nothing, if an event changed the repository since
    /// `reading.version_before` was noted (the next run reads it again).
    pub async fn resync_repository(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        reading: &RepositoryReading<'_>,
        now: i64,
    ) -> StoreResult<bool> {
        let name = reading.name;
        let key = || {
            vec![
                Param::contract(contract),
                Param::str(registry.as_str()),
                Param::str(name),
            ]
        };
        let mut tx = self.pool().begin().await?;
        // The claim comes first: it takes the repository's row (or its
        // key) until the commit, so events wait for this transaction.
        let claim = match reading.version_before {
            Some(version) => (
                "UPDATE repositories SET version = version WHERE contract_number = $1 \
                 AND registry_id = $2 AND name = $3 AND version = $4",
                with(key(), [Param::int(version)]),
            ),
            None if reading.seen.is_empty() => return Ok(true),
            None => (
                "INSERT INTO repositories (contract_number, registry_id, name, created_at, \
                 push_count, pull_count, last_pushed_at, version) VALUES ($1, $2, $3, $4, 1, 0, $4, $5) \
                 ON CONFLICT (contract_number, registry_id, name) DO NOTHING",
                with(key(), [Param::int(now), Param::int(new_version())]),
            ),
        };
        let claimed = bind(sqlx::query(claim.0), &claim.1)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if claimed != 1 {
            return Ok(false);
        }
        let mut statements: Vec<(&'static str, Vec<Param<'_>>)> = Vec::new();
        if reading.catalogued {
            statements.push((
                "DELETE FROM artifact_tags WHERE contract_number = $1 AND registry_id = $2 AND repository = $3",
                key(),
            ));
        }
        for artifact in reading.seen {
            statements.push((
                "INSERT INTO artifacts (contract_number, registry_id, repository, digest, \
                 media_type, size, created_at, push_count, pull_count, last_pushed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 0, $7) \
                 ON CONFLICT (contract_number, registry_id, repository, digest) DO NOTHING",
                with(
                    key(),
                    [
                        Param::str(&artifact.digest),
                        Param::str(&artifact.media_type),
                        Param::int(artifact.size),
                        Param::int(now),
                    ],
                ),
            ));
            for tag in &artifact.tags {
                statements.push((
                    "INSERT INTO artifact_tags (contract_number, registry_id, repository, tag, digest) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (contract_number, registry_id, repository, tag) DO UPDATE SET digest = $5",
                    with(key(), [Param::str(tag), Param::str(&artifact.digest)]),
                ));
            }
        }
        for digest in reading.gone {
            statements.push((
                "DELETE FROM artifacts WHERE contract_number = $1 AND registry_id = $2 \
                 AND repository = $3 AND digest = $4",
                with(key(), [Param::str(digest)]),
            ));
        }
        for (sql, params) in &statements {
            bind(sqlx::query(sql), params).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The digests of the blobs a registry is known to store.
    pub async fn registry_blob_digests(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
    ) -> StoreResult<HashSet<String>> {
        let params = [Param::contract(contract), Param::str(registry.as_str())];
        let rows: Vec<Single<String>> = self
            .read_all(
                "SELECT digest AS value FROM registry_blobs WHERE contract_number = $1 AND registry_id = $2",
                &params,
            )
            .await?;
        Ok(rows.into_iter().map(|Single(digest)| digest).collect())
    }

    /// Recounts a registry's blobs from what its manifests reference
    /// (`blobs`, read from its API; a new one at the size given, a known one
    /// keeps its own): each is noted as seen now, in small transactions;
    /// then, with `forget_since` (by [`Store::database_now`], the clock
    /// deliveries stamp blobs with on every node), the blobs seen neither
    /// by this reading nor by an event since then are forgotten; and the
    /// storage usage is summed again and stamped `now`.
    pub async fn recount_storage(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        blobs: &BTreeMap<String, i64>,
        forget_since: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        let blobs: Vec<(&String, &i64)> = blobs.iter().collect();
        for batch in blobs.chunks(BLOBS_PER_TRANSACTION) {
            let mut tx = self.pool().begin().await?;
            let seen_at = self.database_now_on(&mut *tx).await?;
            for (digest, size) in batch {
                let params = [
                    Param::contract(contract),
                    Param::str(registry.as_str()),
                    Param::str(digest),
                    Param::int(**size),
                    Param::int(seen_at),
                ];
                bind(
                    sqlx::query(
                        "INSERT INTO registry_blobs (contract_number, registry_id, digest, size, seen_at) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (contract_number, registry_id, digest) DO UPDATE SET seen_at = $5",
                    ),
                    &params,
                )
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        let mut tx = self.pool().begin().await?;
        if let Some(since) = forget_since {
            let stale = [
                Param::contract(contract),
                Param::str(registry.as_str()),
                Param::int(since),
            ];
            bind(
                sqlx::query(
                    "DELETE FROM registry_blobs WHERE contract_number = $1 AND registry_id = $2 \
                     AND seen_at < $3",
                ),
                &stale,
            )
            .execute(&mut *tx)
            .await?;
        }
        sum_storage(&mut tx, contract, registry, Some(now)).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Blobs noted as seen per transaction: the store's write lock is held
/// briefly, and events that store blobs meanwhile are not kept waiting.
const BLOBS_PER_TRANSACTION: usize = 500;

fn with<'a, const N: usize>(mut params: Vec<Param<'a>>, more: [Param<'a>; N]) -> Vec<Param<'a>> {
    params.extend(more);
    params
}
