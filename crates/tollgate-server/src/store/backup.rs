//! A consistent copy of the embedded store, made while it serves.
//!
//! SQLite's `VACUUM INTO` writes one transaction's snapshot of the whole
//! database to a new file; writers are not stopped. The copy is written
//! under a temporary name with mode 0600 (it holds the private signing
//! keys), checked, flushed to disk and only then given its name, so a
//! file under the requested name is always a whole backup.

use std::path::{Path, PathBuf};

use super::{Backend, Store, sqlite_file};

/// What a finished backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backup {
    pub bytes: u64,
    pub schema_version: i64,
}

impl Store {
    /// Copies the store to `destination`, which must not exist yet.
    /// PostgreSQL stores are refused: `pg_dump` backs them up.
    pub async fn backup_to(&self, destination: &Path) -> anyhow::Result<Backup> {
        anyhow::ensure!(
            self.backend == Backend::Sqlite,
            "this command copies the embedded SQLite store; back up a PostgreSQL store with \
             pg_dump (see the README's section on backups)"
        );
        anyhow::ensure!(
            !destination.exists(),
            "{} exists already; a backup never overwrites a file, so name a new one",
            destination.display()
        );
        let partial = partial_name(destination);
        // A leftover of an interrupted backup to the same name is incomplete.
        let _ = std::fs::remove_file(&partial);
        sqlite_file::create_private(&partial)?;
        let written = self.write_snapshot(&partial).await;
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        let backup = written?;
        std::fs::rename(&partial, destination).map_err(|e| {
            anyhow::anyhow!("cannot name the backup {}: {e}", destination.display())
        })?;
        sync_directory_of(destination);
        Ok(backup)
    }

    async fn write_snapshot(&self, file: &Path) -> anyhow::Result<Backup> {
        let name = file
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
        sqlx::query("VACUUM INTO $1")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(|e| anyhow::anyhow!("cannot write the backup {name}: {e}"))?;
        let check =
            rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .and_then(|copy| {
                    let verdict: String =
                        copy.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
                    let version: Option<i64> =
                        copy.query_row("SELECT MAX(version) FROM schema_migrations", [], |row| {
                            row.get(0)
                        })?;
                    Ok((verdict, version.unwrap_or(0)))
                })
                .map_err(|e| anyhow::anyhow!("cannot read back the backup {name}: {e}"))?;
        anyhow::ensure!(
            check.0 == "ok",
            "the backup {name} failed its check: {}",
            check.0
        );
        let copy = std::fs::File::open(file)?;
        copy.sync_all()?;
        Ok(Backup {
            bytes: copy.metadata()?.len(),
            schema_version: check.1,
        })
    }
}

fn partial_name(destination: &Path) -> PathBuf {
    let mut name = destination.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Makes the rename durable; best effort (not every filesystem allows it).
fn sync_directory_of(file: &Path) {
    let directory = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if let Ok(directory) = std::fs::File::open(directory) {
        let _ = directory.sync_all();
    }
}
