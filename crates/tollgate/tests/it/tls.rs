//! HTTPS with `--tls-cert` and `--tls-key`: certificates made here, a
//! client that trusts only them, and a certificate swapped under a
//! running service.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tollgate_server::http::tls::TlsFiles;

use crate::support::*;

/// A self-signed certificate for `localhost` and 127.0.0.1: (cert PEM, key PEM).
fn certificate() -> (String, String) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    (made.cert.pem(), made.key_pair.serialize_pem())
}

fn install(files: &TlsFiles, (certificate, key): &(String, String)) {
    // Key first, then certificate: the order a renewal tool may well use.
    std::fs::write(&files.key, key).unwrap();
    std::fs::write(&files.certificate, certificate).unwrap();
}

/// A client with a fresh connection pool that trusts only `certificate`.
fn trusting(certificate: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(certificate.as_bytes()).unwrap())
        .build()
        .unwrap()
}

fn files_in(dir: &Path) -> TlsFiles {
    TlsFiles {
        certificate: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_https_and_takes_up_a_swapped_certificate_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    let first = certificate();
    install(&files, &first);
    let app = TestApp::spawn_configured(|config| config.tls = Some(files.clone())).await;
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);

    let client = trusting(&first.0);
    let response = client
        .get(format!("{}/auth/v1/tokens/generate", app.base))
        .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let token = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed: Value = client
        .get(format!("{}/auth/v1/tokens", app.base))
        .bearer_auth(&token)
        .answer_json()
        .await;
    assert!(
        listed["tokens"][0]["href"]
            .as_str()
            .is_some_and(|href| href.starts_with("https://")),
        "links use the https address: {listed}"
    );

    let plain = app.base.replacen("https://", "http://", 1);
    let answer = reqwest::get(format!("{plain}/healthz")).await;
    assert!(
        answer.is_err() || answer.is_ok_and(|r| r.status() != StatusCode::OK),
        "plain HTTP is not served on the TLS port"
    );

    let second = certificate();
    install(&files, &second);
    let renewed = trusting(&second.0);
    let mut served_renewed = false;
    for _ in 0..100 {
        if let Ok(response) = renewed.get(format!("{}/healthz", app.base)).send().await {
            assert_eq!(response.status(), StatusCode::OK);
            served_renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served_renewed, "the new certificate is served within 10 s");
    let stale = trusting(&first.0)
        .get(format!("{}/healthz", app.base))
        .send()
        .await;
    assert!(
        stale.is_err(),
        "new connections no longer see the old certificate"
    );
    let response = renewed
        .get(format!("{}/auth/v1/tokens", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "tokens outlive the swap");
}

#[tokio::test]
async fn the_binary_refuses_unusable_certificate_files_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    let (certificate, _) = certificate();
    let (_, other_key) = self::certificate();
    install(&files, &(certificate, other_key));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(format!("sqlite://{}", dir.path().join("t.db").display()))
        .arg("--tls-cert")
        .arg(&files.certificate)
        .arg("--tls-key")
        .arg(&files.key)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("does not belong to the certificate"),
        "{stderr}"
    );

    let alone = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--tls-cert"])
        .arg(&files.certificate)
        .output()
        .unwrap();
    assert_eq!(alone.status.code(), Some(2), "--tls-cert needs --tls-key");
}

#[tokio::test(flavor = "multi_thread")]
async fn over_https_the_console_cookie_is_secure_and_pinned_to_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    let made = certificate();
    install(&files, &made);
    let app = TestApp::spawn_configured(|config| config.tls = Some(files.clone())).await;
    let response = trusting(&made.0)
        .post(format!("{}/console/session", app.base))
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-tollgate_session="), "{cookie}");
    assert!(
        cookie.ends_with("; Path=/; HttpOnly; SameSite=Strict; Secure"),
        "{cookie}"
    );
}
