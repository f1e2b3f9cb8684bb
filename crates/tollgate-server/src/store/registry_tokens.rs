//! Registry tokens: scoped, expiring, revocable credentials of one registry.
//!
//! Only a SHA-256 digest of each password is stored. Callers reach tokens
//! through a registry they already proved is theirs; a token is named by its
//! contract, registry and id (ids are unique per registry only).

use super::columns::{Assignments, Columns};
use tollgate_api::registry_rules::ScopeRule;

use super::registries::{from_json, to_json};
use super::{AUDIT_COLUMNS, Audit, Change, Store, StoreResult};

/// What `PUT` and `PATCH` may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// `enabled` or `disabled`.
    pub status: String,
    pub expires_at: Option<i64>,
    pub scopes: Vec<ScopeRule>,
}

/// A change to some of a token's settings: `None` leaves a setting as it
/// is, so concurrent changes of different settings never undo each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenPatch {
    pub status: Option<String>,
    /// `Some(None)` removes the expiry date.
    pub expires_at: Option<Option<i64>>,
    pub scopes: Option<Vec<ScopeRule>>,
}

/// A registry token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryTokenRecord {
    pub id: String,
    pub contract_number: i32,
    pub registry_id: String,
    pub name: String,
    /// Lower-case hex SHA-256 of the password.
    pub password_digest: String,
    pub settings: TokenSettings,
    pub audit: Audit,
}

/// What a registry login needs of a token, with its registry's allow list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginToken {
    pub id: String,
    pub name: String,
    /// Lower-case hex SHA-256 of the password.
    pub password_digest: String,
    pub settings: TokenSettings,
    /// The registry's `apiSubnetAllowList` (empty: any address).
    pub allow_list: Vec<String>,
}

const COLUMNS: &str = "id, contract_number, registry_id, name, password_digest, status, expires_at, scopes, \
     created_at, created_by, created_by_user_id, modified_at, modified_by, modified_by_user_id";

impl Store {
    /// Creates a token and counts it in its registry, atomically. A name or
    /// an id taken in the registry is `Conflict`; a registry deleted
    /// meanwhile is `MissingParent`.
    pub async fn insert_registry_token(&self, token: &RegistryTokenRecord) -> StoreResult<()> {
        self.insert_registry_tokens(std::slice::from_ref(token))
            .await
    }

    /// Imports many tokens in one transaction (bulk loads, benchmarks).
    pub async fn insert_registry_tokens(&self, tokens: &[RegistryTokenRecord]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        for token in tokens {
            insert_token(&mut *tx, token).await?;
        }
        let mut per_registry: Vec<((i32, &str), i64)> = Vec::new();
        for token in tokens {
            let registry = (token.contract_number, token.registry_id.as_str());
            match per_registry.iter_mut().find(|(key, _)| *key == registry) {
                Some((_, n)) => *n += 1,
                None => per_registry.push((registry, 1)),
            }
        }
        for ((contract, registry_id), added) in per_registry {
            count_tokens(&mut *tx, contract, registry_id, added).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn find_registry_token(
        &self,
        contract: i32,
        registry_id: &str,
        token_id: &str,
    ) -> StoreResult<Option<RegistryTokenRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM registry_tokens \
             WHERE contract_number = $1 AND registry_id = $2 AND id = $3"
        );
        let row = sqlx::query(&sql)
            .bind(i64::from(contract))
            .bind(registry_id)
            .bind(token_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Replaces status, expiry and scopes (a `PUT`); false if the token is gone.
    pub async fn update_registry_token(
        &self,
        token: &RegistryTokenRecord,
        settings: &TokenSettings,
        change: &Change,
    ) -> StoreResult<bool> {
        let patch = TokenPatch {
            status: Some(settings.status.clone()),
            expires_at: Some(settings.expires_at),
            scopes: Some(settings.scopes.clone()),
        };
        let updated = self
            .patch_registry_token(
                token.contract_number,
                &token.registry_id,
                &token.id,
                &patch,
                change,
            )
            .await?;
        Ok(updated.is_some())
    }

    /// Writes only the settings `patch` names (a `PATCH`) in one statement
    /// and answers the token as it is after the write; `None` if it is gone.
    pub async fn patch_registry_token(
        &self,
        contract: i32,
        registry_id: &str,
        token_id: &str,
        patch: &TokenPatch,
        change: &Change,
    ) -> StoreResult<Option<RegistryTokenRecord>> {
        let mut set = Assignments::default();
        if let Some(status) = &patch.status {
            set.text("status", status.clone());
        }
        if let Some(expires_at) = patch.expires_at {
            set.int("expires_at", expires_at);
        }
        if let Some(scopes) = &patch.scopes {
            set.text("scopes", to_json(scopes));
        }
        set.change(change);
        let n = set.count();
        let sql = format!(
            "UPDATE registry_tokens SET {} \
             WHERE contract_number = ${} AND registry_id = ${} AND id = ${} RETURNING {COLUMNS}",
            set.clause(),
            n + 1,
            n + 2,
            n + 3
        );
        let row = set
            .bind(sqlx::query(&sql))
            .bind(i64::from(contract))
            .bind(registry_id)
            .bind(token_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// The token named `username` in the registry named `registry_name`,
    /// with the registry's allow list: what a registry login needs.
    pub async fn registry_token_for_login(
        &self,
        registry_name: &str,
        username: &str,
    ) -> StoreResult<Option<LoginToken>> {
        for_login(self, registry_name, LoginKey::Name, username).await
    }

    /// Like [`Self::registry_token_for_login`], by token id (refresh tokens).
    pub async fn registry_token_by_id_for_login(
        &self,
        registry_name: &str,
        token_id: &str,
    ) -> StoreResult<Option<LoginToken>> {
        for_login(self, registry_name, LoginKey::Id, token_id).await
    }

    pub async fn delete_registry_token(
        &self,
        contract: i32,
        registry_id: &str,
        token_id: &str,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "DELETE FROM registry_tokens WHERE contract_number = $1 AND registry_id = $2 AND id = $3",
        )
        .bind(i64::from(contract))
        .bind(registry_id)
        .bind(token_id)
        .execute(&mut *tx)
        .await?;
        let deleted = done.rows_affected() == 1;
        if deleted {
            count_tokens(&mut *tx, contract, registry_id, -1).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }
}

/// Adjusts a registry's token count and moves its order version on.
async fn count_tokens<'e, E>(
    executor: E,
    contract: i32,
    registry_id: &str,
    delta: i64,
) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "UPDATE registries SET token_count = token_count + $1, tokens_version = tokens_version + 1 \
         WHERE contract_number = $2 AND id = $3",
    )
    .bind(delta)
    .bind(i64::from(contract))
    .bind(registry_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// A page after a `(created_at, id)` key, skipping `$6` more tokens.
pub(super) const PAGE_SQL: &str = concat!(
    "SELECT id, contract_number, registry_id, name, password_digest, status, expires_at, scopes, ",
    "created_at, created_by, created_by_user_id, modified_at, modified_by, modified_by_user_id ",
    "FROM registry_tokens WHERE contract_number = $1 AND registry_id = $2 ",
    "AND (created_at, id) >= ($3, $4) ORDER BY created_at, id LIMIT $5 OFFSET $6"
);

async fn insert_token<'e, E>(executor: E, token: &RegistryTokenRecord) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "INSERT INTO registry_tokens (id, contract_number, registry_id, name, password_digest, status, \
         expires_at, scopes, {AUDIT_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    );
    let a = &token.audit;
    sqlx::query(&sql)
        .bind(&token.id)
        .bind(i64::from(token.contract_number))
        .bind(&token.registry_id)
        .bind(&token.name)
        .bind(&token.password_digest)
        .bind(&token.settings.status)
        .bind(token.settings.expires_at)
        .bind(to_json(&token.settings.scopes))
        .bind(a.created_at)
        .bind(&a.created_by)
        .bind(&a.created_by_user_id)
        .bind(a.modified_at)
        .bind(a.modified_by.clone())
        .bind(a.modified_by_user_id.clone())
        .execute(executor)
        .await?;
    Ok(())
}

/// Which column a login finds its token by.
#[derive(Clone, Copy)]
enum LoginKey {
    Name,
    Id,
}

/// A token and its registry's allow list, found by registry name and one
/// token column, in one indexed lookup. Only the columns a login uses are
/// read: this runs on every `docker pull`.
async fn for_login(
    store: &Store,
    registry_name: &str,
    by: LoginKey,
    value: &str,
) -> StoreResult<Option<LoginToken>> {
    macro_rules! login_sql {
        ($column:literal) => {
            concat!(
                "SELECT t.id, t.name, t.password_digest, t.status, t.expires_at, t.scopes, ",
                "r.api_subnet_allow_list ",
                "FROM registry_tokens t JOIN registries r ",
                "ON r.contract_number = t.contract_number AND r.id = t.registry_id ",
                "WHERE r.name = $1 AND ",
                $column,
                " = $2"
            )
        };
    }
    let sql = match by {
        LoginKey::Name => login_sql!("t.name"),
        LoginKey::Id => login_sql!("t.id"),
    };
    fn found(r: &impl Columns) -> StoreResult<LoginToken> {
        let id = r.get("id")?;
        let name = r.get("name")?;
        let password_digest = r.get("password_digest")?;
        let settings = settings_from_row(r)?;
        let allow_list: String = r.get("api_subnet_allow_list")?;
        Ok(LoginToken {
            id,
            name,
            password_digest,
            settings,
            allow_list: from_json("api_subnet_allow_list", &allow_list)?,
        })
    }
    if let Some(reads) = store.reads() {
        return reads.optional(sql, [registry_name, value], |r| found(r));
    }
    let row = sqlx::query(sql)
        .bind(registry_name)
        .bind(value)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(found).transpose()
}

/// Reads the columns in `COLUMNS` order (the fast case of the SQLite read path).
pub(super) fn token_from_row(row: &impl Columns) -> StoreResult<RegistryTokenRecord> {
    let id = row.get("id")?;
    let contract: i64 = row.get("contract_number")?;
    let registry_id = row.get("registry_id")?;
    let name = row.get("name")?;
    let password_digest = row.get("password_digest")?;
    let settings = settings_from_row(row)?;
    Ok(RegistryTokenRecord {
        id,
        contract_number: contract as i32,
        registry_id,
        name,
        password_digest,
        settings,
        audit: Audit::from_row(row)?,
    })
}

/// Reads `status`, `expires_at` and `scopes`, in that order.
fn settings_from_row(row: &impl Columns) -> StoreResult<TokenSettings> {
    let status = row.get("status")?;
    let expires_at = row.get("expires_at")?;
    let scopes: String = row.get("scopes")?;
    Ok(TokenSettings {
        status,
        expires_at,
        scopes: from_json("scopes", &scopes)?,
    })
}
