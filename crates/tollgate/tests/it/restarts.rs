//! Stopping and restoring the real binary: SIGTERM under load drops no
//! request, and a backup taken while serving restores every credential.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::process::Served;
use crate::support::{AnswerJson, OWNER_EMAIL, OWNER_PASSWORD, TestApp, token_id};

/// What one load worker saw.
#[derive(Debug, Default)]
struct Worked {
    answered: usize,
    /// Requests that got no answer, or an answer other than 200.
    failed: Vec<String>,
    /// Ids of the tokens generated with a 200.
    generated: Vec<String>,
    /// The server said `Connection: close` (it is draining).
    told_to_close: bool,
}

/// Sends requests back to back on one keep-alive connection until the
/// server ends it (`Connection: close`) or a request fails.
/// Generating workers make a token per request (a write with argon2);
/// the others read a token with a Bearer token.
async fn work(base: String, bearer: String, generating: bool) -> Worked {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let mut worked = Worked::default();
    loop {
        let request = if generating {
            client
                .get(format!("{base}/auth/v1/tokens/generate"))
                .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
                .query(&[("ttl", 3600)])
        } else {
            client
                .get(format!("{base}/auth/v1/tokens/{}", token_id(&bearer)))
                .bearer_auth(&bearer)
        };
        match request.send().await {
            Ok(response) => {
                let closing = response
                    .headers()
                    .get("connection")
                    .is_some_and(|v| v == "close");
                let status = response.status();
                match response.json::<Value>().await {
                    Ok(body) if status == StatusCode::OK => {
                        worked.answered += 1;
                        if generating {
                            worked
                                .generated
                                .push(token_id(body["token"].as_str().unwrap()).to_owned());
                        }
                    }
                    Ok(body) => worked.failed.push(format!("{status}: {body}")),
                    Err(e) => worked
                        .failed
                        .push(format!("{status}, unreadable body: {e}")),
                }
                if closing {
                    worked.told_to_close = true;
                    return worked;
                }
            }
            Err(e) => {
                worked.failed.push(format!("no answer: {e:?}"));
                return worked;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_answers_every_request_sent_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("tollgate.db").display());
    let served = Served::start(&database_url).await;
    let client = reqwest::Client::new();
    let bearer: Value = client
        .get(format!("{}/auth/v1/tokens/generate", served.base))
        .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
        .answer_json()
        .await;
    let bearer = bearer["token"].as_str().unwrap().to_owned();

    let workers: Vec<_> = (0..8)
        .map(|i| tokio::spawn(work(served.base.clone(), bearer.clone(), i % 4 == 0)))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = tokio::task::spawn_blocking(move || served.terminate())
        .await
        .unwrap();
    assert!(
        status.success(),
        "tollgate exits 0 after SIGTERM: {status:?}"
    );

    let mut generated = Vec::new();
    let mut answered = 0;
    for worker in workers {
        let worked = tokio::time::timeout(Duration::from_secs(30), worker)
            .await
            .expect("every worker ends once the server stops")
            .unwrap();
        assert!(
            worked.failed.is_empty(),
            "requests failed during shutdown: {:?}",
            worked.failed
        );
        assert!(
            worked.told_to_close,
            "each keep-alive connection was ended with Connection: close"
        );
        answered += worked.answered;
        generated.extend(worked.generated);
    }
    assert!(answered > 100, "the load was real: {answered} answers");
    assert!(!generated.is_empty());

    // Every token acknowledged before the exit is in the store.
    let restarted = Served::start(&database_url).await;
    for id in &generated {
        let response = client
            .get(format!("{}/auth/v1/tokens/{id}", restarted.base))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "token {id} was kept");
    }
}

/// `tollgate admin backup` as a child process.
fn backup(database_url: &str, to: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["admin", "backup", "--database", database_url, "--to"])
        .arg(to)
        .output()
        .expect("tollgate admin backup runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_serving_restores_every_credential() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("tollgate.db");
    let database_url = format!("sqlite://{}", database.display());
    let served = Served::start(&database_url).await;
    let base = served.base.clone();
    let client = reqwest::Client::new();
    let generate = {
        let (client, base) = (client.clone(), base.clone());
        move |ttl: u32| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let body: Value = client
                    .get(format!("{base}/auth/v1/tokens/generate"))
                    .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
                    .query(&[("ttl", ttl)])
                    .answer_json()
                    .await;
                body["token"].as_str().unwrap().to_owned()
            }
        }
    };
    let access_tokens = [generate(3600).await, generate(7200).await];
    let registry: Value = client
        .post(format!("{base}/containerregistries/registries"))
        .bearer_auth(&access_tokens[0])
        .json(&json!({"properties": {"name": "kept", "location": "de/fra"}}))
        .answer_json()
        .await;
    let created: Value = client
        .post(format!(
            "{base}/containerregistries/registries/{}/tokens",
            registry["id"].as_str().unwrap()
        ))
        .bearer_auth(&access_tokens[0])
        .json(&json!({"properties": {"name": "ci", "scopes": [
            {"name": "app", "actions": ["pull", "push"], "type": "repository"}
        ]}}))
        .answer_json()
        .await;
    let password = created["properties"]["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_owned();

    // Writes go on while the backup is taken.
    let writing = tokio::spawn({
        let generate = generate.clone();
        async move {
            for _ in 0..10 {
                generate(60).await;
            }
        }
    });
    let backup_file = dir.path().join("backup.db");
    let to = backup_file.clone();
    let url = database_url.clone();
    let made = tokio::task::spawn_blocking(move || backup(&url, &to))
        .await
        .unwrap();
    assert!(
        made.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(String::from_utf8_lossy(&made.stdout).contains("backup written to"));
    writing.await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "the backup holds private keys");
    }
    let again = backup(&database_url, &backup_file);
    assert_eq!(
        again.status.code(),
        Some(1),
        "an existing file is never overwritten"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // Restore: stop, copy back, start.
    let status = tokio::task::spawn_blocking(move || served.terminate())
        .await
        .unwrap();
    assert!(status.success());
    // What was written after the backup is lost with the restore.
    std::fs::copy(&backup_file, &database).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    let restored = Served::start(&database_url).await;
    for token in &access_tokens {
        let response = client
            .get(format!(
                "{}/auth/v1/tokens/{}",
                restored.base,
                token_id(token)
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "an access token works after the restore (signing keys restored with it)"
        );
    }
    let login = client
        .get(format!("{}/registry/token", restored.base))
        .query(&[
            ("service", "kept.cr.localhost"),
            ("scope", "repository:app:pull,push"),
        ])
        .basic_auth("ci", Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK, "the registry token logs in");
    let body: Value = login.json().await.unwrap();
    assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn a_postgresql_store_is_pointed_to_pg_dump() {
    if std::env::var("TOLLGATE_TEST_POSTGRES").is_ok_and(|url| url.is_empty()) {
        return;
    }
    let app = TestApp::spawn().await;
    if !app.database_url.starts_with("postgres") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let refused = backup(&app.database_url, &dir.path().join("backup.db"));
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pg_dump"));
}
