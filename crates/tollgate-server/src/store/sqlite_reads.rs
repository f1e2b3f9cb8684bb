//! The SQLite read path for the hot lookups (Bearer and Basic
//! authentication, registry logins, token lists).
//!
//! sqlx runs every SQLite statement on a worker thread and hands the result
//! back through channels; on a lookup that takes microseconds, those thread
//! hand-offs cost more than the query. Here the same SQL runs on the calling
//! thread, on a small pool of connections to the same file (WAL lets them
//! read while sqlx writes). Writes always go through sqlx.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, Params};

use super::columns::SqliteRow;
use super::{StoreError, StoreResult};

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 16;

#[derive(Debug)]
pub struct SqliteReads {
    path: String,
    idle: Mutex<Vec<ReadConnection>>,
}

/// A read-only connection, with the column names of the statements it ran:
/// rows are mapped by name, and rusqlite re-checks a name's UTF-8 at every
/// lookup, which cost more than the rest of a row's mapping.
#[derive(Debug)]
struct ReadConnection {
    connection: Connection,
    names: ColumnNames,
}

/// Column names by statement text; the texts are the service's own, so a
/// fast hasher is safe.
type ColumnNames = HashMap<String, Arc<[String]>, foldhash::fast::RandomState>;

/// The column names of `statement`, which runs `sql`, remembered in `known`.
fn names_of(
    known: &mut ColumnNames,
    sql: &str,
    statement: &rusqlite::Statement<'_>,
) -> Arc<[String]> {
    if let Some(names) = known.get(sql) {
        return names.clone();
    }
    let names: Arc<[String]> = (0..statement.column_count())
        .map(|i| statement.column_name(i).unwrap_or_default().to_owned())
        .collect();
    known.insert(sql.to_owned(), names.clone());
    names
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::backend(e)
    }
}

impl SqliteReads {
    /// A read path for the file of an `sqlite:` URL; `None` for in-memory databases.
    pub fn for_url(url: &str) -> Option<SqliteReads> {
        let path = super::sqlite_file::path_of(url)?;
        Some(SqliteReads {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        })
    }

    fn with<R>(&self, work: impl FnOnce(&mut ReadConnection) -> StoreResult<R>) -> StoreResult<R> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut connection = match pooled {
            Some(connection) => connection,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let connection = Connection::open_with_flags(&self.path, flags)?;
                connection.busy_timeout(std::time::Duration::from_secs(10))?;
                ReadConnection {
                    connection,
                    names: ColumnNames::default(),
                }
            }
        };
        let result = work(&mut connection);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(connection);
        }
        result
    }

    /// The first row of `sql`, mapped.
    pub fn optional<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl Fn(&SqliteRow<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.with(|ReadConnection { connection, names }| {
            let mut statement = connection.prepare_cached(sql)?;
            let names = names_of(names, sql, &statement);
            let mut rows = statement.query(params)?;
            let found = rows
                .next()?
                .map(|row| map(&SqliteRow::new(row, &names)))
                .transpose();
            drop(rows);
            count_steps(&statement);
            found
        })
    }

    /// Rows 0, n, 2n, ... of `sql`, mapped; the others are only stepped over.
    pub fn every_nth<T>(
        &self,
        sql: &str,
        params: impl Params,
        n: usize,
        map: impl Fn(&SqliteRow<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.with(|ReadConnection { connection, names }| {
            let mut statement = connection.prepare_cached(sql)?;
            let names = names_of(names, sql, &statement);
            let mut rows = statement.query(params)?;
            let mut out = Vec::new();
            let mut index = 0usize;
            while let Some(row) = rows.next()? {
                if index.is_multiple_of(n.max(1)) {
                    out.push(map(&SqliteRow::new(row, &names))?);
                }
                index += 1;
            }
            drop(rows);
            count_steps(&statement);
            Ok(out)
        })
    }

    /// Every row of `sql`, mapped.
    pub fn all<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl Fn(&SqliteRow<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.every_nth(sql, params, 1, map)
    }
}

#[cfg(test)]
thread_local! {
    /// SQLite virtual-machine steps of the queries this thread ran: what
    /// unit tests read to show that a query did bounded work.
    pub(super) static VM_STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts the steps `statement` took into [`VM_STEPS`] (tests only).
#[cfg(test)]
fn count_steps(statement: &rusqlite::Statement<'_>) {
    let steps = statement.reset_status(rusqlite::StatementStatus::VmStep);
    VM_STEPS.with(|total| total.set(total.get() + steps.max(0) as u64));
}

#[cfg(not(test))]
fn count_steps(_: &rusqlite::Statement<'_>) {}
