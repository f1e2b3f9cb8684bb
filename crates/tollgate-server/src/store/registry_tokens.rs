//! Registry tokens: scoped, expiring, revocable credentials of one registry.
//!
//! Only a SHA-256 digest of each password is stored. Callers reach tokens
//! through a registry they already proved is theirs; a token is named by its
//! contract, registry and id (ids are unique per registry only). Scopes are
//! kept in the store's own JSON form ([`StoredScope`]), not the wire's.

use serde::{Deserialize, Serialize};
use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::{RegistryId, Subnet, TokenId, TokenName, TokenStatus};
use tollgate_api::repository::{Action, RepositoryPattern, ScopeRule};

use super::audit::{AuditEvent, insert_events};
use super::columns::{Columns, contract, parsed};
use super::query::{Assignments, FromRow, Param, bind};
use super::registries::allow_list_from;
use super::token_uses::LastUse;
use super::{Change, Stamps, Store, StoreError, StoreResult, stamp_columns};

/// What `PUT` and `PATCH` may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    pub status: TokenStatus,
    pub expires_at: Option<i64>,
    pub scopes: Vec<ScopeRule>,
}

/// A change to some of a token's settings: `None` leaves a setting as it
/// is, so concurrent changes of different settings never undo each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenPatch {
    pub status: Option<TokenStatus>,
    /// `Some(None)` removes the expiry date.
    pub expires_at: Option<Option<i64>>,
    pub scopes: Option<Vec<ScopeRule>>,
}

impl From<&TokenSettings> for TokenPatch {
    /// A patch of every setting: what a `PUT` writes.
    fn from(settings: &TokenSettings) -> Self {
        TokenPatch {
            status: Some(settings.status),
            expires_at: Some(settings.expires_at),
            scopes: Some(settings.scopes.clone()),
        }
    }
}

/// A registry token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryTokenRecord {
    pub id: TokenId,
    pub contract: ContractNumber,
    pub registry_id: RegistryId,
    pub name: TokenName,
    /// Lower-case hex SHA-256 of the password.
    pub password_digest: String,
    pub settings: TokenSettings,
    pub stamps: Stamps,
    pub last_use: LastUse,
    /// Until when the password before the last rotation still works.
    pub previous_valid_until: Option<i64>,
}

/// What a registry login needs of a token, with its registry's allow list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginToken {
    pub id: TokenId,
    pub contract: ContractNumber,
    pub registry_id: RegistryId,
    pub name: TokenName,
    /// Lower-case hex SHA-256 of the password.
    pub password_digest: String,
    /// The password before the last rotation, and until when it works.
    pub previous_password: Option<(String, i64)>,
    pub settings: TokenSettings,
    /// The registry's `apiSubnetAllowList` (empty: any address).
    pub allow_list: Vec<Subnet>,
}

/// The columns a new token is written with.
macro_rules! written_columns {
    () => {
        concat!(
            "id, contract_number, registry_id, name, password_digest, status, expires_at, scopes, ",
            stamp_columns!()
        )
    };
}

/// The columns a token is read with: those written, and what its use and
/// rotations add later.
macro_rules! token_columns {
    () => {
        concat!(
            written_columns!(),
            ", last_used_at, last_used_from, previous_valid_until"
        )
    };
}

/// A token and its registry's allow list, found by registry name and one
/// token column, in one indexed lookup. Only the columns a login uses are
/// read: this runs on every `docker pull`.
macro_rules! login_sql {
    ($column:literal) => {
        concat!(
            "SELECT t.id, t.contract_number, t.registry_id, t.name, t.password_digest, ",
            "t.previous_password_digest, t.previous_valid_until, t.status, t.expires_at, t.scopes, ",
            "r.api_subnet_allow_list ",
            "FROM registry_tokens t JOIN registries r ",
            "ON r.contract_number = t.contract_number AND r.id = t.registry_id ",
            "WHERE r.name = $1 AND ",
            $column,
            " = $2"
        )
    };
}

/// A page after a `(created_at, id)` key, skipping `$6` more tokens.
pub(super) const PAGE_SQL: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM registry_tokens WHERE contract_number = $1 AND registry_id = $2 ",
    "AND (created_at, id) >= ($3, $4) ORDER BY created_at, id LIMIT $5 OFFSET $6"
);

impl Store {
    /// Creates a token, counts it in its registry and records `event`,
    /// atomically. A name or an id taken in the registry is `Conflict`; a
    /// registry deleted meanwhile is `MissingParent`.
    pub async fn insert_registry_token(
        &self,
        token: &RegistryTokenRecord,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        self.insert_registry_tokens(std::slice::from_ref(token), std::slice::from_ref(event))
            .await
    }

    /// Imports many tokens, and the events that record them, in one
    /// transaction (bulk loads, benchmarks).
    pub async fn insert_registry_tokens(
        &self,
        tokens: &[RegistryTokenRecord],
        events: &[AuditEvent],
    ) -> StoreResult<()> {
        const INSERT: &str = concat!(
            "INSERT INTO registry_tokens (",
            written_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        let mut tx = self.pool().begin().await?;
        for token in tokens {
            let mut row = vec![
                Param::str(token.id.as_str()),
                Param::contract(token.contract),
                Param::str(token.registry_id.as_str()),
                Param::str(token.name.as_str()),
                Param::str(&token.password_digest),
                Param::str(token.settings.status.as_str()),
                Param::opt_int(token.settings.expires_at),
                Param::string(scopes_json(&token.settings.scopes)),
            ];
            row.extend(token.stamps.params());
            bind(sqlx::query(INSERT), &row).execute(&mut *tx).await?;
        }
        let mut per_registry: Vec<((ContractNumber, &RegistryId), i64)> = Vec::new();
        for token in tokens {
            let registry = (token.contract, &token.registry_id);
            match per_registry.iter_mut().find(|(key, _)| *key == registry) {
                Some((_, n)) => *n += 1,
                None => per_registry.push((registry, 1)),
            }
        }
        for ((contract, registry_id), added) in per_registry {
            count_tokens(&mut tx, contract, registry_id, added).await?;
        }
        insert_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn find_registry_token(
        &self,
        contract: ContractNumber,
        registry_id: &RegistryId,
        token_id: &TokenId,
    ) -> StoreResult<Option<RegistryTokenRecord>> {
        const SQL: &str = concat!(
            "SELECT ",
            token_columns!(),
            " FROM registry_tokens WHERE contract_number = $1 AND registry_id = $2 AND id = $3"
        );
        let params = [
            Param::contract(contract),
            Param::str(registry_id.as_str()),
            Param::str(token_id.as_str()),
        ];
        self.read_optional(SQL, &params).await
    }

    /// Writes only the settings `patch` names, in one statement, records
    /// `event`, and answers the token as it is after the write; `None` if
    /// it is gone. A `PUT` is a patch of every setting.
    pub async fn patch_registry_token(
        &self,
        contract: ContractNumber,
        registry_id: &RegistryId,
        token_id: &TokenId,
        patch: &TokenPatch,
        change: &Change,
        event: &AuditEvent,
    ) -> StoreResult<Option<RegistryTokenRecord>> {
        let mut set = Assignments::default();
        if let Some(status) = patch.status {
            set.set("status", Param::str(status.as_str()));
        }
        if let Some(expires_at) = patch.expires_at {
            set.set("expires_at", Param::opt_int(expires_at));
        }
        if let Some(scopes) = &patch.scopes {
            set.set("scopes", Param::string(scopes_json(scopes)));
        }
        set.change(change);
        let (assignments, next) = set.clause();
        let sql = format!(
            "UPDATE registry_tokens SET {assignments} WHERE contract_number = ${next} \
             AND registry_id = ${} AND id = ${} RETURNING {}",
            next + 1,
            next + 2,
            token_columns!()
        );
        let mut params = set.into_params();
        params.extend([
            Param::contract(contract),
            Param::str(registry_id.as_str()),
            Param::str(token_id.as_str()),
        ]);
        self.write_returning_recorded(&sql, &params, event).await
    }

    /// Gives the token a new password (its digest) and records `event`; the
    /// old password keeps working until `previous_valid_until`, or stops at
    /// once when that is `None`. Answers the token after the write; `None`
    /// if it is gone.
    #[allow(clippy::too_many_arguments)]
    pub async fn rotate_registry_token(
        &self,
        contract: ContractNumber,
        registry_id: &RegistryId,
        token_id: &TokenId,
        password_digest: &str,
        previous_valid_until: Option<i64>,
        change: &Change,
        event: &AuditEvent,
    ) -> StoreResult<Option<RegistryTokenRecord>> {
        // SET expressions read the row as it was: the old digest becomes
        // the previous one.
        let previous = match previous_valid_until {
            Some(_) => "previous_password_digest = password_digest, previous_valid_until = $2",
            None => "previous_password_digest = NULL, previous_valid_until = $2",
        };
        let sql = format!(
            "UPDATE registry_tokens SET {previous}, password_digest = $1, modified_at = $3, \
             modified_by = $4, modified_by_user_id = $5 \
             WHERE contract_number = $6 AND registry_id = $7 AND id = $8 RETURNING {}",
            token_columns!()
        );
        let params = [
            Param::str(password_digest),
            Param::opt_int(previous_valid_until),
            Param::int(change.at),
            Param::str(&change.by),
            Param::str(&change.by_user_id),
            Param::contract(contract),
            Param::str(registry_id.as_str()),
            Param::str(token_id.as_str()),
        ];
        self.write_returning_recorded(&sql, &params, event).await
    }

    /// The token named `username` in the registry named `registry_name`,
    /// with the registry's allow list: what a registry login needs.
    pub async fn registry_token_for_login(
        &self,
        registry_name: &str,
        username: &str,
    ) -> StoreResult<Option<LoginToken>> {
        self.read_optional(
            login_sql!("t.name"),
            &[Param::str(registry_name), Param::str(username)],
        )
        .await
    }

    /// Like [`Self::registry_token_for_login`], by token id (refresh tokens).
    pub async fn registry_token_by_id_for_login(
        &self,
        registry_name: &str,
        token_id: &str,
    ) -> StoreResult<Option<LoginToken>> {
        self.read_optional(
            login_sql!("t.id"),
            &[Param::str(registry_name), Param::str(token_id)],
        )
        .await
    }

    /// Deletes a token and records `event`; false if it was gone.
    pub async fn delete_registry_token(
        &self,
        contract: ContractNumber,
        registry_id: &RegistryId,
        token_id: &TokenId,
        event: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        let params = [
            Param::contract(contract),
            Param::str(registry_id.as_str()),
            Param::str(token_id.as_str()),
        ];
        let done = bind(
            sqlx::query(
                "DELETE FROM registry_tokens WHERE contract_number = $1 AND registry_id = $2 AND id = $3",
            ),
            &params,
        )
        .execute(&mut *tx)
        .await?;
        let deleted = done.rows_affected() == 1;
        if deleted {
            count_tokens(&mut tx, contract, registry_id, -1).await?;
            insert_events(&mut tx, std::slice::from_ref(event)).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }
}

/// Adjusts a registry's token count and moves its order version on.
async fn count_tokens(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    contract: ContractNumber,
    registry_id: &RegistryId,
    delta: i64,
) -> StoreResult<()> {
    let params = [
        Param::int(delta),
        Param::contract(contract),
        Param::str(registry_id.as_str()),
    ];
    bind(
        sqlx::query(
            "UPDATE registries SET token_count = token_count + $1, tokens_version = tokens_version + 1 \
             WHERE contract_number = $2 AND id = $3",
        ),
        &params,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How the store keeps one scope: its own shape, independent of the wire's.
#[derive(Serialize, Deserialize)]
struct StoredScope {
    name: String,
    actions: Vec<StoredAction>,
}

/// An action as the store spells it.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StoredAction {
    Pull,
    Push,
    Delete,
}

impl From<Action> for StoredAction {
    fn from(action: Action) -> Self {
        match action {
            Action::Pull => StoredAction::Pull,
            Action::Push => StoredAction::Push,
            Action::Delete => StoredAction::Delete,
        }
    }
}

impl From<StoredAction> for Action {
    fn from(action: StoredAction) -> Self {
        match action {
            StoredAction::Pull => Action::Pull,
            StoredAction::Push => Action::Push,
            StoredAction::Delete => Action::Delete,
        }
    }
}

fn scopes_json(scopes: &[ScopeRule]) -> String {
    let stored: Vec<StoredScope> = scopes
        .iter()
        .map(|scope| StoredScope {
            name: scope.pattern().as_str().to_owned(),
            actions: scope.actions().iter().map(|a| (*a).into()).collect(),
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".to_owned())
}

fn scopes_from(json: &str) -> StoreResult<Vec<ScopeRule>> {
    let stored: Vec<StoredScope> = parsed("scopes", serde_json::from_str(json))?;
    stored
        .into_iter()
        .map(|scope| {
            let pattern = parsed("scopes", RepositoryPattern::parse_owned("name", scope.name))?;
            let actions = scope.actions.into_iter().map(Action::from);
            ScopeRule::new(pattern, actions)
                .ok_or_else(|| StoreError::backend("column scopes: a scope without actions"))
        })
        .collect()
}

/// Reads `status`, `expires_at` and `scopes`, in that order.
fn settings_from_row(row: &impl Columns) -> StoreResult<TokenSettings> {
    let status: String = row.get("status")?;
    let expires_at = row.get("expires_at")?;
    let scopes: String = row.get("scopes")?;
    Ok(TokenSettings {
        status: parsed("status", TokenStatus::parse("status", &status))?,
        expires_at,
        scopes: scopes_from(&scopes)?,
    })
}

/// Which token a row is: its id, contract, registry and name, read in
/// `SELECT` order (the fast case of the SQLite read path).
struct TokenIdentity {
    id: TokenId,
    contract: ContractNumber,
    registry_id: RegistryId,
    name: TokenName,
}

impl FromRow for TokenIdentity {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let id: String = row.get("id")?;
        let contract = contract(row, "contract_number")?;
        let registry_id: String = row.get("registry_id")?;
        let name: String = row.get("name")?;
        Ok(TokenIdentity {
            id: parsed("id", TokenId::parse_owned("id", id))?,
            contract,
            registry_id: parsed(
                "registry_id",
                RegistryId::parse_owned("registry_id", registry_id),
            )?,
            name: parsed("name", TokenName::parse_owned("name", name))?,
        })
    }
}

impl FromRow for RegistryTokenRecord {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let TokenIdentity {
            id,
            contract,
            registry_id,
            name,
        } = TokenIdentity::from_row(row)?;
        let password_digest = row.get("password_digest")?;
        let settings = settings_from_row(row)?;
        Ok(RegistryTokenRecord {
            id,
            contract,
            registry_id,
            name,
            password_digest,
            settings,
            stamps: Stamps::from_row(row)?,
            last_use: LastUse {
                at: row.get("last_used_at")?,
                from: row.get("last_used_from")?,
            },
            previous_valid_until: row.get("previous_valid_until")?,
        })
    }
}

impl FromRow for LoginToken {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let TokenIdentity {
            id,
            contract,
            registry_id,
            name,
        } = TokenIdentity::from_row(row)?;
        let password_digest = row.get("password_digest")?;
        let previous_digest: Option<String> = row.get("previous_password_digest")?;
        let previous_until: Option<i64> = row.get("previous_valid_until")?;
        let settings = settings_from_row(row)?;
        let allow_list: String = row.get("api_subnet_allow_list")?;
        Ok(LoginToken {
            id,
            contract,
            registry_id,
            name,
            password_digest,
            previous_password: previous_digest.zip(previous_until),
            settings,
            allow_list: allow_list_from(&allow_list)?,
        })
    }
}
