//! Web console sessions: one row per signed-in browser, keyed by the
//! digest of the secret its cookie holds, deleted at sign-out.

use tollgate_api::account::{Email, UserId};
use tollgate_api::auth::ContractNumber;

use super::audit::{AuditEvent, insert_events};
use super::columns::{Columns, contract};
use super::query::{FromRow, Param, bind};
use super::{Membership, Store, StoreResult};

/// One session; `id` is the SHA-256 digest of the cookie's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRecord {
    pub id: String,
    pub user_id: UserId,
    pub contract: ContractNumber,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What a console request needs, read in one point lookup.
#[derive(Debug, Clone)]
pub struct ConsoleSessionLookup {
    pub session: ConsoleSessionRecord,
    pub email: Email,
    pub membership: Membership,
}

/// What storing a new session does with an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaces<'a> {
    /// Nothing.
    Nothing,
    /// Deletes this session if it still exists (signing in again).
    IfAny(&'a str),
    /// Deletes this session, which must still exist (switching contracts:
    /// a session signed out meanwhile is not revived under a new secret).
    Exactly(&'a str),
}

impl Store {
    /// Stores a new session and the event that records it, atomically,
    /// deleting the session it `replaces` and every session expired at
    /// `now`; false (and nothing written) when a session to be replaced
    /// `Exactly` no longer exists.
    pub async fn insert_console_session(
        &self,
        session: &ConsoleSessionRecord,
        replaces: Replaces<'_>,
        now: i64,
        event: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        if let Replaces::IfAny(old) | Replaces::Exactly(old) = replaces {
            let old = [Param::str(old)];
            let deleted = bind(
                sqlx::query("DELETE FROM console_sessions WHERE id = $1"),
                &old,
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if deleted == 0 && matches!(replaces, Replaces::Exactly(_)) {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        let expired = [Param::int(now)];
        bind(
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1"),
            &expired,
        )
        .execute(&mut *tx)
        .await?;
        let params = [
            Param::str(&session.id),
            Param::str(session.user_id.as_str()),
            Param::contract(session.contract),
            Param::int(session.created_at),
            Param::int(session.expires_at),
        ];
        bind(
            sqlx::query(
                "INSERT INTO console_sessions (id, user_id, contract_number, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            ),
            &params,
        )
        .execute(&mut *tx)
        .await?;
        insert_events(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The session with its user's current membership, if it still exists.
    pub async fn console_session_lookup(
        &self,
        id: &str,
    ) -> StoreResult<Option<ConsoleSessionLookup>> {
        const SQL: &str = "SELECT s.id, s.user_id, s.contract_number, s.created_at, s.expires_at, \
             m.role, m.privileges, u.email FROM console_sessions s \
             JOIN memberships m ON m.user_id = s.user_id AND m.contract_number = s.contract_number \
             JOIN users u ON u.id = s.user_id WHERE s.id = $1";
        self.read_optional(SQL, &[Param::str(id)]).await
    }

    /// Moves a session's expiry to `expires_at` (a session in use is kept alive).
    pub async fn extend_console_session(&self, id: &str, expires_at: i64) -> StoreResult<()> {
        let params = [Param::int(expires_at), Param::str(id)];
        self.execute(
            "UPDATE console_sessions SET expires_at = $1 WHERE id = $2 AND expires_at < $1",
            &params,
        )
        .await?;
        Ok(())
    }

    /// Deletes a session, recording `event`; false if it was already gone.
    pub async fn delete_console_session(&self, id: &str, event: &AuditEvent) -> StoreResult<bool> {
        let deleted = self
            .execute_recorded(
                "DELETE FROM console_sessions WHERE id = $1",
                &[Param::str(id)],
                std::slice::from_ref(event),
            )
            .await?;
        Ok(deleted == 1)
    }
}

impl FromRow for ConsoleSessionLookup {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let id: String = row.get("id")?;
        let user_id: String = row.get("user_id")?;
        let email: String = row.get("email")?;
        Ok(ConsoleSessionLookup {
            session: ConsoleSessionRecord {
                id,
                user_id: UserId::from(user_id),
                contract: contract(row, "contract_number")?,
                created_at: row.get("created_at")?,
                expires_at: row.get("expires_at")?,
            },
            membership: Membership::from_row(row)?,
            email: Email::stored(email),
        })
    }
}
