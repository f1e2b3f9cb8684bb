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

    /// Rotates one purpose's keys in one transaction, if its current key
    /// was activated at or before `rotation.due`: the current key retires
    /// (verifying only), the published next key (or `spare` when none is
    /// published) becomes current, retired keys older than
    /// `forget_retired_before` are deleted, and `new_next` is published.
    /// False when the current key was not due (another node rotated first).
    pub async fn rotate_signing_keys(&self, rotation: &KeyRotation<'_>) -> StoreResult<bool> {
        let purpose = rotation.purpose;
        let now = rotation.now;
        let mut tx = self.pool().begin().await?;
        let retired = sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE purpose = $2 \
             AND activated_at IS NOT NULL AND retired_at IS NULL AND activated_at <= $3",
        )
        .bind(now)
        .bind(purpose)
        .bind(rotation.due)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if retired == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let activated = sqlx::query(
            "UPDATE signing_keys SET activated_at = $1 WHERE purpose = $2 AND activated_at IS NULL",
        )
        .bind(now)
        .bind(purpose)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if activated == 0 {
            insert_key(&mut tx, rotation.spare, Some(now)).await?;
        }
        sqlx::query(
            "DELETE FROM signing_keys WHERE purpose = $1 AND retired_at IS NOT NULL AND retired_at < $2",
        )
        .bind(purpose)
        .bind(rotation.forget_retired_before)
        .execute(&mut *tx)
        .await?;
        if let Some(next) = rotation.new_next {
            insert_key(&mut tx, next, None).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// One rotation of one purpose's keys, as [`Store::rotate_signing_keys`] makes it.
#[derive(Debug)]
pub struct KeyRotation<'a> {
    pub purpose: &'a str,
    pub now: i64,
    /// Rotate only if the current key was activated at or before this time.
    pub due: i64,
    /// Becomes current when no next key is published.
    pub spare: &'a SigningKeyRecord,
    /// Published as the next key, for purposes that publish one ahead.
    pub new_next: Option<&'a SigningKeyRecord>,
    /// Retired keys retired before this time no longer verify anything live.
    pub forget_retired_before: i64,
}

async fn insert_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: &SigningKeyRecord,
    activated_at: Option<i64>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO signing_keys (id, purpose, private_key_pem, created_at, activated_at, retired_at) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
    )
    .bind(&key.id)
    .bind(&key.purpose)
    .bind(&key.private_key_pem)
    .bind(key.created_at)
    .bind(activated_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
