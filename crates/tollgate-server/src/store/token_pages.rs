//! Pages of a registry's tokens at any offset, without counting or skipping
//! the whole list on every request.
//!
//! Each registry keeps `token_count` and `tokens_version` (bumped by every
//! insert and delete of its tokens, in the same transaction). A node
//! remembers, per registry and version, the `(created_at, id)` key of every
//! 1024th token; a page at offset `o` then seeks to the mark at
//! `o / 1024 * 1024` and skips fewer than 1024 entries. When the version
//! moves on, the marks are rebuilt by one scan on the next deep page, so a
//! registry under constant churn pays that scan again (see ARCHITECTURE.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::columns::Columns;
use super::registry_tokens::{PAGE_SQL, RegistryTokenRecord, token_from_row};
use super::sqlite_reads::SqliteReads;
use super::{Store, StoreError, StoreResult};

/// Every how many tokens a mark is kept.
pub(super) const MARK_EVERY: u64 = 1024;

/// The smallest key: a page from the very start.
const START: (i64, &str) = (i64::MIN, "");

/// The marks of one registry at one version. They are scanned once,
/// however many deep pages ask for them at the same moment: the others
/// wait for that scan instead of each running their own.
#[derive(Debug)]
struct Marks {
    version: i64,
    keys: OnceCell<Vec<(i64, String)>>,
}

/// The marks this node remembers, by registry id.
#[derive(Debug, Default)]
pub(super) struct PageMarks {
    by_registry: Mutex<HashMap<String, Arc<Marks>>>,
}

impl PageMarks {
    /// The marks of `registry_id` at `version`: the remembered ones, or
    /// new empty ones that replace an older version's. A reader that saw
    /// an older version than this node knows gets its own, unremembered.
    fn at_version(&self, registry_id: &str, version: i64) -> Arc<Marks> {
        let fresh = || {
            Arc::new(Marks {
                version,
                keys: OnceCell::new(),
            })
        };
        let Ok(mut by_registry) = self.by_registry.lock() else {
            return fresh();
        };
        match by_registry.get(registry_id) {
            Some(marks) if marks.version == version => marks.clone(),
            Some(marks) if marks.version > version => fresh(),
            _ => {
                let marks = fresh();
                by_registry.insert(registry_id.to_owned(), marks.clone());
                marks
            }
        }
    }
}

const STATS_SQL: &str = "SELECT token_count, tokens_version FROM registries WHERE id = $1";

/// Every 1024th key, numbered by the database (PostgreSQL streams this).
const MARKS_SQL: &str = "SELECT created_at, id FROM ( \
     SELECT created_at, id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n \
     FROM registry_tokens WHERE registry_id = $1) numbered \
     WHERE (n - 1) % 1024 = 0 ORDER BY n";

/// Every key in order (SQLite: walked row by row, keeping every 1024th,
/// because its window functions buffer the whole partition in memory).
const KEYS_SQL: &str =
    "SELECT created_at, id FROM registry_tokens WHERE registry_id = $1 ORDER BY created_at, id";

/// Runs `work` on the blocking pool: rebuilding marks scans the whole list.
async fn on_reads<T: Send + 'static>(
    reads: Arc<SqliteReads>,
    work: impl FnOnce(&SqliteReads) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(move || work(&reads))
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?
}

impl Store {
    /// One page of the registry's tokens in creation order, with the total.
    pub async fn list_registry_tokens(
        &self,
        registry_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<RegistryTokenRecord>, u64)> {
        let Some((total, version)) = self.token_stats(registry_id).await? else {
            return Ok((Vec::new(), 0));
        };
        let total = total.max(0) as u64;
        let mut after = (START.0, START.1.to_owned());
        let mut skip = offset;
        if offset >= MARK_EVERY && offset < total {
            let marks = self.page_marks.at_version(registry_id, version);
            let keys = marks
                .keys
                .get_or_try_init(|| self.scan_marks(registry_id))
                .await?;
            if let Some(mark) = keys.get((offset / MARK_EVERY) as usize) {
                after = mark.clone();
                skip = offset % MARK_EVERY;
            }
        }
        let items = self.token_page(registry_id, after, skip, limit).await?;
        Ok((items, total))
    }

    async fn token_stats(&self, registry_id: &str) -> StoreResult<Option<(i64, i64)>> {
        fn stats(r: &impl Columns) -> StoreResult<(i64, i64)> {
            Ok((r.get("token_count")?, r.get("tokens_version")?))
        }
        if let Some(reads) = self.reads.as_deref() {
            return reads.optional(STATS_SQL, [registry_id], |r| stats(r));
        }
        let row = sqlx::query(STATS_SQL)
            .bind(registry_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(stats).transpose()
    }

    /// The key of every [`MARK_EVERY`]th token of the registry, in order.
    async fn scan_marks(&self, registry_id: &str) -> StoreResult<Vec<(i64, String)>> {
        fn key(r: &impl Columns) -> StoreResult<(i64, String)> {
            Ok((r.get("created_at")?, r.get("id")?))
        }
        if let Some(reads) = self.reads.clone() {
            let id = registry_id.to_owned();
            return on_reads(reads, move |reads| {
                reads.every_nth(KEYS_SQL, [id], MARK_EVERY as usize, |r| key(r))
            })
            .await;
        }
        let rows = sqlx::query(MARKS_SQL)
            .bind(registry_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(key).collect()
    }

    async fn token_page(
        &self,
        registry_id: &str,
        after: (i64, String),
        skip: u64,
        limit: u64,
    ) -> StoreResult<Vec<RegistryTokenRecord>> {
        // Bounded work (fewer than 1024 entries skipped, at most `limit`
        // read), so it runs on the calling thread like the other lookups.
        if let Some(reads) = self.reads.as_deref() {
            let params =
                rusqlite::params![registry_id, after.0, after.1, limit as i64, skip as i64];
            return reads.all(PAGE_SQL, params, |r| token_from_row(r));
        }
        let rows = sqlx::query(PAGE_SQL)
            .bind(registry_id)
            .bind(after.0)
            .bind(after.1)
            .bind(limit as i64)
            .bind(skip as i64)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(token_from_row).collect()
    }
}
