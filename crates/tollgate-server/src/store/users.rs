//! Accounts, their contracts and their memberships.

use super::columns::Columns;

use super::{Store, StoreError, StoreResult};

/// An account as stored; `password_hash` is an argon2id PHC string.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub password_hash: String,
}

/// A user's place in one contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub contract_number: i32,
    pub role: String,
    /// Privilege names, e.g. `accessAndManageRegistries`.
    pub privileges: Vec<String>,
}

/// What [`Store::create_user`] writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub memberships: Vec<Membership>,
    pub created_at: i64,
}

impl Store {
    /// Creates the account, its contracts (on first use) and its memberships
    /// atomically. An e-mail already taken is [`StoreError::Conflict`].
    pub async fn create_user(&self, user: &NewUser) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(&mut *tx)
        .await?;
        for membership in &user.memberships {
            sqlx::query(
                "INSERT INTO contracts (number, created_at) VALUES ($1, $2) ON CONFLICT (number) DO NOTHING",
            )
            .bind(i64::from(membership.contract_number))
            .bind(user.created_at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO memberships (user_id, contract_number, role, privileges) VALUES ($1, $2, $3, $4)",
            )
            .bind(&user.id)
            .bind(i64::from(membership.contract_number))
            .bind(&membership.role)
            .bind(membership.privileges.join(","))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether any account exists (a fresh store has none).
    pub async fn has_users(&self) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.pool())
            .await?;
        Ok(row.get::<i64>("n")? > 0)
    }

    /// The account with this e-mail (already lower-cased by the caller).
    pub async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        const SQL: &str = "SELECT id, email, password_hash FROM users WHERE email = $1";
        if let Some(reads) = self.reads() {
            return reads.optional(SQL, [email], |r| user_from_row(r));
        }
        let row = sqlx::query(SQL)
            .bind(email)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The account with this e-mail and its memberships by contract number,
    /// read in one query: what a Basic login needs.
    pub async fn account_by_email(
        &self,
        email: &str,
    ) -> StoreResult<Option<(UserRecord, Vec<Membership>)>> {
        const SQL: &str = "SELECT u.id, u.email, u.password_hash, m.contract_number, m.role, \
             m.privileges FROM users u JOIN memberships m ON m.user_id = u.id \
             WHERE u.email = $1 ORDER BY m.contract_number";
        fn both(r: &impl Columns) -> StoreResult<(UserRecord, Membership)> {
            let user = user_from_row(r)?;
            Ok((user, membership_from_row(r)?))
        }
        let rows = if let Some(reads) = self.reads() {
            reads.all(SQL, [email], |r| both(r))?
        } else {
            let rows = sqlx::query(SQL).bind(email).fetch_all(self.pool()).await?;
            rows.iter().map(both).collect::<StoreResult<Vec<_>>>()?
        };
        let mut rows = rows.into_iter();
        let Some((user, first)) = rows.next() else {
            // An account that is a member of no contract, or no account.
            let user = self.find_user_by_email(email).await?;
            return Ok(user.map(|user| (user, Vec::new())));
        };
        let memberships = std::iter::once(first).chain(rows.map(|(_, m)| m));
        Ok(Some((user, memberships.collect())))
    }

    /// Every account, ordered by e-mail.
    pub async fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
        let rows = sqlx::query("SELECT id, email, password_hash FROM users ORDER BY email")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// The memberships of one account, ordered by contract number.
    pub async fn memberships_of(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
        const SQL: &str = "SELECT contract_number, role, privileges FROM memberships \
             WHERE user_id = $1 ORDER BY contract_number";
        if let Some(reads) = self.reads() {
            return reads.all(SQL, [user_id], |r| membership_from_row(r));
        }
        let rows = sqlx::query(SQL)
            .bind(user_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(membership_from_row).collect()
    }

    /// Deletes an account with its memberships and tokens; false if unknown.
    pub async fn delete_user(&self, email: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM users WHERE email = $1")
            .bind(email)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces an account's password hash; false if the account is unknown.
    pub async fn set_password_hash(&self, email: &str, password_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE email = $2")
            .bind(password_hash)
            .bind(email)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn user_from_row(row: &impl Columns) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: row.get("id")?,
        email: row.get("email")?,
        password_hash: row.get("password_hash")?,
    })
}

pub(super) fn membership_from_row(row: &impl Columns) -> StoreResult<Membership> {
    let contract: i64 = row.get("contract_number")?;
    let role = row.get("role")?;
    let privileges: String = row.get("privileges")?;
    Ok(Membership {
        contract_number: i32::try_from(contract)
            .map_err(|_| StoreError::Backend("contract number out of range".into()))?,
        role,
        privileges: privileges
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}
