//! Auth API tokens: one row per issued JWT, deleted on revocation.
//!
//! A token is valid exactly while its row exists and has not expired, so
//! revocation takes effect on the next request on every node.

use tollgate_api::account::{AuthTokenId, Email, UserId};
use tollgate_api::auth::ContractNumber;

use super::audit::{AuditEvent, insert_events};
use super::columns::{Columns, contract};
use super::query::{FromRow, Param, bind};
use super::token_uses::LastUse;
use super::{Membership, Store, StoreResult};

/// One issued token; `id` is the JWT's `kid` and `jti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTokenRecord {
    pub id: AuthTokenId,
    pub user_id: UserId,
    pub contract: ContractNumber,
    pub signing_key_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_use: LastUse,
}

/// What a Bearer request needs, read in one point lookup.
#[derive(Debug, Clone)]
pub struct BearerLookup {
    pub token: AuthTokenRecord,
    pub email: Email,
    pub membership: Membership,
}

macro_rules! token_columns {
    () => {
        "t.id, t.user_id, t.contract_number, t.signing_key_id, t.created_at, t.expires_at, \
         t.last_used_at, t.last_used_from"
    };
}

impl Store {
    /// Stores a new token, and the event that records it, atomically.
    pub async fn insert_auth_token(
        &self,
        token: &AuthTokenRecord,
        event: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        let params = insert_params(token);
        bind(sqlx::query(INSERT_SQL), &params)
            .execute(&mut *tx)
            .await?;
        insert_events(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Imports many tokens in one transaction (bulk loads, benchmarks).
    pub async fn insert_auth_tokens(&self, tokens: &[AuthTokenRecord]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        for token in tokens {
            let params = insert_params(token);
            bind(sqlx::query(INSERT_SQL), &params)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The token with its owner's current membership, if the token still exists.
    pub async fn bearer_lookup(&self, token_id: &str) -> StoreResult<Option<BearerLookup>> {
        const SQL: &str = concat!(
            "SELECT ",
            token_columns!(),
            ", m.contract_number, m.role, m.privileges, u.email FROM auth_tokens t ",
            "JOIN memberships m ON m.user_id = t.user_id AND m.contract_number = t.contract_number ",
            "JOIN users u ON u.id = t.user_id WHERE t.id = $1"
        );
        self.read_optional(SQL, &[Param::str(token_id)]).await
    }

    /// The tokens of one user in one contract, oldest first.
    pub async fn list_auth_tokens(
        &self,
        user_id: &UserId,
        contract: ContractNumber,
    ) -> StoreResult<Vec<AuthTokenRecord>> {
        const SQL: &str = concat!(
            "SELECT ",
            token_columns!(),
            " FROM auth_tokens t WHERE t.user_id = $1 AND t.contract_number = $2 ",
            "ORDER BY t.created_at, t.id"
        );
        let params = [Param::str(user_id.as_str()), Param::contract(contract)];
        self.read_all(SQL, &params).await
    }

    /// One token of one user in one contract; a token of anyone else is `None`.
    pub async fn find_auth_token(
        &self,
        user_id: &UserId,
        contract: ContractNumber,
        token_id: &AuthTokenId,
    ) -> StoreResult<Option<AuthTokenRecord>> {
        const SQL: &str = concat!(
            "SELECT ",
            token_columns!(),
            " FROM auth_tokens t WHERE t.id = $1 AND t.user_id = $2 AND t.contract_number = $3"
        );
        let params = [
            Param::str(token_id.as_str()),
            Param::str(user_id.as_str()),
            Param::contract(contract),
        ];
        self.read_optional(SQL, &params).await
    }

    /// Deletes one token of one user in one contract, recording `event`;
    /// false if there was none (and nothing is recorded).
    pub async fn delete_auth_token(
        &self,
        user_id: &UserId,
        contract: ContractNumber,
        token_id: &AuthTokenId,
        event: &AuditEvent,
    ) -> StoreResult<bool> {
        let params = [
            Param::str(token_id.as_str()),
            Param::str(user_id.as_str()),
            Param::contract(contract),
        ];
        let deleted = self
            .execute_recorded(
                "DELETE FROM auth_tokens WHERE id = $1 AND user_id = $2 AND contract_number = $3",
                &params,
                std::slice::from_ref(event),
            )
            .await?;
        Ok(deleted == 1)
    }

    /// Deletes all tokens of one user in one contract, recording `event`;
    /// answers how many.
    pub async fn delete_all_auth_tokens(
        &self,
        user_id: &UserId,
        contract: ContractNumber,
        event: &AuditEvent,
    ) -> StoreResult<u64> {
        let params = [Param::str(user_id.as_str()), Param::contract(contract)];
        self.execute_recorded(
            "DELETE FROM auth_tokens WHERE user_id = $1 AND contract_number = $2",
            &params,
            std::slice::from_ref(event),
        )
        .await
    }

    /// Deletes the tokens of one user in one contract that expired at or
    /// before `now`, recording `event`; answers how many.
    pub async fn delete_expired_auth_tokens(
        &self,
        user_id: &UserId,
        contract: ContractNumber,
        now: i64,
        event: &AuditEvent,
    ) -> StoreResult<u64> {
        let params = [
            Param::str(user_id.as_str()),
            Param::contract(contract),
            Param::int(now),
        ];
        self.execute_recorded(
            "DELETE FROM auth_tokens WHERE user_id = $1 AND contract_number = $2 AND expires_at <= $3",
            &params,
            std::slice::from_ref(event),
        )
        .await
    }
}

const INSERT_SQL: &str = "INSERT INTO auth_tokens (id, user_id, contract_number, signing_key_id, \
     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";

fn insert_params(token: &AuthTokenRecord) -> [Param<'_>; 6] {
    [
        Param::str(token.id.as_str()),
        Param::str(token.user_id.as_str()),
        Param::contract(token.contract),
        Param::str(&token.signing_key_id),
        Param::int(token.created_at),
        Param::int(token.expires_at),
    ]
}

/// Reads the columns in `token_columns!()` order (the fast case of the SQLite read path).
impl FromRow for AuthTokenRecord {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let id: String = row.get("id")?;
        let user_id: String = row.get("user_id")?;
        Ok(AuthTokenRecord {
            id: AuthTokenId::from(id),
            user_id: UserId::from(user_id),
            contract: contract(row, "contract_number")?,
            signing_key_id: row.get("signing_key_id")?,
            created_at: row.get("created_at")?,
            expires_at: row.get("expires_at")?,
            last_use: LastUse {
                at: row.get("last_used_at")?,
                from: row.get("last_used_from")?,
            },
        })
    }
}

impl FromRow for BearerLookup {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let token = AuthTokenRecord::from_row(row)?;
        let membership = Membership::from_row(row)?;
        let email: String = row.get("email")?;
        Ok(BearerLookup {
            token,
            membership,
            email: Email::stored(email),
        })
    }
}
