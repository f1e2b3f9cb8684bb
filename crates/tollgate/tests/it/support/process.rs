//! The real `tollgate serve` binary as a child process: for what only a
//! process shows (surviving `kill -9`, file modes under a umask, log lines).

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tempfile::NamedTempFile;

use super::{OWNER_CONTRACT, OWNER_EMAIL, OWNER_PASSWORD};

/// How to start the process.
#[derive(Debug, Default, Clone, Copy)]
pub struct ServeOptions<'a> {
    /// The umask to start it under (through `sh`).
    pub umask: Option<&'a str>,
    /// `TOLLGATE_LOG` (default `info`).
    pub log: Option<&'a str>,
    /// More `serve` arguments.
    pub args: &'a [&'a str],
}

/// A `tollgate serve` process on a fixed store; its standard error is kept.
pub struct Served {
    child: Child,
    pub base: String,
    stderr: NamedTempFile,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Served {
    /// Starts serving `database_url` (the first owner is the test owner)
    /// and waits until it is healthy.
    pub async fn start(database_url: &str) -> Served {
        Self::start_with(database_url, &ServeOptions::default()).await
    }

    /// Like [`Served::start`], with `options`.
    pub async fn start_with(database_url: &str, options: &ServeOptions<'_>) -> Served {
        let port = free_port();
        let binary = env!("CARGO_BIN_EXE_tollgate");
        let mut command = match options.umask {
            Some(mask) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", &format!("umask {mask} && exec \"$0\" \"$@\""), binary]);
                sh
            }
            None => Command::new(binary),
        };
        let stderr = NamedTempFile::new().expect("a file for standard error");
        let child = command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                database_url,
            ])
            .args(options.args)
            .env("TOLLGATE_ADMIN_EMAIL", OWNER_EMAIL)
            .env("TOLLGATE_ADMIN_PASSWORD", OWNER_PASSWORD)
            .env("TOLLGATE_ADMIN_CONTRACT", OWNER_CONTRACT.to_string())
            .env("TOLLGATE_LOG", options.log.unwrap_or("info"))
            .stdout(Stdio::null())
            .stderr(stderr.reopen().expect("standard error file"))
            .spawn()
            .expect("tollgate starts");
        let served = Served {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stderr,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.get(format!("{}/healthz", served.base)).send().await
                && response.status() == StatusCode::OK
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "tollgate did not become healthy: {}",
                served.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        served
    }

    /// Everything the process wrote to standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// SIGTERM, then waits (at most a minute) for the process to exit.
    pub fn terminate(mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM delivered");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("process status") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "tollgate did not exit after SIGTERM: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
