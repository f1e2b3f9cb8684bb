//! What was acknowledged survives `kill -9`: the real binary, killed and restarted.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{OWNER_CONTRACT, OWNER_EMAIL, OWNER_PASSWORD, token_id};

/// A `tollgate serve` process on a fixed store.
struct Served {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn serve(database_url: &str) -> Served {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database",
            database_url,
        ])
        .env("TOLLGATE_ADMIN_EMAIL", OWNER_EMAIL)
        .env("TOLLGATE_ADMIN_PASSWORD", OWNER_PASSWORD)
        .env("TOLLGATE_ADMIN_CONTRACT", OWNER_CONTRACT.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tollgate starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status() == StatusCode::OK
        {
            break;
        }
        assert!(Instant::now() < deadline, "tollgate did not become healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Served { child, base }
}

impl Served {
    /// SIGKILL: no chance to flush anything.
    fn kill_hard(mut self) {
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

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_generation_and_deletion_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("tollgate.db").display());
    let client = reqwest::Client::new();

    let first = serve(&database_url).await;
    let generate = |base: String| {
        let client = client.clone();
        async move {
            let body: Value = client
                .get(format!("{base}/auth/v1/tokens/generate"))
                .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["token"].as_str().unwrap().to_owned()
        }
    };
    let kept = generate(first.base.clone()).await;
    let deleted = generate(first.base.clone()).await;
    let response = client
        .delete(format!(
            "{}/auth/v1/tokens/{}",
            first.base,
            token_id(&deleted)
        ))
        .bearer_auth(&kept)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    first.kill_hard();

    let second = serve(&database_url).await;
    let response = client
        .get(format!("{}/auth/v1/tokens", second.base))
        .bearer_auth(&kept)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the kept token still works after restart"
    );
    let body: Value = response.json().await.unwrap();
    let ids: Vec<&str> = body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [token_id(&kept)]);
    let response = client
        .get(format!("{}/auth/v1/tokens", second.base))
        .bearer_auth(&deleted)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the deleted token stays deleted"
    );
}
