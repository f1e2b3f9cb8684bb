//! What a registry holds: repositories, artifacts (manifests) and their
//! tags, kept from the registry's own event notifications, and the blob
//! sizes its storage usage is summed from.
//!
//! Every read and write names the contract and the registry, so another
//! contract's repositories are invisible. Events are taken in at most
//! once each (their ids are kept), in one transaction per delivery.

use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::RegistryId;

use super::audit::{AuditEvent, insert_events};
use super::columns::Columns;
use super::query::{FromRow, Param, Single, bind};
use super::registries::escape_like;
use super::{Store, StoreResult};

/// A repository as stored, with its artifact count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryRecord {
    pub name: String,
    pub created_at: i64,
    pub artifact_count: i64,
    pub push_count: i64,
    pub pull_count: i64,
    pub last_pushed_at: Option<i64>,
    pub last_pulled_at: Option<i64>,
    /// Who pushed first and last (the event's actor), when known.
    pub created_by: Option<String>,
    pub last_pushed_by: Option<String>,
}

/// An artifact (a manifest) of a repository, with its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRecord {
    pub repository: String,
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub tags: Vec<String>,
    pub created_at: i64,
    pub push_count: i64,
    pub pull_count: i64,
    pub last_pushed_at: i64,
    pub last_pulled_at: Option<i64>,
    /// Who pushed first and last (the event's actor), when known.
    pub created_by: Option<String>,
    pub last_pushed_by: Option<String>,
}

/// One thing a registry reported, as the store takes it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryChange {
    /// A manifest was pushed (by tag, or by digest).
    ManifestPushed {
        repository: String,
        digest: String,
        media_type: String,
        size: i64,
        tag: Option<String>,
        at: i64,
        /// Who pushed it, as the registry names them.
        by: Option<String>,
    },
    /// A manifest was downloaded.
    ManifestPulled {
        repository: String,
        digest: String,
        at: i64,
    },
    /// A manifest was deleted by digest (a blob's delete reads the same,
    /// and changes nothing: its space is freed by garbage collection).
    Deleted { repository: String, digest: String },
    /// A tag was removed.
    Untagged { repository: String, tag: String },
    /// A blob (layer or config) was stored, or mounted from another repository.
    BlobStored { digest: String, size: i64 },
}

/// How lists of repositories and artifacts are sorted: a column of the
/// query (none: by name, or repository and digest), and the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub column: Option<OrderColumn>,
    pub descending: bool,
}

/// What lists can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderColumn {
    Name,
    LastPush,
    LastPull,
    ArtifactCount,
    PushCount,
    PullCount,
}

impl Order {
    /// `ORDER BY` for this order, with a stable tie-break (columns), on
    /// the columns of `table` (`""`: unqualified); a missing time sorts as
    /// the earliest.
    fn sql(self, table: &str, tie_break: &[&str]) -> String {
        let tie_break = tie_break
            .iter()
            .map(|column| format!("{table}{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let Some(column) = self.column else {
            return format!(" ORDER BY {tie_break}");
        };
        let column = match column {
            OrderColumn::Name => format!("{table}name"),
            OrderColumn::LastPush => format!("COALESCE({table}last_pushed_at, -1)"),
            OrderColumn::LastPull => format!("COALESCE({table}last_pulled_at, -1)"),
            OrderColumn::ArtifactCount => format!("{table}artifact_count"),
            OrderColumn::PushCount => format!("{table}push_count"),
            OrderColumn::PullCount => format!("{table}pull_count"),
        };
        let direction = if self.descending { "DESC" } else { "ASC" };
        format!(" ORDER BY {column} {direction}, {tie_break}")
    }
}

/// How artifacts are told apart, last in every order.
const ARTIFACT_KEY: [&str; 2] = ["repository", "digest"];

/// One page of a list: where it starts and how long it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: i64,
    pub limit: i64,
}

const REPOSITORY_COLUMNS: &str = "r.name, r.created_at, r.push_count, r.pull_count, r.last_pushed_at, r.last_pulled_at, \
     r.created_by, r.last_pushed_by, \
     (SELECT COUNT(*) FROM artifacts a WHERE a.contract_number = r.contract_number \
      AND a.registry_id = r.registry_id AND a.repository = r.name) AS artifact_count";

const ARTIFACT_COLUMNS: &str = "repository, digest, media_type, size, created_at, push_count, pull_count, \
     last_pushed_at, last_pulled_at, created_by, last_pushed_by";

impl Store {
    /// Takes in what a registry reported; an event whose id was taken in
    /// before is skipped. Answers how many were new. The registry's storage
    /// usage moves by what the changes added or removed, stamped `now`, in
    /// the same transaction.
    pub async fn take_in_registry_changes(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        changes: &[(String, RegistryChange)],
        now: i64,
    ) -> StoreResult<usize> {
        let mut tx = self.pool().begin().await?;
        // When blobs were seen, by the clock a resynchronisation on any
        // node compares with (read only for a delivery that has blobs).
        let seen_at = if changes.iter().any(|(_, c)| blob_order(c).is_some()) {
            self.database_now_on(&mut *tx).await?
        } else {
            now
        };
        let mut taken = 0;
        let mut storage_delta: i64 = 0;
        // Blobs last and by digest, so that transactions that store the
        // same blobs (deliveries, a resynchronisation) take their rows in
        // one order and never wait on each other in a circle.
        let mut ordered: Vec<&(String, RegistryChange)> = changes.iter().collect();
        ordered.sort_by(|(_, a), (_, b)| blob_order(a).cmp(&blob_order(b)));
        for (event_id, change) in ordered {
            let seen = [
                Param::contract(contract),
                Param::str(registry.as_str()),
                Param::str(event_id),
                Param::int(now),
            ];
            let new = bind(
                sqlx::query(
                    "INSERT INTO registry_events (contract_number, registry_id, id, received_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                ),
                &seen,
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if new == 0 {
                continue;
            }
            taken += 1;
            // The storage usage moves by what this change adds or removes:
            // a blob or an artifact new to the registry, an artifact deleted.
            let known_size = match change {
                RegistryChange::ManifestPushed {
                    repository, digest, ..
                }
                | RegistryChange::Deleted { repository, digest } => {
                    artifact_size(&mut tx, contract, registry, repository, digest).await?
                }
                _ => None,
            };
            if let RegistryChange::BlobStored { digest, size } = change {
                if store_blob(&mut tx, contract, registry, digest, *size, seen_at).await? {
                    storage_delta += *size;
                }
                continue;
            }
            for (sql, params) in statements(contract, registry, change) {
                bind(sqlx::query(sql), &params).execute(&mut *tx).await?;
            }
            storage_delta += match (change, known_size) {
                (RegistryChange::ManifestPushed { size, .. }, None) => *size,
                (RegistryChange::Deleted { .. }, Some(size)) => -size,
                _ => 0,
            };
        }
        let usage = [
            Param::int(storage_delta),
            Param::int(now),
            Param::contract(contract),
            Param::str(registry.as_str()),
        ];
        bind(
            sqlx::query(
                "UPDATE registries SET storage_bytes = storage_bytes + $1, storage_updated_at = $2 \
                 WHERE contract_number = $3 AND id = $4",
            ),
            &usage,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(taken)
    }

    /// The repositories of a registry whose names contain `filter`, one page.
    pub async fn list_repositories(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        filter: Option<&str>,
        order: Order,
        window: Window,
    ) -> StoreResult<Vec<RepositoryRecord>> {
        let pattern = format!("%{}%", escape_like(filter.unwrap_or_default()));
        let sql = format!(
            "SELECT * FROM (SELECT {REPOSITORY_COLUMNS} FROM repositories r \
             WHERE r.contract_number = $1 AND r.registry_id = $2 AND r.name LIKE $3 ESCAPE '\\') listed{} \
             LIMIT $4 OFFSET $5",
            order.sql("", &["name"])
        );
        let params = [
            Param::contract(contract),
            Param::str(registry.as_str()),
            Param::string(pattern),
            Param::int(window.limit),
            Param::int(window.offset),
        ];
        self.read_all(&sql, &params).await
    }

    /// One repository of a registry.
    pub async fn find_repository(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        name: &str,
    ) -> StoreResult<Option<RepositoryRecord>> {
        let sql = format!(
            "SELECT {REPOSITORY_COLUMNS} FROM repositories r \
             WHERE r.contract_number = $1 AND r.registry_id = $2 AND r.name = $3"
        );
        let params = [
            Param::contract(contract),
            Param::str(registry.as_str()),
            Param::str(name),
        ];
        self.read_optional(&sql, &params).await
    }

    /// The artifacts of one repository, or of the whole registry, one page.
    pub async fn list_artifacts(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        repository: Option<&str>,
        order: Order,
        window: Window,
    ) -> StoreResult<Vec<ArtifactRecord>> {
        // Placeholders are numbered in the order they first appear (SQLite
        // numbers `$N` by appearance).
        let mut params = vec![Param::contract(contract), Param::str(registry.as_str())];
        let condition = match repository {
            Some(repository) => {
                params.push(Param::str(repository));
                " AND repository = $3"
            }
            None => "",
        };
        let (limit, offset) = if repository.is_some() {
            ("$4", "$5")
        } else {
            ("$3", "$4")
        };
        params.push(Param::int(window.limit));
        params.push(Param::int(window.offset));
        let page = format!(
            "SELECT {ARTIFACT_COLUMNS} FROM artifacts \
             WHERE contract_number = $1 AND registry_id = $2{condition}{} LIMIT {limit} OFFSET {offset}",
            order.sql("", &ARTIFACT_KEY)
        );
        self.read_tagged(&page, order, &params).await
    }

    /// One artifact of a repository, by digest.
    pub async fn find_artifact(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        repository: &str,
        digest: &str,
    ) -> StoreResult<Option<ArtifactRecord>> {
        let page = format!(
            "SELECT {ARTIFACT_COLUMNS} FROM artifacts \
             WHERE contract_number = $1 AND registry_id = $2 AND repository = $3 AND digest = $4"
        );
        let params = [
            Param::contract(contract),
            Param::str(registry.as_str()),
            Param::str(repository),
            Param::str(digest),
        ];
        let order = Order {
            column: None,
            descending: false,
        };
        Ok(self.read_tagged(&page, order, &params).await?.pop())
    }

    /// The artifacts `page` selects (its first two parameters the contract
    /// and the registry), each with its tags, in one query: the page is
    /// joined with the tags, sorted by `order` (the page's own) and then by
    /// tag, and the rows of one artifact are folded into one.
    async fn read_tagged(
        &self,
        page: &str,
        order: Order,
        params: &[Param<'_>],
    ) -> StoreResult<Vec<ArtifactRecord>> {
        let sql = format!(
            "SELECT page.*, t.tag FROM ({page}) page LEFT JOIN artifact_tags t \
             ON t.contract_number = $1 AND t.registry_id = $2 \
             AND t.repository = page.repository AND t.digest = page.digest{}, t.tag",
            order.sql("page.", &ARTIFACT_KEY)
        );
        let rows: Vec<TaggedRow> = self.read_all(&sql, params).await?;
        let mut artifacts: Vec<ArtifactRecord> = Vec::new();
        for TaggedRow { artifact, tag } in rows {
            let same = artifacts.last().is_some_and(|last| {
                last.repository == artifact.repository && last.digest == artifact.digest
            });
            if !same {
                artifacts.push(artifact);
            }
            if let (Some(tag), Some(last)) = (tag, artifacts.last_mut()) {
                last.tags.push(tag);
            }
        }
        Ok(artifacts)
    }

    /// Forgets a repository, its artifacts and tags (its manifests were
    /// deleted from the registry), recording `event`; false if it was unknown.
    pub async fn delete_repository(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        name: &str,
        event: &AuditEvent,
    ) -> StoreResult<bool> {
        let params = [
            Param::contract(contract),
            Param::str(registry.as_str()),
            Param::str(name),
        ];
        let mut tx = self.pool().begin().await?;
        let deleted = bind(
            sqlx::query(
                "DELETE FROM repositories WHERE contract_number = $1 AND registry_id = $2 AND name = $3",
            ),
            &params,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if deleted == 1 {
            sum_storage(&mut tx, contract, registry, None).await?;
            insert_events(&mut tx, std::slice::from_ref(event)).await?;
        }
        tx.commit().await?;
        Ok(deleted == 1)
    }

    /// The digests of the artifacts a repository is known to hold.
    pub async fn repository_digests(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        repository: &str,
    ) -> StoreResult<Vec<String>> {
        let params = [
            Param::contract(contract),
            Param::str(registry.as_str()),
            Param::str(repository),
        ];
        let rows: Vec<Single<String>> = self
            .read_all(
                "SELECT digest AS value FROM artifacts WHERE contract_number = $1 \
                 AND registry_id = $2 AND repository = $3",
                &params,
            )
            .await?;
        Ok(rows.into_iter().map(|Single(digest)| digest).collect())
    }

    /// Forgets the ids of events taken in before `before` (a repeated
    /// delivery comes within minutes, not days).
    pub async fn forget_registry_events(&self, before: i64) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM registry_events WHERE received_at < $1",
            &[Param::int(before)],
        )
        .await
    }
}

/// The size of an artifact, if the registry holds it (read in `tx`).
async fn artifact_size(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    contract: ContractNumber,
    registry: &RegistryId,
    repository: &str,
    digest: &str,
) -> StoreResult<Option<i64>> {
    let params = [
        Param::contract(contract),
        Param::str(registry.as_str()),
        Param::str(repository),
        Param::str(digest),
    ];
    let row = bind(
        sqlx::query(
            "SELECT size FROM artifacts WHERE contract_number = $1 AND registry_id = $2 \
             AND repository = $3 AND digest = $4",
        ),
        &params,
    )
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| row.get("size")).transpose()
}

/// Where a change goes in a delivery's order: blobs after the rest (whose
/// order is kept), by digest.
fn blob_order(change: &RegistryChange) -> Option<&str> {
    match change {
        RegistryChange::BlobStored { digest, .. } => Some(digest),
        _ => None,
    }
}

/// Notes that the registry stores a blob, seen at `now` (the database's
/// clock); answers whether it is new to the registry (and so adds to its
/// storage usage).
async fn store_blob(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    contract: ContractNumber,
    registry: &RegistryId,
    digest: &str,
    size: i64,
    now: i64,
) -> StoreResult<bool> {
    let params = [
        Param::contract(contract),
        Param::str(registry.as_str()),
        Param::str(digest),
        Param::int(size),
        Param::int(now),
    ];
    let new = bind(
        sqlx::query(
            "INSERT INTO registry_blobs (contract_number, registry_id, digest, size, seen_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (contract_number, registry_id, digest) DO NOTHING",
        ),
        &params,
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if new == 0 {
        let seen = [
            Param::int(now),
            Param::contract(contract),
            Param::str(registry.as_str()),
            Param::str(digest),
        ];
        bind(
            sqlx::query(
                "UPDATE registry_blobs SET seen_at = $1 WHERE contract_number = $2 \
                 AND registry_id = $3 AND digest = $4",
            ),
            &seen,
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(new == 1)
}

/// Sums a registry's storage usage again from its blobs and artifacts (after
/// a deletion or a resynchronisation; deliveries move it by their changes),
/// stamping it `stamp` if given. The registry's row is taken first, so
/// that the sums are read after any delivery that held it has committed
/// (under PostgreSQL's read committed, each statement reads anew).
pub(super) async fn sum_storage(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    contract: ContractNumber,
    registry: &RegistryId,
    stamp: Option<i64>,
) -> StoreResult<()> {
    let take = [
        Param::opt_int(stamp),
        Param::contract(contract),
        Param::str(registry.as_str()),
    ];
    bind(
        sqlx::query(
            "UPDATE registries SET storage_updated_at = COALESCE($1, storage_updated_at) \
             WHERE contract_number = $2 AND id = $3",
        ),
        &take,
    )
    .execute(&mut **tx)
    .await?;
    let params = [Param::contract(contract), Param::str(registry.as_str())];
    bind(
        sqlx::query(
            "UPDATE registries SET storage_bytes = \
             (SELECT COALESCE(SUM(size), 0) FROM registry_blobs b \
              WHERE b.contract_number = $1 AND b.registry_id = $2) + \
             (SELECT COALESCE(SUM(size), 0) FROM artifacts a \
              WHERE a.contract_number = $1 AND a.registry_id = $2) \
             WHERE contract_number = $1 AND id = $2",
        ),
        &params,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The statements that take in one change, in order.
fn statements<'a>(
    contract: ContractNumber,
    registry: &'a RegistryId,
    change: &'a RegistryChange,
) -> Vec<(&'static str, Vec<Param<'a>>)> {
    let key = || vec![Param::contract(contract), Param::str(registry.as_str())];
    let with = |mut params: Vec<Param<'a>>, more: Vec<Param<'a>>| {
        params.extend(more);
        params
    };
    match change {
        RegistryChange::ManifestPushed {
            repository,
            digest,
            media_type,
            size,
            tag,
            at,
            by,
        } => {
            // The creator is the one of the earliest push, the last pusher
            // the one of the latest (of the same second, the one taken in
            // last), whatever order the events arrive in: the SET clauses
            // read the row as it was before the statement.
            let mut statements = vec![
                (
                    "INSERT INTO repositories (contract_number, registry_id, name, created_at, \
                     push_count, pull_count, last_pushed_at, created_by, last_pushed_by, version) \
                     VALUES ($1, $2, $3, $4, 1, 0, $4, $5, $5, $6) \
                     ON CONFLICT (contract_number, registry_id, name) DO UPDATE SET \
                     version = $6, \
                     created_by = CASE WHEN $4 < repositories.created_at THEN $5 \
                     ELSE repositories.created_by END, \
                     created_at = CASE WHEN $4 < repositories.created_at THEN $4 \
                     ELSE repositories.created_at END, \
                     push_count = repositories.push_count + 1, last_pushed_at = CASE \
                     WHEN repositories.last_pushed_at IS NULL OR repositories.last_pushed_at < $4 \
                     THEN $4 ELSE repositories.last_pushed_at END, last_pushed_by = CASE \
                     WHEN repositories.last_pushed_at IS NULL OR repositories.last_pushed_at <= $4 \
                     THEN $5 ELSE repositories.last_pushed_by END",
                    with(
                        key(),
                        vec![
                            Param::str(repository),
                            Param::int(*at),
                            Param::opt_str(by.as_deref()),
                            Param::int(new_version()),
                        ],
                    ),
                ),
                (
                    "INSERT INTO artifacts (contract_number, registry_id, repository, digest, \
                     media_type, size, created_at, push_count, pull_count, last_pushed_at, \
                     created_by, last_pushed_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 0, $7, $8, $8) \
                     ON CONFLICT (contract_number, registry_id, repository, digest) DO UPDATE SET \
                     created_by = CASE WHEN $7 < artifacts.created_at THEN $8 \
                     ELSE artifacts.created_by END, \
                     created_at = CASE WHEN $7 < artifacts.created_at THEN $7 \
                     ELSE artifacts.created_at END, \
                     push_count = artifacts.push_count + 1, media_type = $5, size = $6, \
                     last_pushed_at = CASE WHEN artifacts.last_pushed_at < $7 THEN $7 \
                     ELSE artifacts.last_pushed_at END, last_pushed_by = CASE \
                     WHEN artifacts.last_pushed_at <= $7 THEN $8 ELSE artifacts.last_pushed_by END",
                    with(
                        key(),
                        vec![
                            Param::str(repository),
                            Param::str(digest),
                            Param::str(media_type),
                            Param::int(*size),
                            Param::int(*at),
                            Param::opt_str(by.as_deref()),
                        ],
                    ),
                ),
            ];
            if let Some(tag) = tag {
                statements.push((
                    "INSERT INTO artifact_tags (contract_number, registry_id, repository, tag, digest) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (contract_number, registry_id, repository, tag) DO UPDATE SET digest = $5",
                    with(
                        key(),
                        vec![Param::str(repository), Param::str(tag), Param::str(digest)],
                    ),
                ));
            }
            statements
        }
        RegistryChange::ManifestPulled {
            repository,
            digest,
            at,
        } => {
            let params = || {
                vec![
                    Param::int(*at),
                    Param::contract(contract),
                    Param::str(registry.as_str()),
                    Param::str(repository),
                    Param::str(digest),
                ]
            };
            vec![
                (
                    "UPDATE repositories SET pull_count = pull_count + 1, last_pulled_at = \
                     CASE WHEN last_pulled_at IS NULL OR last_pulled_at < $1 THEN $1 ELSE last_pulled_at END \
                     WHERE contract_number = $2 AND registry_id = $3 AND name = $4 AND EXISTS \
                     (SELECT 1 FROM artifacts a WHERE a.contract_number = $2 AND a.registry_id = $3 \
                      AND a.repository = $4 AND a.digest = $5)",
                    params(),
                ),
                (
                    "UPDATE artifacts SET pull_count = pull_count + 1, last_pulled_at = \
                     CASE WHEN last_pulled_at IS NULL OR last_pulled_at < $1 THEN $1 ELSE last_pulled_at END \
                     WHERE contract_number = $2 AND registry_id = $3 AND repository = $4 AND digest = $5",
                    params(),
                ),
            ]
        }
        RegistryChange::Deleted { repository, digest } => vec![
            changed(contract, registry, repository),
            (
                "DELETE FROM artifact_tags WHERE contract_number = $1 AND registry_id = $2 \
                 AND repository = $3 AND digest = $4",
                with(key(), vec![Param::str(repository), Param::str(digest)]),
            ),
            (
                "DELETE FROM artifacts WHERE contract_number = $1 AND registry_id = $2 \
                 AND repository = $3 AND digest = $4",
                with(key(), vec![Param::str(repository), Param::str(digest)]),
            ),
        ],
        RegistryChange::Untagged { repository, tag } => vec![
            changed(contract, registry, repository),
            (
                "DELETE FROM artifact_tags WHERE contract_number = $1 AND registry_id = $2 \
                 AND repository = $3 AND tag = $4",
                with(key(), vec![Param::str(repository), Param::str(tag)]),
            ),
        ],
        // Taken in by `store_blob`, which also moves the storage usage.
        RegistryChange::BlobStored { .. } => Vec::new(),
    }
}

/// Gives a repository a new version: its artifacts or tags changed (see
/// [`Store::repository_version`]).
fn changed<'a>(
    contract: ContractNumber,
    registry: &'a RegistryId,
    repository: &'a str,
) -> (&'static str, Vec<Param<'a>>) {
    (
        "UPDATE repositories SET version = $1 \
         WHERE contract_number = $2 AND registry_id = $3 AND name = $4",
        vec![
            Param::int(new_version()),
            Param::contract(contract),
            Param::str(registry.as_str()),
            Param::str(repository),
        ],
    )
}

/// A repository version no other is likely to have had: 63 random bits.
pub(super) fn new_version() -> i64 {
    use rand_core::{OsRng, RngCore};
    (OsRng.next_u64() >> 1) as i64
}

/// An artifact with one of its tags (or none), as `read_tagged` joins them.
struct TaggedRow {
    artifact: ArtifactRecord,
    tag: Option<String>,
}

impl FromRow for TaggedRow {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        Ok(TaggedRow {
            artifact: ArtifactRecord::from_row(row)?,
            tag: row.get("tag")?,
        })
    }
}

impl FromRow for RepositoryRecord {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        Ok(RepositoryRecord {
            name: row.get("name")?,
            created_at: row.get("created_at")?,
            artifact_count: row.get("artifact_count")?,
            push_count: row.get("push_count")?,
            pull_count: row.get("pull_count")?,
            last_pushed_at: row.get("last_pushed_at")?,
            last_pulled_at: row.get("last_pulled_at")?,
            created_by: row.get("created_by")?,
            last_pushed_by: row.get("last_pushed_by")?,
        })
    }
}

impl FromRow for ArtifactRecord {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        Ok(ArtifactRecord {
            repository: row.get("repository")?,
            digest: row.get("digest")?,
            media_type: row.get("media_type")?,
            size: row.get("size")?,
            tags: Vec::new(),
            created_at: row.get("created_at")?,
            push_count: row.get("push_count")?,
            pull_count: row.get("pull_count")?,
            last_pushed_at: row.get("last_pushed_at")?,
            last_pulled_at: row.get("last_pulled_at")?,
            created_by: row.get("created_by")?,
            last_pushed_by: row.get("last_pushed_by")?,
        })
    }
}
