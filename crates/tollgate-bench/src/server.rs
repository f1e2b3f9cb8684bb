//! Starting the release binaries as child processes and reading their memory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process that is killed when dropped.
pub struct Process {
    pub child: Child,
    pub address: SocketAddr,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Peak resident set size so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        status_field(self.child.id(), "VmHWM:")
    }
}

/// The peak resident set sizes of `processes`, added up, in MiB.
pub fn total_peak_rss_mib(processes: &[&Process]) -> f64 {
    processes.iter().map(|p| p.peak_rss_mib()).sum()
}

fn status_field(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// The release binaries, built (or found up to date) by cargo.
pub fn build_release() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    // `cargo run` gave this process its package's variables; build scripts
    // that watch them (ring's) would see them change and rebuild everything.
    for (name, _) in std::env::vars() {
        let from_cargo_run = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || matches!(
                name.as_str(),
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR"
            );
        if from_cargo_run {
            command.env_remove(name);
        }
    }
    let status = command
        .args([
            "build",
            "--release",
            "-p",
            "tollgate",
            "-p",
            "tollgate-bench",
            "--bins",
        ])
        .status()?;
    anyhow::ensure!(status.success(), "cargo build --release failed");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    Ok(target.join("release"))
}

pub fn free_address() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Starts `tollgate serve` on `database` and waits for `/healthz`.
pub async fn start_tollgate(bin: &Path, database: &str) -> anyhow::Result<Process> {
    start_tollgate_with(bin, database, &[]).await
}

/// Like [`start_tollgate`], with more `serve` arguments.
pub async fn start_tollgate_with(
    bin: &Path,
    database: &str,
    args: &[&str],
) -> anyhow::Result<Process> {
    let address = free_address()?;
    let child = Command::new(bin.join("tollgate"))
        .args([
            "serve",
            "--listen",
            &address.to_string(),
            "--database",
            database,
        ])
        .args(args)
        .env("TOLLGATE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let process = Process { child, address };
    wait_healthy(address).await?;
    Ok(process)
}

/// Waits until `/healthz` at `address` answers 200 (through a proxy, too).
pub async fn wait_healthy(address: SocketAddr) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(address).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let request =
                format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
            if stream.write_all(request.as_bytes()).await.is_ok() {
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer).await;
                if answer.starts_with(b"HTTP/1.1 200") {
                    return Ok(());
                }
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "tollgate did not become healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts the baseline server answering `body_bytes` of JSON.
pub fn start_baseline(bin: &Path, body_bytes: usize) -> anyhow::Result<Process> {
    use std::io::BufRead;
    let mut child = Command::new(bin.join("baseline"))
        .args(["127.0.0.1:0", &body_bytes.to_string()])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let address = line.trim().parse()?;
    Ok(Process { child, address })
}
