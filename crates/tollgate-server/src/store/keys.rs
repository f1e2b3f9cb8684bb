//! Signing keys, kept in the store so every node and every restart signs
//! and verifies with the same keys, with their lifecycle: a key is *next*
//! (published, not signing) until activated, *current* while it is the most
//! recently activated, and *retired* (verifying only) after a rotation.

use super::columns::Columns;
use super::query::{FromRow, Param};
use super::{Store, StoreResult};

/// A private key as stored: PKCS#8 PEM. The table is as sensitive as a key file.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    pub id: String,
    pub purpose: String,
    pub private_key_pem: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
}

impl FromRow for SigningKeyRecord {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        Ok(SigningKeyRecord {
            id: row.get("id")?,
            purpose: row.get("purpose")?,
            private_key_pem: row.get("private_key_pem")?,
            created_at: row.get("created_at")?,
            activated_at: row.get("activated_at")?,
            retired_at: row.get("retired_at")?,
        })
    }
}

impl Store {
    /// The keys of one purpose, oldest first.
    pub async fn signing_keys(&self, purpose: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        self.read_all(
            "SELECT id, purpose, private_key_pem, created_at, activated_at, retired_at \
             FROM signing_keys WHERE purpose = $1 ORDER BY created_at, id",
            &[Param::str(purpose)],
        )
        .await
    }

    /// Stores a new key; an id already present is left as it is.
    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (id, purpose, private_key_pem, created_at, activated_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&key.id)
        .bind(&key.purpose)
        .bind(&key.private_key_pem)
        .bind(key.created_at)
        .bind(key.activated_at)
        .bind(key.retired_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Rotates one purpose's keys atomically: keys retired by the previous
    /// rotation are deleted, the current keys retire, the next keys become
    /// current, and `new_next` is published as the next key.
    pub async fn rotate_signing_keys(
        &self,
        purpose: &str,
        new_next: &SigningKeyRecord,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM signing_keys WHERE purpose = $1 AND retired_at IS NOT NULL")
            .bind(purpose)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE purpose = $2 AND activated_at IS NOT NULL AND retired_at IS NULL",
        )
        .bind(now)
        .bind(purpose)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE signing_keys SET activated_at = $1 WHERE purpose = $2 AND activated_at IS NULL",
        )
        .bind(now)
        .bind(purpose)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO signing_keys (id, purpose, private_key_pem, created_at, activated_at, retired_at) \
             VALUES ($1, $2, $3, $4, NULL, NULL)",
        )
        .bind(&new_next.id)
        .bind(purpose)
        .bind(&new_next.private_key_pem)
        .bind(new_next.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
