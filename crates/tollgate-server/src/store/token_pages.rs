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

/// A registry: its contract and its id (ids are unique per contract).
type RegistryKey = (i32, String);

/// The marks this node remembers, by registry.
#[derive(Debug, Default)]
pub(super) struct PageMarks {
    by_registry: Mutex<HashMap<RegistryKey, Arc<Marks>>>,
}

impl PageMarks {
    /// The marks of `registry_id` at `version`: the remembered ones, or
    /// new empty ones that replace an older version's. A reader that saw
    /// an older version than this node knows gets its own, unremembered.
    fn at_version(&self, registry: (i32, &str), version: i64) -> Arc<Marks> {
        let fresh = || {
            Arc::new(Marks {
                version,
                keys: OnceCell::new(),
            })
        };
        let Ok(mut by_registry) = self.by_registry.lock() else {
            return fresh();
        };
        let key = (registry.0, registry.1.to_owned());
        match by_registry.get(&key) {
            Some(marks) if marks.version == version => marks.clone(),
            Some(marks) if marks.version > version => fresh(),
            _ => {
                let marks = fresh();
                by_registry.insert(key, marks.clone());
                marks
            }
        }
    }
}

const STATS_SQL: &str = "SELECT token_count, tokens_version FROM registries \
     WHERE contract_number = $1 AND id = $2";

/// Every 1024th key, numbered by the database (PostgreSQL streams this).
const MARKS_SQL: &str = "SELECT created_at, id FROM ( \
     SELECT created_at, id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n \
     FROM registry_tokens WHERE contract_number = $1 AND registry_id = $2) numbered \
     WHERE (n - 1) % 1024 = 0 ORDER BY n";

/// Every key in order (SQLite: walked row by row, keeping every 1024th,
/// because its window functions buffer the whole partition in memory).
const KEYS_SQL: &str = "SELECT created_at, id FROM registry_tokens \
     WHERE contract_number = $1 AND registry_id = $2 ORDER BY created_at, id";

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
    /// An offset at or past the end answers an empty page without reading
    /// a single token.
    pub async fn list_registry_tokens(
        &self,
        contract: i32,
        registry_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<RegistryTokenRecord>, u64)> {
        let registry = (contract, registry_id);
        let Some((total, version)) = self.token_stats(registry).await? else {
            return Ok((Vec::new(), 0));
        };
        let total = total.max(0) as u64;
        if offset >= total {
            return Ok((Vec::new(), total));
        }
        let mut after = (START.0, START.1.to_owned());
        let mut skip = offset;
        if offset >= MARK_EVERY {
            let marks = self.page_marks.at_version(registry, version);
            let keys = marks
                .keys
                .get_or_try_init(|| self.scan_marks(registry))
                .await?;
            if let Some(mark) = keys.get((offset / MARK_EVERY) as usize) {
                after = mark.clone();
                skip = offset % MARK_EVERY;
            }
        }
        let items = self.token_page(registry, after, skip, limit).await?;
        Ok((items, total))
    }

    async fn token_stats(&self, registry: (i32, &str)) -> StoreResult<Option<(i64, i64)>> {
        fn stats(r: &impl Columns) -> StoreResult<(i64, i64)> {
            Ok((r.get("token_count")?, r.get("tokens_version")?))
        }
        let (contract, registry_id) = (i64::from(registry.0), registry.1);
        if let Some(reads) = self.reads.as_deref() {
            let params = rusqlite::params![contract, registry_id];
            return reads.optional(STATS_SQL, params, |r| stats(r));
        }
        let row = sqlx::query(STATS_SQL)
            .bind(contract)
            .bind(registry_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(stats).transpose()
    }

    /// The key of every [`MARK_EVERY`]th token of the registry, in order.
    async fn scan_marks(&self, registry: (i32, &str)) -> StoreResult<Vec<(i64, String)>> {
        fn key(r: &impl Columns) -> StoreResult<(i64, String)> {
            Ok((r.get("created_at")?, r.get("id")?))
        }
        let (contract, registry_id) = (i64::from(registry.0), registry.1.to_owned());
        if let Some(reads) = self.reads.clone() {
            return on_reads(reads, move |reads| {
                let params = rusqlite::params![contract, registry_id];
                reads.every_nth(KEYS_SQL, params, MARK_EVERY as usize, |r| key(r))
            })
            .await;
        }
        let rows = sqlx::query(MARKS_SQL)
            .bind(contract)
            .bind(registry_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(key).collect()
    }

    async fn token_page(
        &self,
        registry: (i32, &str),
        after: (i64, String),
        skip: u64,
        limit: u64,
    ) -> StoreResult<Vec<RegistryTokenRecord>> {
        let (contract, registry_id) = (i64::from(registry.0), registry.1);
        // Bounded work (fewer than 1024 entries skipped, at most `limit`
        // read), so it runs on the calling thread like the other lookups.
        if let Some(reads) = self.reads.as_deref() {
            let params = rusqlite::params![
                contract,
                registry_id,
                after.0,
                after.1,
                limit as i64,
                skip as i64
            ];
            return reads.all(PAGE_SQL, params, |r| token_from_row(r));
        }
        let rows = sqlx::query(PAGE_SQL)
            .bind(contract)
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

#[cfg(test)]
mod tests {
    use super::super::sqlite_reads::VM_STEPS;
    use super::*;
    use crate::store::{Audit, NewUser, RegistryRecord, RegistrySettings, TokenSettings};

    const CONTRACT: i32 = 31_000_001;

    /// A page and the SQLite steps it took (the test runtime has one
    /// thread, and the SQLite read path runs queries on the calling thread).
    async fn page(store: &Store, offset: u64) -> ((Vec<RegistryTokenRecord>, u64), u64) {
        VM_STEPS.with(|s| s.set(0));
        let page = store
            .list_registry_tokens(CONTRACT, "r", offset, 10)
            .await
            .unwrap();
        (page, VM_STEPS.with(|s| s.get()))
    }

    #[tokio::test]
    async fn a_page_at_or_past_the_end_reads_no_token() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        let audit = Audit {
            created_at: 1,
            created_by: "a@example.com".into(),
            created_by_user_id: "u".into(),
            modified_at: None,
            modified_by: None,
            modified_by_user_id: None,
        };
        store
            .create_user(&NewUser {
                id: "u".into(),
                email: "a@example.com".into(),
                password_hash: "x".into(),
                memberships: vec![crate::store::Membership {
                    contract_number: CONTRACT,
                    role: "owner".into(),
                    privileges: Vec::new(),
                }],
                created_at: 1,
            })
            .await
            .unwrap();
        let registry = RegistryRecord {
            id: "r".into(),
            contract_number: CONTRACT,
            name: "reg".into(),
            location: "de/fra".into(),
            settings: RegistrySettings {
                gc_days: Vec::new(),
                gc_time: "00:00:00+00:00".into(),
                vulnerability_scanning: false,
                api_subnet_allow_list: Vec::new(),
            },
            audit: audit.clone(),
        };
        store.insert_registry(&registry, 1).await.unwrap();
        const TOKENS: u64 = 3000;
        let tokens: Vec<RegistryTokenRecord> = (0..TOKENS)
            .map(|i| RegistryTokenRecord {
                id: format!("t{i:05}"),
                contract_number: CONTRACT,
                registry_id: "r".into(),
                name: format!("n{i:05}"),
                password_digest: String::new(),
                settings: TokenSettings {
                    status: "enabled".into(),
                    expires_at: None,
                    scopes: Vec::new(),
                },
                audit: audit.clone(),
            })
            .collect();
        store.insert_registry_tokens(&tokens).await.unwrap();

        let ((last, total), steps) = page(&store, TOKENS - 1).await;
        assert_eq!((last.len(), total), (1, TOKENS));
        assert!(steps > 0, "the step counter counts");
        for offset in [TOKENS, TOKENS + 1, 1 << 40] {
            let ((items, total), steps) = page(&store, offset).await;
            assert_eq!((items.len(), total), (0, TOKENS));
            assert!(
                steps < 100,
                "offset {offset}: {steps} SQLite steps for an empty page of {TOKENS} tokens"
            );
        }
    }
}
