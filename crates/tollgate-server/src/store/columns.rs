//! Reading columns by name from either driver's rows, so each record is
//! mapped by one function whichever path (sqlx or the SQLite read path) ran
//! the query; and writing only some columns of a row ([`Assignments`]).

use std::cell::Cell;

use sqlx::Row;
use sqlx::any::AnyRow;

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
/// one name comparison per column instead of a scan of all names.
pub(super) struct SqliteRow<'a> {
    row: &'a rusqlite::Row<'a>,
    next: Cell<usize>,
}

impl<'a> SqliteRow<'a> {
    pub(super) fn new(row: &'a rusqlite::Row<'a>) -> Self {
        Self {
            row,
            next: Cell::new(0),
        }
    }
}

impl Columns for SqliteRow<'_> {
    fn get<T: Column>(&self, name: &str) -> StoreResult<T> {
        let statement = self.row.as_ref();
        let guess = self.next.get();
        let index = match statement.column_name(guess) {
            Ok(found) if found == name => guess,
            _ => statement.column_index(name)?,
        };
        self.next.set(index + 1);
        T::from_sqlite(self.row, index)
    }
}

/// One value of an [`Assignments`] list.
enum Value {
    Text(String),
    Int(Option<i64>),
}

/// The `column = $n` assignments of an `UPDATE` that writes only some
/// columns, with their values, bound in the order they were added (so a
/// column and its value cannot drift apart).
#[derive(Default)]
pub(super) struct Assignments {
    columns: Vec<&'static str>,
    values: Vec<Value>,
}

impl Assignments {
    pub(super) fn text(&mut self, column: &'static str, value: String) {
        self.columns.push(column);
        self.values.push(Value::Text(value));
    }

    pub(super) fn int(&mut self, column: &'static str, value: Option<i64>) {
        self.columns.push(column);
        self.values.push(Value::Int(value));
    }

    /// The `modified_*` audit columns of `change`.
    pub(super) fn change(&mut self, change: &super::Change) {
        self.int("modified_at", Some(change.at));
        self.text("modified_by", change.by.clone());
        self.text("modified_by_user_id", change.by_user_id.clone());
    }

    /// How many placeholders the assignments use (`$1` to `$count`).
    pub(super) fn count(&self) -> usize {
        self.columns.len()
    }

    /// `a = $1, b = $2, ...`
    pub(super) fn clause(&self) -> String {
        let assignments: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, column)| format!("{column} = ${}", i + 1))
            .collect();
        assignments.join(", ")
    }

    /// Binds the values to `$1` .. `$count` of `query`.
    pub(super) fn bind<'q>(
        self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for value in self.values {
            query = match value {
                Value::Text(text) => query.bind(text),
                Value::Int(int) => query.bind(int),
            };
        }
        query
    }
}
