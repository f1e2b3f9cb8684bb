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

use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::RegistryId;

use super::columns::Columns;
use super::query::{FromRow, Param, bind};
use super::registry_tokens::{PAGE_SQL, RegistryTokenRecord};
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
type RegistryKey = (ContractNumber, RegistryId);

/// The marks this node remembers, by registry.
#[derive(Debug, Default)]
pub(super) struct PageMarks {
    by_registry: Mutex<HashMap<RegistryKey, Arc<Marks>>>,
}

impl PageMarks {
    /// The marks of `registry_id` at `version`: the remembered ones, or
    /// new empty ones that replace an older version's. A reader that saw
    /// an older version than this node knows gets its own, unremembered.
    fn at_version(&self, registry: (ContractNumber, &RegistryId), version: i64) -> Arc<Marks> {
        let fresh = || {
            Arc::new(Marks {
                version,
                keys: OnceCell::new(),
            })
        };
        let Ok(mut by_registry) = self.by_registry.lock() else {
            return fresh();
        };
        let key = (registry.0, registry.1.clone());
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
        .map_err(StoreError::backend)?
}

/// A registry's token count and the version of its token order.
struct TokenStats {
    count: i64,
    version: i64,
}

impl FromRow for TokenStats {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        Ok(TokenStats {
            count: row.get("token_count")?,
            version: row.get("tokens_version")?,
        })
    }
}

/// The `(created_at, id)` key of a token in list order.
struct Key((i64, String));

impl FromRow for Key {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        Ok(Key((row.get("created_at")?, row.get("id")?)))
    }
}

impl Store {
    /// One page of the registry's tokens in creation order, with the total.
    /// An offset at or past the end answers an empty page without reading
    /// a single token.
    pub async fn list_registry_tokens(
        &self,
        contract: ContractNumber,
        registry_id: &RegistryId,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<RegistryTokenRecord>, u64)> {
        let registry = (contract, registry_id);
        let registry_params = [Param::contract(contract), Param::str(registry_id.as_str())];
        let Some(stats) = self
            .read_optional::<TokenStats>(STATS_SQL, &registry_params)
            .await?
        else {
            return Ok((Vec::new(), 0));
        };
        let total = stats.count.max(0) as u64;
        if offset >= total {
            return Ok((Vec::new(), total));
        }
        let mut after = (START.0, START.1.to_owned());
        let mut skip = offset;
        if offset >= MARK_EVERY {
            let marks = self.page_marks.at_version(registry, stats.version);
            let keys = marks
                .keys
                .get_or_try_init(|| self.scan_marks(registry))
                .await?;
            if let Some(mark) = keys.get((offset / MARK_EVERY) as usize) {
                after = mark.clone();
                skip = offset % MARK_EVERY;
            }
        }
        // Bounded work (fewer than 1024 entries skipped, at most `limit`
        // read), so it runs on the calling thread like the other lookups.
        let [contract_param, registry_param] = registry_params;
        let page = [
            contract_param,
            registry_param,
            Param::int(after.0),
            Param::string(after.1),
            Param::int(limit as i64),
            Param::int(skip as i64),
        ];
        let items = self.read_all(PAGE_SQL, &page).await?;
        Ok((items, total))
    }

    /// The key of every [`MARK_EVERY`]th token of the registry, in order.
    async fn scan_marks(
        &self,
        registry: (ContractNumber, &RegistryId),
    ) -> StoreResult<Vec<(i64, String)>> {
        let (contract, registry_id) = (registry.0, registry.1.as_str().to_owned());
        if let Some(reads) = self.reads.clone() {
            return on_reads(reads, move |reads| {
                let params = [Param::contract(contract), Param::str(&registry_id)];
                let params = rusqlite::params_from_iter(&params);
                reads.every_nth(KEYS_SQL, params, MARK_EVERY as usize, |r| {
                    Key::from_row(r).map(|k| k.0)
                })
            })
            .await;
        }
        let params = [Param::contract(contract), Param::str(&registry_id)];
        let rows = bind(sqlx::query(MARKS_SQL), &params)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Key::from_row(r).map(|k| k.0)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::sqlite_reads::VM_STEPS;
    use super::*;
    use crate::store::{Membership, NewUser, RegistryRecord, Stamps, TokenSettings};
    use tollgate_api::account::{Email, Role, UserId};
    use tollgate_api::registry_rules::{RegistryName, TokenId, TokenName, TokenStatus};

    fn contract() -> ContractNumber {
        ContractNumber::new(31_000_001).unwrap()
    }

    /// A page and the SQLite steps it took (the test runtime has one
    /// thread, and the SQLite read path runs queries on the calling thread).
    async fn page(
        store: &Store,
        registry: &RegistryId,
        offset: u64,
    ) -> ((Vec<RegistryTokenRecord>, u64), u64) {
        VM_STEPS.with(|s| s.set(0));
        let page = store
            .list_registry_tokens(contract(), registry, offset, 10)
            .await
            .unwrap();
        (page, VM_STEPS.with(|s| s.get()))
    }

    #[tokio::test]
    async fn a_page_at_or_past_the_end_reads_no_token() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        let stamps = Stamps {
            created_at: 1,
            created_by: "a@example.com".into(),
            created_by_user_id: "u".into(),
            modified_at: None,
            modified_by: None,
            modified_by_user_id: None,
        };
        store
            .create_user(
                &NewUser {
                    id: UserId::from("u".to_owned()),
                    email: Email::parse("a@example.com").unwrap(),
                    password_hash: "x".into(),
                    memberships: vec![Membership {
                        contract: contract(),
                        role: Role::Owner,
                        privileges: Vec::new(),
                    }],
                    created_at: 1,
                },
                &[],
            )
            .await
            .unwrap();
        let registry = RegistryRecord {
            id: RegistryId::generate(),
            contract: contract(),
            name: RegistryName::parse("name", "reg").unwrap(),
            location: "de/fra".into(),
            settings: Default::default(),
            stamps: stamps.clone(),
            storage: Default::default(),
        };
        let event = crate::audit::Event::by_operator(
            None,
            1,
            "registry.created",
            ("registry", registry.id.as_str()),
            serde_json::json!({}),
        );
        store.insert_registry(&registry, 1, &event).await.unwrap();
        const TOKENS: u64 = 3000;
        let tokens: Vec<RegistryTokenRecord> = (0..TOKENS)
            .map(|i| RegistryTokenRecord {
                id: TokenId::generate(),
                contract: contract(),
                registry_id: registry.id.clone(),
                name: TokenName::parse("name", &format!("n{i:05}")).unwrap(),
                password_digest: String::new(),
                settings: TokenSettings {
                    status: TokenStatus::Enabled,
                    expires_at: None,
                    scopes: Vec::new(),
                },
                stamps: stamps.clone(),
                last_use: Default::default(),
                previous_valid_until: None,
            })
            .collect();
        store.insert_registry_tokens(&tokens, &[]).await.unwrap();

        let ((last, total), steps) = page(&store, &registry.id, TOKENS - 1).await;
        assert_eq!((last.len(), total), (1, TOKENS));
        assert!(steps > 0, "the step counter counts");
        for offset in [TOKENS, TOKENS + 1, 1 << 40] {
            let ((items, total), steps) = page(&store, &registry.id, offset).await;
            assert_eq!((items.len(), total), (0, TOKENS));
            assert!(
                steps < 100,
                "offset {offset}: {steps} SQLite steps for an empty page of {TOKENS} tokens"
            );
        }
    }
}
