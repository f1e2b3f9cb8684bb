//! The persistence port: one [`Store`] over SQLite (embedded default) or PostgreSQL.
//!
//! Every query is written once in the portable subset of SQL both engines
//! share (`$N` placeholders, `ON CONFLICT`, BIGINT seconds, TEXT ids) and runs
//! through sqlx's `Any` driver, so the two adapters cannot drift apart.
//! Migrations are versioned files applied in order at connect time.
//! This module must not know about HTTP or JSON.

mod audit;
mod auth_tokens;
mod backup;
mod columns;
mod console_sessions;
mod keys;
mod migrations;
mod query;
mod registries;
mod registry_tokens;
mod repositories;
mod repository_resync;
mod sqlite_file;
mod sqlite_reads;
mod token_pages;
mod token_uses;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use audit::{ActorKind, AuditEvent, AuditQuery, Outcome};
pub use auth_tokens::{AuthTokenRecord, BearerLookup};
pub use backup::Backup;
pub use console_sessions::{ConsoleSessionLookup, ConsoleSessionRecord, Replaces};
pub use keys::{KeyRotation, SigningKeyRecord};
pub use migrations::SCHEMA_VERSION;
pub use registries::{
    ConnectedRegistry, NotifierLogin, RegistryPage, RegistryPatch, RegistryRecord,
    RegistrySettings, StorageUse,
};
pub use registry_tokens::{LoginToken, RegistryTokenRecord, TokenPatch, TokenSettings};
pub use repositories::{
    ArtifactRecord, Order, OrderColumn, RegistryChange, RepositoryRecord, Window,
};
pub use repository_resync::{RepositoryReading, SeenArtifact};
pub use token_uses::{LastUse, TokenUse, UsedToken};
pub use users::{Account, Membership, NewUser, UserRecord};

/// When a row was created and last changed, and by whom (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamps {
    pub created_at: i64,
    pub created_by: String,
    pub created_by_user_id: String,
    pub modified_at: Option<i64>,
    pub modified_by: Option<String>,
    pub modified_by_user_id: Option<String>,
}

/// One change: who made it and when. Every write of a registry or a token
/// takes the change it records, so the place where a change is written is
/// the place where it can be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub at: i64,
    pub by: String,
    pub by_user_id: String,
}

impl Stamps {
    /// The stamps of a row created by `change`.
    pub fn created(change: &Change) -> Self {
        Self {
            created_at: change.at,
            created_by: change.by.clone(),
            created_by_user_id: change.by_user_id.clone(),
            modified_at: None,
            modified_by: None,
            modified_by_user_id: None,
        }
    }

    fn from_row(row: &impl columns::Columns) -> StoreResult<Self> {
        Ok(Self {
            created_at: row.get("created_at")?,
            created_by: row.get("created_by")?,
            created_by_user_id: row.get("created_by_user_id")?,
            modified_at: row.get("modified_at")?,
            modified_by: row.get("modified_by")?,
            modified_by_user_id: row.get("modified_by_user_id")?,
        })
    }

    /// The stamp columns' values, in [`STAMP_COLUMNS`] order.
    fn params(&self) -> [query::Param<'_>; 6] {
        use query::Param;
        [
            Param::int(self.created_at),
            Param::str(&self.created_by),
            Param::str(&self.created_by_user_id),
            Param::opt_int(self.modified_at),
            Param::opt_str(self.modified_by.as_deref()),
            Param::opt_str(self.modified_by_user_id.as_deref()),
        ]
    }
}

/// The stamp columns, in the order [`Stamps::params`] gives their values.
macro_rules! stamp_columns {
    () => {
        "created_at, created_by, created_by_user_id, modified_at, modified_by, modified_by_user_id"
    };
}
pub(crate) use stamp_columns;

/// Failures of the store, in the terms callers act on.
#[derive(Debug)]
pub enum StoreError {
    /// A uniqueness rule refused the write (an e-mail, a name already taken).
    Conflict,
    /// The row the write hangs off (a registry) no longer exists.
    MissingParent,
    /// Anything else: the database is unreachable, full, or corrupt.
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict => f.write_str("a uniqueness constraint refused the write"),
            StoreError::MissingParent => f.write_str("the parent row of the write does not exist"),
            StoreError::Backend(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// A database error, counted in the `tollgate_store_errors` metric.
    pub(crate) fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        crate::ops::metrics::STORE_ERRORS.inc();
        StoreError::Backend(error.into())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::MissingParent,
            _ => StoreError::backend(e),
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

impl Backend {
    /// Connections a node's pool opens at most unless told otherwise: one
    /// SQLite file takes one writer at a time; a PostgreSQL server is
    /// shared by the nodes, whose pools together must stay below its
    /// `max_connections`.
    pub fn default_pool_size(self) -> u32 {
        match self {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        }
    }

    /// A query of the database's own clock, in Unix seconds (`now`): the
    /// one clock every node shares.
    fn clock_sql(self) -> &'static str {
        match self {
            Backend::Sqlite => "SELECT CAST(strftime('%s', 'now') AS BIGINT) AS now",
            Backend::Postgres => {
                "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT) AS now"
            }
        }
    }
}

/// The connection pool's use at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUse {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

/// A pool of connections to the database, with the schema migrated.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The in-thread read path for hot lookups on an SQLite file.
    reads: Option<std::sync::Arc<sqlite_reads::SqliteReads>>,
    /// Keys of every 1024th token per registry, for deep pages.
    page_marks: std::sync::Arc<token_pages::PageMarks>,
}

impl Store {
    /// Connects to `url` (`sqlite://FILE` or `postgres://...`), creating an
    /// SQLite file if needed, and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        Self::connect_with_pool(url, None).await
    }

    /// Like [`Store::connect`], with at most `max_connections` connections
    /// open at once ([`Backend::default_pool_size`] when `None`).
    pub async fn connect_with_pool(
        url: &str,
        max_connections: Option<u32>,
    ) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(url)?;
        if let Some(path) = sqlite_file::path_of(&url) {
            sqlite_file::prepare(path)?;
        }
        let options = AnyConnectOptions::from_str(&url)?;
        let max_connections = max_connections.unwrap_or(backend.default_pool_size());
        anyhow::ensure!(
            max_connections >= 1,
            "the database pool needs at least one connection"
        );
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // A ping per acquire doubles the round trips of every query; a
            // broken connection still fails its query and is replaced.
            .test_before_acquire(false)
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
        let mut store = Store {
            pool,
            backend,
            reads: None,
            page_marks: Default::default(),
        };
        migrations::apply(&store).await?;
        if backend == Backend::Sqlite {
            store.reads = sqlite_reads::SqliteReads::for_url(&url).map(std::sync::Arc::new);
        }
        Ok(store)
    }

    /// The database's clock, in Unix seconds: comparable across nodes,
    /// whatever their own clocks say.
    pub async fn database_now(&self) -> StoreResult<i64> {
        self.database_now_on(&self.pool).await
    }

    /// [`Self::database_now`], read on `on` (a transaction's connection).
    pub(super) async fn database_now_on<'e>(
        &self,
        on: impl sqlx::Executor<'e, Database = sqlx::Any>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(self.backend.clock_sql())
            .fetch_one(on)
            .await?)
    }

    /// The highest migration applied (0 for an empty database).
    pub async fn schema_version(&self) -> StoreResult<i64> {
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(version.unwrap_or(0))
    }

    /// How many of the pool's connections are open and in use, open and
    /// idle, and how many it may open.
    pub fn pool_use(&self) -> PoolUse {
        let open = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(open);
        PoolUse {
            in_use: open.saturating_sub(idle),
            idle,
            max: self.pool.options().get_max_connections(),
        }
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn reads(&self) -> Option<&sqlite_reads::SqliteReads> {
        self.reads.as_deref()
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
