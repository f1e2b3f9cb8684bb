//! `tollgate admin user ...` and `admin audit` against a store, checked
//! through the HTTP API.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;

use crate::support::*;

fn admin(database_url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("admin")
        .arg("user")
        .args(args)
        .args(["--database", database_url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tollgate admin runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn login_status(
    app: &TestApp,
    email: &str,
    password: &str,
    contract: Option<i32>,
) -> StatusCode {
    let mut request = app.get("/auth/v1/tokens").basic_auth(email, Some(password));
    if let Some(contract) = contract {
        request = request.header("X-Contract-Number", contract.to_string());
    }
    request.send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_list_set_password_and_delete_while_serving() {
    let app = TestApp::spawn().await;
    let db = app.database_url.clone();

    let created = admin(
        &db,
        &[
            "create",
            "--email",
            "Dev@Example.com",
            "--contract",
            "51000001",
            "--contract",
            "51000002",
            "--role",
            "admin",
            "--privilege",
            "accessAndManageRegistries",
            "--password-stdin",
        ],
        Some("stdin password\n"),
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(
        !stdout(&created).contains("stdin password"),
        "a given password is never printed"
    );
    assert_eq!(
        login_status(&app, "dev@example.com", "stdin password", Some(51_000_002)).await,
        StatusCode::OK
    );

    let listed = admin(&db, &["list"], None);
    let text = stdout(&listed);
    assert!(text.contains("dev@example.com"), "{text}");
    assert!(
        text.contains("51000001 (admin, accessAndManageRegistries)"),
        "{text}"
    );
    assert!(text.contains(OWNER_EMAIL), "{text}");
    assert!(!text.contains("argon2"), "hashes are never listed");

    let duplicate = admin(
        &db,
        &["create", "--email", "dev@example.com", "--contract", "1"],
        None,
    );
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));

    let reset = admin(&db, &["set-password", "--email", "dev@example.com"], None);
    assert!(reset.status.success());
    let generated = stdout(&reset)
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("a generated password is printed once")
        .to_owned();
    assert!(generated.len() >= 32);
    assert_eq!(
        login_status(&app, "dev@example.com", "stdin password", Some(51_000_001)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_status(&app, "dev@example.com", &generated, Some(51_000_001)).await,
        StatusCode::OK
    );

    let deleted = admin(&db, &["delete", "--email", "dev@example.com"], None);
    assert!(deleted.status.success());
    assert_eq!(
        login_status(&app, "dev@example.com", &generated, Some(51_000_001)).await,
        StatusCode::UNAUTHORIZED
    );
    let again = admin(&db, &["delete", "--email", "dev@example.com"], None);
    assert!(!again.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn create_generates_a_password_when_none_is_given_and_refuses_bad_input() {
    let app = TestApp::spawn().await;
    let db = app.database_url.clone();
    let created = admin(
        &db,
        &[
            "create",
            "--email",
            "gen@example.com",
            "--contract",
            "61000001",
        ],
        None,
    );
    assert!(created.status.success());
    let password = stdout(&created)
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .and_then(|l| l.split_whitespace().next())
        .expect("generated password printed")
        .to_owned();
    assert_eq!(
        login_status(&app, "gen@example.com", &password, None).await,
        StatusCode::OK
    );

    for bad in [
        vec!["create", "--email", "not-an-email", "--contract", "1"],
        vec!["create", "--email", "x@example.com", "--contract", "-3"],
        vec![
            "create",
            "--email",
            "x@example.com",
            "--contract",
            "1",
            "--privilege",
            "root",
        ],
        vec![
            "create",
            "--email",
            "x@example.com",
            "--contract",
            "1",
            "--role",
            "king",
        ],
    ] {
        let output = admin(&db, &bad, None);
        assert!(!output.status.success(), "{bad:?} must fail");
        assert!(!output.stderr.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_reads_every_contracts_audit_trail() {
    let app = TestApp::spawn().await;
    let db = app.database_url.clone();
    let created = admin(
        &db,
        &[
            "create",
            "--email",
            "audited@example.com",
            "--contract",
            "62000001",
        ],
        None,
    );
    assert!(created.status.success());
    let response = app
        .as_user("audited@example.com", "not the password")
        .get("/auth/v1/tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let audit = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["admin", "audit", "--database", &db, "--json"])
            .args(args)
            .output()
            .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let refused = loop {
        let output = audit(&["--action", "login.refused"]);
        assert!(output.status.success(), "{output:?}");
        let lines = stdout(&output);
        if !lines.is_empty() {
            break lines;
        }
        assert!(std::time::Instant::now() < deadline, "no refusal recorded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let event: serde_json::Value = serde_json::from_str(refused.lines().next().unwrap()).unwrap();
    assert_eq!(event["contract"], 62_000_001);
    assert_eq!(event["actor"]["name"], "audited@example.com");
    assert!(!refused.contains("not the password"));

    // Every contract's events, the newest first, filterable by contract.
    let all = stdout(&audit(&["--action", "account.created"]));
    assert_eq!(
        all.lines().count(),
        2,
        "the first owner and this account: {all}"
    );
    let one = stdout(&audit(&["--contract", &OWNER_CONTRACT.to_string()]));
    assert!(
        one.lines()
            .all(|l| l.contains(&format!("\"contract\":{OWNER_CONTRACT}"))),
        "{one}"
    );
    let bad = audit(&["--since", "yesterday"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since"));
}
