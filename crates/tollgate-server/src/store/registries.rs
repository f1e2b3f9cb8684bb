//! Container registries, each owned by one contract.
//!
//! Every read and write names the caller's contract, so a registry of
//! another contract is indistinguishable from one that does not exist: ids
//! are unique per contract only. Names are unique across contracts and
//! claimed in `registry_names`, which also holds a deleted registry's name
//! for its former contract during the quarantine.

use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::{GcSchedule, RegistryId, RegistryName, Subnet};

use super::audit::{AuditEvent, insert_events};
use super::columns::{Columns, contract, parsed};
use super::query::{Assignments, Count, FromRow, Param, bind};
use super::{Change, Stamps, Store, StoreError, StoreResult, stamp_columns};

/// What a registry's owner may change after creation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySettings {
    pub gc: GcSchedule,
    pub vulnerability_scanning: bool,
    /// `apiSubnetAllowList` (empty: any address).
    pub allow_list: Vec<Subnet>,
}

/// A registry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRecord {
    pub id: RegistryId,
    pub contract: ContractNumber,
    pub name: RegistryName,
    pub location: String,
    pub settings: RegistrySettings,
    pub stamps: Stamps,
    /// What its blobs and manifests take, as its notifications report them.
    pub storage: StorageUse,
}

/// A registry's storage: bytes, and when they were last summed (never: `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageUse {
    pub bytes: i64,
    pub updated_at: Option<i64>,
}

/// One page of a contract's registries, and where the next one starts.
#[derive(Debug, Clone)]
pub struct RegistryPage {
    pub items: Vec<RegistryRecord>,
    /// `(created_at, id)` of the last item, when more items follow.
    pub next_after: Option<(i64, String)>,
}

/// A change to some of a registry's settings: `None` leaves a setting as
/// it is, so concurrent changes of different settings never undo each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryPatch {
    pub gc: Option<GcSchedule>,
    pub vulnerability_scanning: Option<bool>,
    pub allow_list: Option<Vec<Subnet>>,
}

/// The patch that sets every setting to `settings`.
impl From<RegistrySettings> for RegistryPatch {
    fn from(settings: RegistrySettings) -> Self {
        RegistryPatch {
            gc: Some(settings.gc),
            vulnerability_scanning: Some(settings.vulnerability_scanning),
            allow_list: Some(settings.allow_list),
        }
    }
}

macro_rules! registry_columns {
    () => {
        concat!(
            "id, contract_number, name, location, gc_days, gc_time, vulnerability_scanning, ",
            "api_subnet_allow_list, ",
            stamp_columns!(),
            ", storage_bytes, storage_updated_at"
        )
    };
}

/// `SELECT <every column> FROM registries` followed by a condition, as a
/// `&'static str` (no statement text is built per request).
macro_rules! select {
    ($condition:literal) => {
        concat!(
            "SELECT ",
            registry_columns!(),
            " FROM registries",
            $condition
        )
    };
}

impl Store {
    /// Creates a registry, claiming its name, and records `event`: a name
    /// in use anywhere, or held for another contract after its registry was
    /// deleted (until its release time, compared with `now`), is
    /// [`StoreError::Conflict`], as is an id the contract already uses.
    pub async fn insert_registry(
        &self,
        registry: &RegistryRecord,
        now: i64,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        let claim = [
            Param::str(registry.name.as_str()),
            Param::contract(registry.contract),
            Param::int(now),
        ];
        let claimed = bind(
            sqlx::query(
                "INSERT INTO registry_names (name, contract_number, released_at) VALUES ($1, $2, NULL) \
                 ON CONFLICT (name) DO UPDATE SET contract_number = excluded.contract_number, released_at = NULL \
                 WHERE registry_names.released_at IS NOT NULL \
                 AND (registry_names.contract_number = excluded.contract_number OR registry_names.released_at <= $3)",
            ),
            &claim,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Err(StoreError::Conflict);
        }
        let s = &registry.settings;
        let mut row = vec![
            Param::str(registry.id.as_str()),
            Param::contract(registry.contract),
            Param::str(registry.name.as_str()),
            Param::str(&registry.location),
            Param::string(s.gc.days().join(",")),
            Param::str(s.gc.time()),
            Param::int(i64::from(s.vulnerability_scanning)),
            Param::string(allow_list_json(&s.allow_list)),
        ];
        row.extend(registry.stamps.params());
        row.push(Param::int(registry.storage.bytes));
        row.push(Param::opt_int(registry.storage.updated_at));
        const INSERT: &str = concat!(
            "INSERT INTO registries (",
            registry_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        bind(sqlx::query(INSERT), &row).execute(&mut *tx).await?;
        insert_events(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The contract's registry with this id.
    pub async fn find_registry(
        &self,
        contract: ContractNumber,
        id: &RegistryId,
    ) -> StoreResult<Option<RegistryRecord>> {
        let sql = select!(" WHERE id = $1 AND contract_number = $2");
        let params = [Param::str(id.as_str()), Param::contract(contract)];
        self.read_optional(sql, &params).await
    }

    /// Whether `contract` cannot create a registry of this name at `now`:
    /// a registry has it, or it is held for another contract.
    pub async fn registry_name_taken(
        &self,
        name: &RegistryName,
        contract: ContractNumber,
        now: i64,
    ) -> StoreResult<bool> {
        let params = [
            Param::str(name.as_str()),
            Param::int(now),
            Param::contract(contract),
        ];
        let count: Option<Count> = self
            .read_optional(
                "SELECT COUNT(*) AS n FROM registry_names WHERE name = $1 \
                 AND (released_at IS NULL OR (released_at > $2 AND contract_number <> $3))",
                &params,
            )
            .await?;
        Ok(count.is_some_and(|c| c.0 > 0))
    }

    /// Up to `limit` registries of the contract in creation order, after the
    /// `(created_at, id)` keyset position, whose names contain `name_filter`.
    pub async fn list_registries(
        &self,
        contract: ContractNumber,
        name_filter: Option<&str>,
        after: Option<(i64, String)>,
        limit: u64,
    ) -> StoreResult<RegistryPage> {
        let pattern = format!("%{}%", escape_like(name_filter.unwrap_or_default()));
        let (after_at, after_id) = after.unwrap_or((i64::MIN, String::new()));
        let sql = select!(
            " WHERE contract_number = $1 AND name LIKE $2 ESCAPE '\\' \
             AND (created_at > $3 OR (created_at = $3 AND id > $4)) \
             ORDER BY created_at, id LIMIT $5"
        );
        let params = [
            Param::contract(contract),
            Param::string(pattern),
            Param::int(after_at),
            Param::string(after_id),
            Param::int(limit as i64 + 1),
        ];
        let mut items: Vec<RegistryRecord> = self.read_all(sql, &params).await?;
        let more = items.len() as u64 > limit;
        items.truncate(limit as usize);
        let next_after = more
            .then(|| {
                items
                    .last()
                    .map(|r| (r.stamps.created_at, r.id.as_str().to_owned()))
            })
            .flatten();
        Ok(RegistryPage { items, next_after })
    }

    /// Writes only the settings `patch` names, in one statement, records
    /// `event`, and answers the registry as it is after the write; `None`
    /// if the contract has no such registry. A `PUT` is a patch of every setting.
    pub async fn patch_registry(
        &self,
        contract: ContractNumber,
        id: &RegistryId,
        patch: &RegistryPatch,
        change: &Change,
        event: &AuditEvent,
    ) -> StoreResult<Option<RegistryRecord>> {
        let mut set = Assignments::default();
        if let Some(gc) = &patch.gc {
            set.set("gc_days", Param::string(gc.days().join(",")));
            set.set("gc_time", Param::str(gc.time()));
        }
        if let Some(enabled) = patch.vulnerability_scanning {
            set.set("vulnerability_scanning", Param::int(i64::from(enabled)));
        }
        if let Some(list) = &patch.allow_list {
            set.set(
                "api_subnet_allow_list",
                Param::string(allow_list_json(list)),
            );
        }
        set.change(change);
        let (assignments, next) = set.clause();
        let sql = format!(
            "UPDATE registries SET {assignments} WHERE id = ${next} AND contract_number = ${} \
             RETURNING {}",
            next + 1,
            registry_columns!()
        );
        let mut params = set.into_params();
        params.extend([Param::str(id.as_str()), Param::contract(contract)]);
        self.write_returning_recorded(&sql, &params, event).await
    }

    /// Deletes a registry with its tokens and records `event`; false if
    /// there was none. Its name stays held for its contract until `name_released_at`.
    pub async fn delete_registry(
        &self,
        contract: ContractNumber,
        id: &RegistryId,
        name_released_at: i64,
        event: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        let params = [Param::str(id.as_str()), Param::contract(contract)];
        let deleted = bind(
            sqlx::query(
                "DELETE FROM registries WHERE id = $1 AND contract_number = $2 RETURNING name",
            ),
            &params,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = deleted else {
            return Ok(false);
        };
        let name: String = row.get("name")?;
        let release = [Param::int(name_released_at), Param::string(name)];
        bind(
            sqlx::query("UPDATE registry_names SET released_at = $1 WHERE name = $2"),
            &release,
        )
        .execute(&mut *tx)
        .await?;
        insert_events(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The contract and id of the registry named `name`, if there is one.
    pub async fn registry_by_name(
        &self,
        name: &str,
    ) -> StoreResult<Option<(ContractNumber, RegistryId)>> {
        let sql = "SELECT contract_number, id FROM registries WHERE name = $1";
        let found: Option<RegistryKey> = self.read_optional(sql, &[Param::str(name)]).await?;
        Ok(found.map(|key| (key.contract, key.id)))
    }
}

/// A registry as its event notifications authenticate: whose it is, and
/// the digest of the secret its notifications carry (if one was made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierLogin {
    pub contract: ContractNumber,
    pub id: RegistryId,
    pub secret_digest: Option<String>,
}

impl Store {
    /// Connects the registry named `name`: a new notifications secret (its
    /// digest), replacing any earlier one, and the address of its HTTP API;
    /// records `event`. `None` when there is no such registry.
    pub async fn connect_registry(
        &self,
        name: &str,
        secret_digest: &str,
        api_url: &str,
        event: impl Fn(ContractNumber, &RegistryId) -> AuditEvent,
    ) -> StoreResult<Option<(ContractNumber, RegistryId)>> {
        let Some((contract, id)) = self.registry_by_name(name).await? else {
            return Ok(None);
        };
        let params = [
            Param::str(secret_digest),
            Param::str(api_url),
            Param::contract(contract),
            Param::str(id.as_str()),
        ];
        let changed = self
            .execute_recorded(
                "UPDATE registries SET events_secret_digest = $1, api_url = $2 \
                 WHERE contract_number = $3 AND id = $4",
                &params,
                &[event(contract, &id)],
            )
            .await?;
        Ok((changed == 1).then_some((contract, id)))
    }

    /// Every registry whose HTTP API Tollgate knows: contract, id, name, address.
    pub async fn connected_registries(&self) -> StoreResult<Vec<ConnectedRegistry>> {
        self.read_all(
            "SELECT contract_number, id, name, api_url FROM registries WHERE api_url IS NOT NULL \
             ORDER BY contract_number, id",
            &[],
        )
        .await
    }

    /// The address of a registry's HTTP API, if Tollgate knows it.
    pub async fn registry_api_url(
        &self,
        contract: ContractNumber,
        id: &RegistryId,
    ) -> StoreResult<Option<ConnectedRegistry>> {
        let params = [Param::contract(contract), Param::str(id.as_str())];
        self.read_optional(
            "SELECT contract_number, id, name, api_url FROM registries \
             WHERE contract_number = $1 AND id = $2 AND api_url IS NOT NULL",
            &params,
        )
        .await
    }

    /// What the notifications of the registry named `name` are checked against.
    pub async fn registry_notifier(&self, name: &str) -> StoreResult<Option<NotifierLogin>> {
        self.read_optional(
            "SELECT contract_number, id, events_secret_digest FROM registries WHERE name = $1",
            &[Param::str(name)],
        )
        .await
    }
}

/// A registry whose HTTP API Tollgate reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedRegistry {
    pub contract: ContractNumber,
    pub id: RegistryId,
    pub name: RegistryName,
    pub api_url: String,
}

impl FromRow for ConnectedRegistry {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let key = RegistryKey::from_row(row)?;
        let name: String = row.get("name")?;
        Ok(ConnectedRegistry {
            contract: key.contract,
            id: key.id,
            name: parsed("name", RegistryName::parse_owned("name", name))?,
            api_url: row.get("api_url")?,
        })
    }
}

impl FromRow for NotifierLogin {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let key = RegistryKey::from_row(row)?;
        Ok(NotifierLogin {
            contract: key.contract,
            id: key.id,
            secret_digest: row.get("events_secret_digest")?,
        })
    }
}

/// Whose a registry is and its id: all a refused login's event needs.
struct RegistryKey {
    contract: ContractNumber,
    id: RegistryId,
}

impl FromRow for RegistryKey {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let contract = contract(row, "contract_number")?;
        let id: String = row.get("id")?;
        Ok(RegistryKey {
            contract,
            id: parsed("id", RegistryId::parse_owned("id", id))?,
        })
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(super) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The allow list column: a JSON array of the entries as given.
fn allow_list_json(list: &[Subnet]) -> String {
    let entries: Vec<&str> = list.iter().map(Subnet::as_str).collect();
    serde_json::to_string(&entries).unwrap_or_else(|_| "[]".to_owned())
}

/// Reads the allow list column back, entry by entry.
pub(super) fn allow_list_from(json: &str) -> StoreResult<Vec<Subnet>> {
    let entries: Vec<String> = parsed("api_subnet_allow_list", serde_json::from_str(json))?;
    entries
        .into_iter()
        .map(|e| {
            parsed(
                "api_subnet_allow_list",
                Subnet::parse_owned("apiSubnetAllowList", e),
            )
        })
        .collect()
}

/// Reads the columns in `registry_columns!()` order.
impl FromRow for RegistryRecord {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let id: String = row.get("id")?;
        let contract = contract(row, "contract_number")?;
        let name: String = row.get("name")?;
        let location = row.get("location")?;
        let gc_days: String = row.get("gc_days")?;
        let gc_time: String = row.get("gc_time")?;
        let vulnerability_scanning = row.get::<i64>("vulnerability_scanning")? != 0;
        let allow_list: String = row.get("api_subnet_allow_list")?;
        let days: Vec<String> = gc_days
            .split(',')
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(RegistryRecord {
            id: parsed("id", RegistryId::parse_owned("id", id))?,
            contract,
            name: parsed("name", RegistryName::parse_owned("name", name))?,
            location,
            settings: RegistrySettings {
                gc: parsed("gc_days", GcSchedule::parse("gc", &days, &gc_time))?,
                vulnerability_scanning,
                allow_list: allow_list_from(&allow_list)?,
            },
            stamps: Stamps::from_row(row)?,
            storage: StorageUse {
                bytes: row.get("storage_bytes")?,
                updated_at: row.get("storage_updated_at")?,
            },
        })
    }
}
