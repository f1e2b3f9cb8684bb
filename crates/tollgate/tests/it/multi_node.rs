//! Three `tollgate serve` processes on one PostgreSQL behind HAProxy
//! (Debian's `haproxy`, configured by `deploy/haproxy.cfg`, which the
//! README's deployment guide shows):
//! load through the proxy, one node killed with `kill -9` mid-load.

#[path = "../../../../deploy/haproxy_config.rs"]
mod haproxy_config;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::private_postgres::PrivatePostgres;
use crate::support::process::{ServeOptions, Served};
use crate::support::{AnswerJson, OWNER_EMAIL, OWNER_PASSWORD, token_id};

#[test]
fn the_readme_shows_the_haproxy_configuration_that_is_tested() {
    let readme = include_str!("../../../../README.md");
    let shown = readme
        .split("`deploy/haproxy.cfg`")
        .nth(1)
        .and_then(|after| after.split("```\n").nth(1))
        .expect("the README shows deploy/haproxy.cfg in a code block");
    let tested: String = haproxy_config::DEPLOYED
        .lines()
        .skip_while(|line| line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(shown, tested, "README and deploy/haproxy.cfg differ");
}

/// HAProxy in the foreground, balancing over `nodes`; killed when dropped.
struct Haproxy {
    child: Child,
    base: String,
    _dir: TempDir,
}

impl Haproxy {
    fn start(nodes: &[&Served]) -> Haproxy {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let servers: Vec<String> = nodes
            .iter()
            .map(|node| node.base.trim_start_matches("http://").to_owned())
            .collect();
        let config = haproxy_config::pointed_at(&format!("127.0.0.1:{port}"), &servers);
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).unwrap();
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy is installed (scripts/test installs it)");
        let haproxy = Haproxy {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        haproxy
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request's outcome, and when it was answered.
struct Outcome {
    at: Instant,
    failure: Option<String>,
    /// The id of a token generated with a 200.
    generated: Option<String>,
}

/// Back-to-back requests through the proxy until `stop`: token
/// generation (a write) or a Bearer lookup (a read).
async fn work(base: String, bearer: String, writing: bool, stop: Arc<AtomicBool>) -> Vec<Outcome> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut outcomes = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let request = if writing {
            client
                .get(format!("{base}/auth/v1/tokens/generate"))
                .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
                .query(&[("ttl", 3600)])
        } else {
            client
                .get(format!("{base}/auth/v1/tokens/{}", token_id(&bearer)))
                .bearer_auth(&bearer)
        };
        let outcome = match request.send().await {
            Ok(response) if response.status() == StatusCode::OK => {
                match response.json::<Value>().await {
                    Ok(body) => Outcome {
                        at: Instant::now(),
                        failure: None,
                        generated: body["token"].as_str().map(|t| token_id(t).to_owned()),
                    },
                    Err(e) => Outcome {
                        at: Instant::now(),
                        failure: Some(format!("unreadable answer: {e}")),
                        generated: None,
                    },
                }
            }
            Ok(response) => Outcome {
                at: Instant::now(),
                failure: Some(format!("status {}", response.status())),
                generated: None,
            },
            Err(e) => Outcome {
                at: Instant::now(),
                failure: Some(format!("no answer: {e:?}")),
                generated: None,
            },
        };
        outcomes.push(outcome);
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_behind_haproxy_lose_no_acknowledged_write_when_one_is_killed() {
    let postgres = PrivatePostgres::start();
    let url = postgres.url();
    let options = ServeOptions {
        args: &[
            "--trusted-proxies",
            "127.0.0.1",
            "--database-max-connections",
            "6",
        ],
        ..Default::default()
    };
    // The first node migrates the empty database and creates the owner.
    let first = Served::start_with(&url, &options).await;
    let second = Served::start_with(&url, &options).await;
    let third = Served::start_with(&url, &options).await;
    let proxy = Haproxy::start(&[&first, &second, &third]);
    let client = reqwest::Client::new();
    let bearer: Value = client
        .get(format!("{}/auth/v1/tokens/generate", proxy.base))
        .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
        .answer_json()
        .await;
    let bearer = bearer["token"].as_str().unwrap().to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..6)
        .map(|i| {
            tokio::spawn(work(
                proxy.base.clone(),
                bearer.clone(),
                i < 2,
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let metrics = client
        .get(format!("{}/metrics", second.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("/auth/v1/tokens/{token_id}")
            && metrics.contains("/auth/v1/tokens/generate"),
        "the node about to be killed carries reads and writes"
    );
    assert!(
        metrics.contains("tollgate_store_pool_connections{state=\"max\"} 6"),
        "the pool size setting applies"
    );
    let killed_at = Instant::now();
    second.kill_hard();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::Relaxed);

    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.unwrap());
    }
    let settled = killed_at + Duration::from_secs(2);
    let failures: Vec<_> = outcomes.iter().filter(|o| o.failure.is_some()).collect();
    assert!(
        failures.len() <= 6,
        "only requests in flight on the killed node may fail: {:?}",
        failures.iter().map(|o| &o.failure).collect::<Vec<_>>()
    );
    for failure in &failures {
        assert!(
            failure.at >= killed_at && failure.at < settled,
            "a failure away from the kill: {:?}",
            failure.failure
        );
    }
    let succeeded_after = outcomes
        .iter()
        .filter(|o| o.failure.is_none() && o.at >= settled)
        .count();
    let written_after = outcomes
        .iter()
        .filter(|o| o.generated.is_some() && o.at >= settled)
        .count();
    assert!(
        succeeded_after >= 50 && written_after >= 2,
        "requests keep succeeding through the other two nodes: {succeeded_after} ({written_after} writes)"
    );

    // Every acknowledged write is in the database, seen through every node left.
    let generated: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| o.generated.as_ref())
        .collect();
    eprintln!(
        "{} requests, {} failed at the kill ({:?}), {succeeded_after} succeeded from 2 s after it; {} tokens generated",
        outcomes.len(),
        failures.len(),
        failures.iter().map(|o| &o.failure).collect::<Vec<_>>(),
        generated.len()
    );
    assert!(generated.len() >= 10, "{} writes", generated.len());
    for (i, id) in generated.iter().enumerate() {
        let node = if i % 2 == 0 { &first } else { &third };
        let response = client
            .get(format!("{}/auth/v1/tokens/{id}", node.base))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "token {id} was kept");
    }
}
