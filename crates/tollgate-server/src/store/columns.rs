//! Reading columns by name from either driver's rows, so each record is
//! mapped by one function whichever path (sqlx or the SQLite read path) ran
//! the query.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{StoreError, StoreResult};

/// A Rust type a column can be read as.
pub(super) trait Column: Sized {
    fn from_any(row: &AnyRow, name: &str) -> StoreResult<Self>;
    fn from_sqlite(row: &rusqlite::Row<'_>, name: &str) -> StoreResult<Self>;
}

macro_rules! columns {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn from_any(row: &AnyRow, name: &str) -> StoreResult<Self> {
                Ok(row.try_get::<$t, _>(name)?)
            }

            fn from_sqlite(row: &rusqlite::Row<'_>, name: &str) -> StoreResult<Self> {
                row.get::<_, $t>(name).map_err(StoreError::from)
            }
        }
    )*};
}

columns!(String, i64, Option<i64>, Option<String>);

/// A result row of either driver.
pub(super) trait Columns {
    fn get<T: Column>(&self, name: &str) -> StoreResult<T>;
}

impl Columns for AnyRow {
    fn get<T: Column>(&self, name: &str) -> StoreResult<T> {
        T::from_any(self, name)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn get<T: Column>(&self, name: &str) -> StoreResult<T> {
        T::from_sqlite(self, name)
    }
}
