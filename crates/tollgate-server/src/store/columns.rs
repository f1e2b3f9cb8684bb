//! Reading columns by name from either driver's rows, so each record is
//! mapped by one function whichever path (sqlx or the SQLite read path) ran
//! the query, into the domain's types.

use std::cell::Cell;

use sqlx::Row;
use sqlx::any::AnyRow;

use tollgate_api::auth::ContractNumber;

use super::{StoreError, StoreResult};

/// A Rust type a column can be read as.
pub(super) trait Column: Sized {
    fn from_any(row: &AnyRow, name: &str) -> StoreResult<Self>;
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> StoreResult<Self>;
}

macro_rules! columns {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn from_any(row: &AnyRow, name: &str) -> StoreResult<Self> {
                Ok(row.try_get::<$t, _>(name)?)
            }

            fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> StoreResult<Self> {
                row.get::<_, $t>(index).map_err(StoreError::from)
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

/// A row of the SQLite read path. Mappers read columns mostly in `SELECT`
/// order, so each lookup first tries the column after the previous one:
/// one comparison with the statement's column names, read once per query
/// (not per row and column: rusqlite checks each name's UTF-8 anew).
pub(super) struct SqliteRow<'a> {
    row: &'a rusqlite::Row<'a>,
    names: &'a [String],
    next: Cell<usize>,
}

impl<'a> SqliteRow<'a> {
    pub(super) fn new(row: &'a rusqlite::Row<'a>, names: &'a [String]) -> Self {
        Self {
            row,
            names,
            next: Cell::new(0),
        }
    }
}

impl Columns for SqliteRow<'_> {
    fn get<T: Column>(&self, name: &str) -> StoreResult<T> {
        let guess = self.next.get();
        let index = if self.names.get(guess).is_some_and(|n| n == name) {
            guess
        } else {
            self.names
                .iter()
                .position(|n| *n == name)
                .ok_or_else(|| rusqlite::Error::InvalidColumnName(name.to_owned()))?
        };
        self.next.set(index + 1);
        T::from_sqlite(self.row, index)
    }
}

/// A column's value turned into a domain type; a value the store should
/// never hold (a corrupt or hand-edited row) is an error naming the column.
pub(super) fn parsed<T, E: std::fmt::Display>(
    column: &str,
    result: Result<T, E>,
) -> StoreResult<T> {
    result.map_err(|e| StoreError::backend(format!("column {column} holds an invalid value: {e}")))
}

/// A contract number column.
pub(super) fn contract(row: &impl Columns, column: &str) -> StoreResult<ContractNumber> {
    contract_number(column, row.get(column)?)
}

/// A contract number read from `column`.
pub(super) fn contract_number(column: &str, value: i64) -> StoreResult<ContractNumber> {
    let number = i32::try_from(value).map_err(|e| e.to_string());
    parsed(
        column,
        number.and_then(|n| ContractNumber::new(n).map_err(|e| e.to_string())),
    )
}
