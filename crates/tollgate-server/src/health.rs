//! Whether the service can do its work: its store answers.

use crate::store::{Store, StoreError};

/// Checks what the service depends on.
pub struct Health {
    store: Store,
}

impl Health {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// `Ok` while the store answers a trivial query.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }
}
