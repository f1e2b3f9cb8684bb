//! Accounts, their contracts and their memberships.

use tollgate_api::account::{Email, Privilege, Role, UserId};
use tollgate_api::auth::ContractNumber;

use super::audit::{AuditEvent, insert_events};
use super::columns::{Columns, contract_number, parsed};
use super::query::{Count, FromRow, Param, bind};
use super::{Store, StoreResult};

/// An account as stored; `password_hash` is an argon2id PHC string.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub email: Email,
    pub password_hash: String,
}

/// A user's place in one contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub contract: ContractNumber,
    pub role: Role,
    pub privileges: Vec<Privilege>,
}

/// An account with its memberships, ordered by contract number.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: UserRecord,
    pub memberships: Vec<Membership>,
}

/// What [`Store::create_user`] writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub password_hash: String,
    pub memberships: Vec<Membership>,
    pub created_at: i64,
}

/// An account row joined with one of its memberships (none: `LEFT JOIN`).
struct AccountRow(UserRecord, Option<Membership>);

impl FromRow for AccountRow {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let user = UserRecord::from_row(row)?;
        let contract: Option<i64> = row.get("contract_number")?;
        let membership = match contract {
            Some(contract) => Some(membership(
                contract,
                row.get("role")?,
                row.get("privileges")?,
            )?),
            None => None,
        };
        Ok(AccountRow(user, membership))
    }
}

/// Rows of [`AccountRow`], grouped into accounts in row order.
fn group(rows: Vec<AccountRow>) -> Vec<Account> {
    let mut accounts: Vec<Account> = Vec::new();
    for AccountRow(user, membership) in rows {
        match accounts.last_mut() {
            Some(account) if account.user.id == user.id => {
                account.memberships.extend(membership);
            }
            _ => accounts.push(Account {
                user,
                memberships: membership.into_iter().collect(),
            }),
        }
    }
    accounts
}

/// Accounts with their memberships, followed by a condition and an order.
macro_rules! account_sql {
    ($rest:literal) => {
        concat!(
            "SELECT u.id, u.email, u.password_hash, m.contract_number, m.role, ",
            "m.privileges FROM users u LEFT JOIN memberships m ON m.user_id = u.id",
            $rest
        )
    };
}

impl Store {
    /// Creates the account, its contracts (on first use) and its
    /// memberships, and records `events`, atomically. An e-mail already
    /// taken is [`super::StoreError::Conflict`].
    pub async fn create_user(&self, user: &NewUser, events: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        let params = [
            Param::str(user.id.as_str()),
            Param::str(user.email.as_str()),
            Param::str(&user.password_hash),
            Param::int(user.created_at),
        ];
        bind(
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
            ),
            &params,
        )
        .execute(&mut *tx)
        .await?;
        for membership in &user.memberships {
            let contract = [
                Param::contract(membership.contract),
                Param::int(user.created_at),
            ];
            bind(
                sqlx::query(
                    "INSERT INTO contracts (number, created_at) VALUES ($1, $2) ON CONFLICT (number) DO NOTHING",
                ),
                &contract,
            )
            .execute(&mut *tx)
            .await?;
            let privileges: Vec<&str> = membership.privileges.iter().map(|p| p.as_str()).collect();
            let row = [
                Param::str(user.id.as_str()),
                Param::contract(membership.contract),
                Param::str(membership.role.as_str()),
                Param::string(privileges.join(",")),
            ];
            bind(
                sqlx::query(
                    "INSERT INTO memberships (user_id, contract_number, role, privileges) VALUES ($1, $2, $3, $4)",
                ),
                &row,
            )
            .execute(&mut *tx)
            .await?;
        }
        insert_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether any account exists (a fresh store has none).
    pub async fn has_users(&self) -> StoreResult<bool> {
        let count: Option<Count> = self
            .read_optional("SELECT COUNT(*) AS n FROM users", &[])
            .await?;
        Ok(count.is_some_and(|c| c.0 > 0))
    }

    /// The account with this e-mail (already normalised by the caller) and
    /// its memberships, read in one query: what a Basic login needs.
    pub async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
        let sql = account_sql!(" WHERE u.email = $1 ORDER BY m.contract_number");
        let rows = self.read_all(sql, &[Param::str(email)]).await?;
        Ok(group(rows).pop())
    }

    /// Every account with its memberships, ordered by e-mail.
    pub async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        let sql = account_sql!(" ORDER BY u.email, m.contract_number");
        Ok(group(self.read_all(sql, &[]).await?))
    }

    /// Deletes an account with its memberships and tokens, and records
    /// `events`; false if unknown (nothing is recorded).
    pub async fn delete_user(&self, email: &Email, events: &[AuditEvent]) -> StoreResult<bool> {
        let deleted = self
            .execute_recorded(
                "DELETE FROM users WHERE email = $1",
                &[Param::str(email.as_str())],
                events,
            )
            .await?;
        Ok(deleted == 1)
    }

    /// Replaces an account's password hash, and records `events`; false if
    /// the account is unknown (nothing is recorded).
    pub async fn set_password_hash(
        &self,
        email: &Email,
        password_hash: &str,
        events: &[AuditEvent],
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        let params = [Param::str(password_hash), Param::str(email.as_str())];
        let changed = bind(
            sqlx::query("UPDATE users SET password_hash = $1 WHERE email = $2"),
            &params,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            // Console sessions were opened with the old password: they end with it.
            let email = [Param::str(email.as_str())];
            bind(
                sqlx::query(
                    "DELETE FROM console_sessions WHERE user_id = (SELECT id FROM users WHERE email = $1)",
                ),
                &email,
            )
            .execute(&mut *tx)
            .await?;
            insert_events(&mut tx, events).await?;
        }
        tx.commit().await?;
        Ok(changed == 1)
    }
}

impl FromRow for UserRecord {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let id: String = row.get("id")?;
        let email: String = row.get("email")?;
        Ok(UserRecord {
            id: UserId::from(id),
            email: Email::stored(email),
            password_hash: row.get("password_hash")?,
        })
    }
}

impl FromRow for Membership {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        membership(
            row.get("contract_number")?,
            row.get("role")?,
            row.get("privileges")?,
        )
    }
}

/// A membership from its three columns, read in this order.
fn membership(contract: i64, role: String, privileges: String) -> StoreResult<Membership> {
    Ok(Membership {
        contract: contract_number("contract_number", contract)?,
        role: parsed("role", role.parse::<Role>())?,
        privileges: privileges
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| parsed("privileges", p.parse::<Privilege>()))
            .collect::<StoreResult<_>>()?,
    })
}
