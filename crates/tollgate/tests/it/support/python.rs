//! Python tools the tests drive (the official SDK, the schema fuzzer), each
//! in a virtual environment of its own under the target directory,
//! installed from a pinned requirements file on first use and again
//! whenever the file changes. Tests that need the same environment at the
//! same time wait for one installation.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One installation at a time (tests run in parallel threads).
static INSTALLING: Mutex<()> = Mutex::new(());

/// The Python of the environment `name`, with `requirements` (the file's
/// text; `file` is its path) installed.
pub fn venv_python(name: &str, requirements: &str, file: &Path) -> PathBuf {
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin").join("python");
    let marker = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(requirements) && python.exists() {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "python3 -m venv failed");
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(file)
        .status()
        .expect("pip runs");
    assert!(status.success(), "installing {} failed", file.display());
    std::fs::write(&marker, requirements).expect("marker written");
    python
}
