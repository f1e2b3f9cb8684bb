//! Container registries, each owned by one contract.
//!
//! Every read and write names the caller's contract, so a registry of
//! another contract is indistinguishable from one that does not exist: ids
//! are unique per contract only. Names are unique across contracts and
//! claimed in `registry_names`, which also holds a deleted registry's name
//! for its former contract during the quarantine.

use super::columns::{Assignments, Columns};

use super::{AUDIT_COLUMNS, Audit, Change, Store, StoreError, StoreResult};

/// What a registry's owner may change after creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySettings {
    pub gc_days: Vec<String>,
    pub gc_time: String,
    pub vulnerability_scanning: bool,
    pub api_subnet_allow_list: Vec<String>,
}

/// A registry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRecord {
    pub id: String,
    pub contract_number: i32,
    pub name: String,
    pub location: String,
    pub settings: RegistrySettings,
    pub audit: Audit,
}

/// One page of a contract's registries, and where the next one starts.
#[derive(Debug, Clone)]
pub struct RegistryPage {
    pub items: Vec<RegistryRecord>,
    /// `(created_at, id)` of the last item, when more items follow.
    pub next_after: Option<(i64, String)>,
}

const COLUMNS: &str = "id, contract_number, name, location, gc_days, gc_time, vulnerability_scanning, \
     api_subnet_allow_list, created_at, created_by, created_by_user_id, modified_at, modified_by, modified_by_user_id";

/// A change to some of a registry's settings: `None` leaves a setting as
/// it is, so concurrent changes of different settings never undo each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryPatch {
    /// Garbage-collection days and time, changed together.
    pub gc_schedule: Option<(Vec<String>, String)>,
    pub vulnerability_scanning: Option<bool>,
    pub api_subnet_allow_list: Option<Vec<String>>,
}

impl Store {
    /// Creates a registry, claiming its name: a name in use anywhere, or
    /// held for another contract after its registry was deleted (until its
    /// release time, compared with `now`), is [`StoreError::Conflict`], as
    /// is an id the contract already uses.
    pub async fn insert_registry(&self, registry: &RegistryRecord, now: i64) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO registry_names (name, contract_number, released_at) VALUES ($1, $2, NULL) \
             ON CONFLICT (name) DO UPDATE SET contract_number = excluded.contract_number, released_at = NULL \
             WHERE registry_names.released_at IS NOT NULL \
             AND (registry_names.contract_number = excluded.contract_number OR registry_names.released_at <= $3)",
        )
        .bind(&registry.name)
        .bind(i64::from(registry.contract_number))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Err(StoreError::Conflict);
        }
        let sql = format!(
            "INSERT INTO registries (id, contract_number, name, location, gc_days, gc_time, \
             vulnerability_scanning, api_subnet_allow_list, {AUDIT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        let s = &registry.settings;
        let a = &registry.audit;
        sqlx::query(&sql)
            .bind(&registry.id)
            .bind(i64::from(registry.contract_number))
            .bind(&registry.name)
            .bind(&registry.location)
            .bind(s.gc_days.join(","))
            .bind(&s.gc_time)
            .bind(i64::from(s.vulnerability_scanning))
            .bind(to_json(&s.api_subnet_allow_list))
            .bind(a.created_at)
            .bind(&a.created_by)
            .bind(&a.created_by_user_id)
            .bind(a.modified_at)
            .bind(a.modified_by.clone())
            .bind(a.modified_by_user_id.clone())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The contract's registry with this id.
    pub async fn find_registry(
        &self,
        contract: i32,
        id: &str,
    ) -> StoreResult<Option<RegistryRecord>> {
        let sql =
            format!("SELECT {COLUMNS} FROM registries WHERE id = $1 AND contract_number = $2");
        if let Some(reads) = self.reads() {
            return reads.optional(&sql, rusqlite::params![id, i64::from(contract)], |r| {
                registry_from_row(r)
            });
        }
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(i64::from(contract))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(registry_from_row).transpose()
    }

    /// Whether `contract` cannot create a registry of this name at `now`:
    /// a registry has it, or it is held for another contract.
    pub async fn registry_name_taken(
        &self,
        name: &str,
        contract: i32,
        now: i64,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM registry_names WHERE name = $1 \
             AND (released_at IS NULL OR (released_at > $2 AND contract_number <> $3))",
        )
        .bind(name)
        .bind(now)
        .bind(i64::from(contract))
        .fetch_one(self.pool())
        .await?;
        Ok(row.get::<i64>("n")? > 0)
    }

    /// Up to `limit` registries of the contract in creation order, after the
    /// `(created_at, id)` keyset position, whose names contain `name_filter`.
    pub async fn list_registries(
        &self,
        contract: i32,
        name_filter: Option<&str>,
        after: Option<(i64, String)>,
        limit: u64,
    ) -> StoreResult<RegistryPage> {
        let pattern = format!("%{}%", escape_like(name_filter.unwrap_or_default()));
        let (after_at, after_id) = after.unwrap_or((i64::MIN, String::new()));
        let sql = format!(
            "SELECT {COLUMNS} FROM registries \
             WHERE contract_number = $1 AND name LIKE $2 ESCAPE '\\' \
             AND (created_at > $3 OR (created_at = $3 AND id > $4)) \
             ORDER BY created_at, id LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::from(contract))
            .bind(pattern)
            .bind(after_at)
            .bind(after_id)
            .bind(limit as i64 + 1)
            .fetch_all(self.pool())
            .await?;
        let mut items = rows
            .iter()
            .map(registry_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let more = items.len() as u64 > limit;
        items.truncate(limit as usize);
        let next_after = more
            .then(|| items.last().map(|r| (r.audit.created_at, r.id.clone())))
            .flatten();
        Ok(RegistryPage { items, next_after })
    }

    /// Replaces the changeable settings (a `PUT`); false if the contract
    /// has no such registry.
    pub async fn update_registry(
        &self,
        contract: i32,
        id: &str,
        settings: &RegistrySettings,
        change: &Change,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE registries SET gc_days = $1, gc_time = $2, vulnerability_scanning = $3, \
             api_subnet_allow_list = $4, modified_at = $5, modified_by = $6, modified_by_user_id = $7 \
             WHERE id = $8 AND contract_number = $9",
        )
        .bind(settings.gc_days.join(","))
        .bind(&settings.gc_time)
        .bind(i64::from(settings.vulnerability_scanning))
        .bind(to_json(&settings.api_subnet_allow_list))
        .bind(change.at)
        .bind(&change.by)
        .bind(&change.by_user_id)
        .bind(id)
        .bind(i64::from(contract))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Writes only the settings `patch` names (a `PATCH`) in one statement
    /// and answers the registry as it is after the write; `None` if the
    /// contract has no such registry.
    pub async fn patch_registry(
        &self,
        contract: i32,
        id: &str,
        patch: &RegistryPatch,
        change: &Change,
    ) -> StoreResult<Option<RegistryRecord>> {
        let mut set = Assignments::default();
        if let Some((days, time)) = &patch.gc_schedule {
            set.text("gc_days", days.join(","));
            set.text("gc_time", time.clone());
        }
        if let Some(enabled) = patch.vulnerability_scanning {
            set.int("vulnerability_scanning", Some(i64::from(enabled)));
        }
        if let Some(list) = &patch.api_subnet_allow_list {
            set.text("api_subnet_allow_list", to_json(list));
        }
        set.change(change);
        let sql = format!(
            "UPDATE registries SET {} WHERE id = ${} AND contract_number = ${} RETURNING {COLUMNS}",
            set.clause(),
            set.count() + 1,
            set.count() + 2
        );
        let row = set
            .bind(sqlx::query(&sql))
            .bind(id)
            .bind(i64::from(contract))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(registry_from_row).transpose()
    }

    /// Deletes a registry with its tokens; false if there was none. Its
    /// name stays held for its contract until `name_released_at`.
    pub async fn delete_registry(
        &self,
        contract: i32,
        id: &str,
        name_released_at: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        let deleted = sqlx::query(
            "DELETE FROM registries WHERE id = $1 AND contract_number = $2 RETURNING name",
        )
        .bind(id)
        .bind(i64::from(contract))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = deleted else {
            return Ok(false);
        };
        let name: String = row.get("name")?;
        sqlx::query("UPDATE registry_names SET released_at = $1 WHERE name = $2")
            .bind(name_released_at)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(
    column: &str,
    text: &str,
) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("column {column}: {e}").into()))
}

fn registry_from_row(row: &impl Columns) -> StoreResult<RegistryRecord> {
    let id = row.get("id")?;
    let contract: i64 = row.get("contract_number")?;
    let name = row.get("name")?;
    let location = row.get("location")?;
    let gc_days: String = row.get("gc_days")?;
    let gc_time = row.get("gc_time")?;
    let vulnerability_scanning = row.get::<i64>("vulnerability_scanning")? != 0;
    let allow_list: String = row.get("api_subnet_allow_list")?;
    Ok(RegistryRecord {
        id,
        contract_number: contract as i32,
        name,
        location,
        settings: RegistrySettings {
            gc_days: gc_days
                .split(',')
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
            gc_time,
            vulnerability_scanning,
            api_subnet_allow_list: from_json("api_subnet_allow_list", &allow_list)?,
        },
        audit: Audit::from_row(row)?,
    })
}
