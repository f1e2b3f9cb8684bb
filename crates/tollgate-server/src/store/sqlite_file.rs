//! The embedded store's files on disk: created private, checked at start.
//!
//! The SQLite file holds the private signing keys beside the password
//! hashes, so nobody but the service's user may read it. SQLite gives its
//! `-wal` and `-shm` files the mode of the database file, so creating the
//! database file with mode 0600 (whatever the umask) makes all three
//! private. An existing store that others can read is used as it is, with a
//! warning saying how to fix it.

use std::path::Path;

/// The file path of an `sqlite:` URL; `None` for in-memory databases.
pub(super) fn path_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then_some(path)
}

/// Creates the database file, empty and with mode 0600, if it does not
/// exist; warns about files of an existing store that others may access.
pub(super) fn prepare(path: &str) -> anyhow::Result<()> {
    let file = Path::new(path);
    if !file.exists() {
        return create_private(file);
    }
    let shared: Vec<String> = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let candidate = format!("{path}{suffix}");
            shared_mode(Path::new(&candidate)).map(|mode| format!("{candidate} (mode {mode:o})"))
        })
        .collect();
    if !shared.is_empty() {
        tracing::warn!(
            "{} can be accessed by other users; the store holds the private signing keys and \
             password hashes: run chmod 600 {path} {path}-wal {path}-shm",
            shared.join(", ")
        );
    }
    Ok(())
}

#[cfg(unix)]
pub(super) fn create_private(file: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
    {
        Ok(_) => Ok(()),
        // Another process created it a moment ago: SQLite opens it as it is.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            "cannot create the database file {}: {e}",
            file.display()
        )),
    }
}

#[cfg(not(unix))]
pub(super) fn create_private(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// The permission bits of `file` when its group or others have any access.
#[cfg(unix)]
fn shared_mode(file: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn shared_mode(_: &Path) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_files_or_memory() {
        assert_eq!(path_of("sqlite://tollgate.db"), Some("tollgate.db"));
        assert_eq!(path_of("sqlite:/tmp/x.db?mode=rwc"), Some("/tmp/x.db"));
        assert_eq!(path_of("sqlite::memory:"), None);
        assert_eq!(path_of("postgres://h/db"), None);
    }
}
