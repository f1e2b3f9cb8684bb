//! The persistence port: one [`Store`] over SQLite (embedded default) or PostgreSQL.
//!
//! Every query is written once in the portable subset of SQL both engines
//! share (`$N` placeholders, `ON CONFLICT`, BIGINT seconds, TEXT ids) and runs
//! through sqlx's `Any` driver, so the two adapters cannot drift apart.
//! Migrations are versioned files applied in order at connect time.
//! This module must not know about HTTP or JSON.

mod auth_tokens;
mod keys;
mod migrations;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use auth_tokens::{AuthTokenRecord, BearerLookup};
pub use keys::SigningKeyRecord;
pub use users::{Membership, NewUser, UserRecord};

/// Failures of the store, in the terms callers act on.
#[derive(Debug)]
pub enum StoreError {
    /// A uniqueness rule refused the write (an e-mail, a name already taken).
    Conflict,
    /// Anything else: the database is unreachable, full, or corrupt.
    Backend(sqlx::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict => f.write_str("a uniqueness constraint refused the write"),
            StoreError::Backend(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Backend(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections to the database, with the schema migrated.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite://FILE` or `postgres://...`), creating an
    /// SQLite file if needed, and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(url)?;
        let options = AnyConnectOptions::from_str(&url)?;
        let max_connections = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL with FULL sync: a commit is on disk before it is acknowledged.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
        let store = Store { pool, backend };
        migrations::apply(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers whether the database accepts a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// Checks the scheme and, for SQLite, asks for the file to be created if missing.
fn normalise_url(url: &str) -> anyhow::Result<(Backend, String)> {
    if url.starts_with("sqlite:") {
        let has_mode = url.contains("mode=");
        let url = match (has_mode, url.contains('?')) {
            (true, _) => url.to_owned(),
            (false, true) => format!("{url}&mode=rwc"),
            (false, false) => format!("{url}?mode=rwc"),
        };
        Ok((Backend::Sqlite, url))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Backend::Postgres, url.to_owned()))
    } else {
        anyhow::bail!(
            "unsupported database URL {:?}: use sqlite://FILE or postgres://USER@HOST/DB",
            url.split(['?', '@']).next().unwrap_or_default()
        )
    }
}
