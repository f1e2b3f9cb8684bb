//! Whether the service can do its work: its store answers, with the
//! schema this build expects.

use crate::store::{PoolUse, Store, StoreError};

/// Why the service is not ready.
#[derive(Debug)]
pub enum NotReady {
    /// The store does not answer.
    Store(StoreError),
    /// The store answers with an older schema than this build's (a node
    /// started before another migrated it cannot have seen it yet; an
    /// older store needs this build to start once and migrate it).
    Schema { found: i64, expected: i64 },
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::Store(e) => write!(f, "the store does not answer: {e}"),
            NotReady::Schema { found, expected } => write!(
                f,
                "the store's schema is at version {found}, this build needs {expected}"
            ),
        }
    }
}

/// Checks what the service depends on.
pub struct Health {
    store: Store,
}

impl Health {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// `Ok` while the store answers and has every migration this build knows.
    pub async fn ready(&self) -> Result<(), NotReady> {
        let found = self.store.schema_version().await.map_err(NotReady::Store)?;
        let expected = crate::store::SCHEMA_VERSION;
        if found < expected {
            return Err(NotReady::Schema { found, expected });
        }
        Ok(())
    }

    /// The store's connection pool, as of now.
    pub fn pool_use(&self) -> PoolUse {
        self.store.pool_use()
    }
}
