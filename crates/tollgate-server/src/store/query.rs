//! Running one statement on either backend, with its parameters given once.
//!
//! A query names its SQL, its parameters as a list of [`Param`]s, and the
//! record it maps to ([`FromRow`]). [`Store::read_optional`] and
//! [`Store::read_all`] run reads on the SQLite read path (in-thread,
//! rusqlite) when there is one and through sqlx otherwise, binding the same
//! list either way, so a parameter cannot be bound for one backend only.
//! Writes always go through sqlx ([`Store::execute`], [`bind`] inside a
//! transaction). [`Assignments`] builds the `SET` list of an `UPDATE` that
//! writes only some columns, with its values in the same order.

use std::borrow::Cow;

use rusqlite::types::{ToSql, ToSqlOutput, Value, ValueRef};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use tollgate_api::auth::ContractNumber;

use super::audit::{AuditEvent, insert_events};
use super::columns::{Column, Columns};
use super::{Change, Store, StoreResult};

/// One bound value: text or an integer, either possibly `NULL`.
#[derive(Debug, Clone)]
pub(super) enum Param<'a> {
    Text(Option<Cow<'a, str>>),
    Int(Option<i64>),
}

impl<'a> Param<'a> {
    pub(super) fn str(value: &'a str) -> Self {
        Param::Text(Some(Cow::Borrowed(value)))
    }

    pub(super) fn opt_str(value: Option<&'a str>) -> Self {
        Param::Text(value.map(Cow::Borrowed))
    }

    pub(super) fn string(value: String) -> Self {
        Param::Text(Some(Cow::Owned(value)))
    }

    pub(super) fn int(value: i64) -> Self {
        Param::Int(Some(value))
    }

    pub(super) fn opt_int(value: Option<i64>) -> Self {
        Param::Int(value)
    }

    pub(super) fn contract(contract: ContractNumber) -> Self {
        Param::int(i64::from(contract.get()))
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Param::Text(Some(text)) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))),
            Param::Text(None) => Ok(ToSqlOutput::Owned(Value::Null)),
            Param::Int(int) => int.to_sql(),
        }
    }
}

/// Binds `params` to `$1`, `$2`, ... of a sqlx query.
pub(super) fn bind<'q>(
    mut query: Query<'q, sqlx::Any, AnyArguments<'q>>,
    params: &'q [Param<'_>],
) -> Query<'q, sqlx::Any, AnyArguments<'q>> {
    for param in params {
        query = match param {
            Param::Text(text) => query.bind(text.as_deref()),
            Param::Int(int) => query.bind(*int),
        };
    }
    query
}

/// A record read from one result row, by either driver.
pub(super) trait FromRow: Sized {
    fn from_row(row: &impl Columns) -> StoreResult<Self>;
}

impl Store {
    /// The first row of a read, mapped.
    pub(super) async fn read_optional<T: FromRow>(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> StoreResult<Option<T>> {
        if let Some(reads) = self.reads() {
            let params = rusqlite::params_from_iter(params);
            return reads.optional(sql, params, |row| T::from_row(row));
        }
        let row = bind(sqlx::query(sql), params)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(T::from_row).transpose()
    }

    /// Every row of a read, mapped.
    pub(super) async fn read_all<T: FromRow>(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> StoreResult<Vec<T>> {
        if let Some(reads) = self.reads() {
            let params = rusqlite::params_from_iter(params);
            return reads.all(sql, params, |row| T::from_row(row));
        }
        let rows = bind(sqlx::query(sql), params)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(T::from_row).collect()
    }

    /// A write that answers the row it wrote (`... RETURNING`), and records
    /// `event` with it, in one transaction; nothing is recorded if no row was written.
    pub(super) async fn write_returning_recorded<T: FromRow>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        event: &AuditEvent,
    ) -> StoreResult<Option<T>> {
        let mut tx = self.pool().begin().await?;
        let row = bind(sqlx::query(sql), params)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let written = T::from_row(&row)?;
        insert_events(&mut tx, std::slice::from_ref(event)).await?;
        tx.commit().await?;
        Ok(Some(written))
    }

    /// One statement and, if it touched any row, `events` with it, in one
    /// transaction; answers how many rows it touched.
    pub(super) async fn execute_recorded(
        &self,
        sql: &str,
        params: &[Param<'_>],
        events: &[AuditEvent],
    ) -> StoreResult<u64> {
        let mut tx = self.pool().begin().await?;
        let touched = bind(sqlx::query(sql), params)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if touched > 0 {
            insert_events(&mut tx, events).await?;
        }
        tx.commit().await?;
        Ok(touched)
    }

    /// A write through sqlx; answers how many rows it touched.
    pub(super) async fn execute(&self, sql: &str, params: &[Param<'_>]) -> StoreResult<u64> {
        let done = bind(sqlx::query(sql), params).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}

/// The one column of a query, selected `AS value`.
pub(super) struct Single<T>(pub(super) T);

impl<T: Column> FromRow for Single<T> {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        Ok(Single(row.get("value")?))
    }
}

/// `COUNT(*) AS n` of a query.
pub(super) struct Count(pub(super) i64);

impl FromRow for Count {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        Ok(Count(row.get("n")?))
    }
}

/// The `column = $n` assignments of an `UPDATE` that writes only some
/// columns, with their values in the same order (so a column and its value
/// cannot drift apart); the `WHERE` parameters follow them.
#[derive(Default)]
pub(super) struct Assignments<'a> {
    columns: Vec<&'static str>,
    params: Vec<Param<'a>>,
}

impl<'a> Assignments<'a> {
    pub(super) fn set(&mut self, column: &'static str, value: Param<'a>) {
        self.columns.push(column);
        self.params.push(value);
    }

    /// The `modified_*` stamp columns of `change`.
    pub(super) fn change(&mut self, change: &'a Change) {
        self.set("modified_at", Param::int(change.at));
        self.set("modified_by", Param::str(&change.by));
        self.set("modified_by_user_id", Param::str(&change.by_user_id));
    }

    /// `a = $1, b = $2, ...`, and the number of the first placeholder after them.
    pub(super) fn clause(&self) -> (String, usize) {
        let assignments: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, column)| format!("{column} = ${}", i + 1))
            .collect();
        (assignments.join(", "), self.columns.len() + 1)
    }

    /// The values, to which the `WHERE` parameters are appended.
    pub(super) fn into_params(self) -> Vec<Param<'a>> {
        self.params
    }
}
