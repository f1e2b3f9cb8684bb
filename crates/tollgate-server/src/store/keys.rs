//! Signing keys, kept in the store so every node and every restart signs
//! and verifies with the same keys.

use sqlx::Row;

use super::{Store, StoreResult};

/// A private key as stored: PKCS#8 PEM. The table is as sensitive as a key file.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    pub id: String,
    pub purpose: String,
    pub private_key_pem: String,
    pub created_at: i64,
}

impl Store {
    /// The keys of one purpose, oldest first.
    pub async fn signing_keys(&self, purpose: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT id, purpose, private_key_pem, created_at FROM signing_keys WHERE purpose = $1 ORDER BY created_at, id",
        )
        .bind(purpose)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRecord {
                    id: r.try_get("id")?,
                    purpose: r.try_get("purpose")?,
                    private_key_pem: r.try_get("private_key_pem")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Stores a new key; an id already present is left as it is.
    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (id, purpose, private_key_pem, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&key.id)
        .bind(&key.purpose)
        .bind(&key.private_key_pem)
        .bind(key.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
