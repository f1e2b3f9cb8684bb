//! Auth API tokens: one row per issued JWT, deleted on revocation.
//!
//! A token is valid exactly while its row exists and has not expired, so
//! revocation takes effect on the next request on every node.

use super::columns::Columns;

use super::users::membership_from_row;
use super::{Membership, Store, StoreResult};

/// One issued token; `id` is the JWT's `kid` and `jti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTokenRecord {
    pub id: String,
    pub user_id: String,
    pub contract_number: i32,
    pub signing_key_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What a Bearer request needs, read in one point lookup.
#[derive(Debug, Clone)]
pub struct BearerLookup {
    pub token: AuthTokenRecord,
    pub email: String,
    pub membership: Membership,
}

const TOKEN_COLUMNS: &str =
    "t.id, t.user_id, t.contract_number, t.signing_key_id, t.created_at, t.expires_at";

impl Store {
    pub async fn insert_auth_token(&self, token: &AuthTokenRecord) -> StoreResult<()> {
        insert_token(self.pool(), token).await
    }

    /// Imports many tokens in one transaction (bulk loads, benchmarks).
    pub async fn insert_auth_tokens(&self, tokens: &[AuthTokenRecord]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        for token in tokens {
            insert_token(&mut *tx, token).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The token with its owner's current membership, if the token still exists.
    pub async fn bearer_lookup(&self, token_id: &str) -> StoreResult<Option<BearerLookup>> {
        const SQL: &str = "SELECT t.id, t.user_id, t.contract_number, t.signing_key_id, t.created_at, \
             t.expires_at, m.contract_number, m.role, m.privileges, u.email \
             FROM auth_tokens t \
             JOIN memberships m ON m.user_id = t.user_id AND m.contract_number = t.contract_number \
             JOIN users u ON u.id = t.user_id \
             WHERE t.id = $1";
        fn lookup(r: &impl Columns) -> StoreResult<BearerLookup> {
            let token = token_from_row(r)?;
            let membership = membership_from_row(r)?;
            Ok(BearerLookup {
                token,
                membership,
                email: r.get("email")?,
            })
        }
        if let Some(reads) = self.reads() {
            return reads.optional(SQL, [token_id], |r| lookup(r));
        }
        let row = sqlx::query(SQL)
            .bind(token_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(lookup).transpose()
    }

    /// The tokens of one user in one contract, oldest first.
    pub async fn list_auth_tokens(
        &self,
        user_id: &str,
        contract: i32,
    ) -> StoreResult<Vec<AuthTokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM auth_tokens t \
             WHERE t.user_id = $1 AND t.contract_number = $2 ORDER BY t.created_at, t.id"
        );
        if let Some(reads) = self.reads() {
            let params = rusqlite::params![user_id, i64::from(contract)];
            return reads.all(&sql, params, |r| token_from_row(r));
        }
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(i64::from(contract))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// One token of one user in one contract; a token of anyone else is `None`.
    pub async fn find_auth_token(
        &self,
        user_id: &str,
        contract: i32,
        token_id: &str,
    ) -> StoreResult<Option<AuthTokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM auth_tokens t \
             WHERE t.id = $1 AND t.user_id = $2 AND t.contract_number = $3"
        );
        if let Some(reads) = self.reads() {
            let params = rusqlite::params![token_id, user_id, i64::from(contract)];
            return reads.optional(&sql, params, |r| token_from_row(r));
        }
        let row = sqlx::query(&sql)
            .bind(token_id)
            .bind(user_id)
            .bind(i64::from(contract))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Deletes one token of one user in one contract; false if there was none.
    pub async fn delete_auth_token(
        &self,
        user_id: &str,
        contract: i32,
        token_id: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM auth_tokens WHERE id = $1 AND user_id = $2 AND contract_number = $3",
        )
        .bind(token_id)
        .bind(user_id)
        .bind(i64::from(contract))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes all tokens of one user in one contract; answers how many.
    pub async fn delete_all_auth_tokens(&self, user_id: &str, contract: i32) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM auth_tokens WHERE user_id = $1 AND contract_number = $2")
                .bind(user_id)
                .bind(i64::from(contract))
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected())
    }

    /// Deletes the tokens of one user in one contract that expired at or before `now`.
    pub async fn delete_expired_auth_tokens(
        &self,
        user_id: &str,
        contract: i32,
        now: i64,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM auth_tokens WHERE user_id = $1 AND contract_number = $2 AND expires_at <= $3",
        )
        .bind(user_id)
        .bind(i64::from(contract))
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}

async fn insert_token<'e, E>(executor: E, token: &AuthTokenRecord) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO auth_tokens (id, user_id, contract_number, signing_key_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&token.id)
    .bind(&token.user_id)
    .bind(i64::from(token.contract_number))
    .bind(&token.signing_key_id)
    .bind(token.created_at)
    .bind(token.expires_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Reads the columns in `TOKEN_COLUMNS` order (the fast case of the SQLite read path).
fn token_from_row(row: &impl Columns) -> StoreResult<AuthTokenRecord> {
    let id = row.get("id")?;
    let user_id = row.get("user_id")?;
    let contract: i64 = row.get("contract_number")?;
    Ok(AuthTokenRecord {
        id,
        user_id,
        contract_number: contract as i32,
        signing_key_id: row.get("signing_key_id")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
    })
}
