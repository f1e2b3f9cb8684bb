//! No secret in the logs: a full scenario against the real binary, logging
//! at `debug`, then every line it wrote is searched for every password and
//! token issued or presented in it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::process::{ServeOptions, Served};
use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn no_password_or_token_reaches_a_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tollgate.db").display());
    let options = ServeOptions {
        log: Some("debug"),
        ..Default::default()
    };
    let served = Served::start_with(&url, &options).await;
    let base = served.base.clone();
    let client = reqwest::Client::new();
    let owner =
        |request: reqwest::RequestBuilder| request.basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD));
    let mut secrets = vec![OWNER_PASSWORD.to_owned()];

    // Access tokens, generated and used.
    let generated: Value = owner(client.get(format!("{base}/auth/v1/tokens/generate")))
        .answer_json()
        .await;
    let jwt = generated["token"].as_str().unwrap().to_owned();
    secrets.push(jwt.clone());
    let listed = client
        .get(format!("{base}/auth/v1/tokens"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);

    // A registry token, its logins in every form, a refresh and a rotation.
    let registry: Value = owner(client.post(format!("{base}{CR}/registries")))
        .json(&json!({"properties": {"name": "quiet", "location": "de/fra"}}))
        .answer_json()
        .await;
    let registry = registry["id"].as_str().unwrap().to_owned();
    let token: Value = owner(client.post(format!("{base}{CR}/registries/{registry}/tokens")))
        .json(&json!({"properties": {"name": "ci", "scopes": [{"type": "repository", "name": "*", "actions": ["pull"]}]}}))
        .answer_json().await;
    let password = token["properties"]["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(password.clone());
    let service = "quiet.cr.localhost";
    let answer: Value = client
        .get(format!("{base}/registry/token"))
        .basic_auth("ci", Some(&password))
        .query(&[
            ("service", service),
            ("scope", "repository:app:pull"),
            ("offline_token", "true"),
        ])
        .answer_json()
        .await;
    secrets.push(answer["token"].as_str().unwrap().to_owned());
    let refresh = answer["refresh_token"].as_str().unwrap().to_owned();
    secrets.push(refresh.clone());
    let refreshed: Value = client
        .post(format!("{base}/registry/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("service", service),
            ("refresh_token", refresh.as_str()),
            ("scope", "repository:app:pull"),
        ])
        .answer_json()
        .await;
    secrets.push(refreshed["access_token"].as_str().unwrap().to_owned());
    let rotated: Value = owner(client.post(format!(
        "{base}{CR}/registries/{registry}/tokens/{}/rotate",
        token["id"].as_str().unwrap()
    )))
    .answer_json()
    .await;
    secrets.push(
        rotated["properties"]["credentials"]["password"]
            .as_str()
            .unwrap()
            .to_owned(),
    );

    // Wrong and malformed credentials, up to throttling, are logged too.
    let guesses = ["guess-one", "guess-two-with-a-long-secret-looking-text"];
    for guess in guesses {
        secrets.push(guess.to_owned());
        for _ in 0..4 {
            client
                .get(format!("{base}/auth/v1/tokens"))
                .basic_auth(OWNER_EMAIL, Some(guess))
                .send()
                .await
                .unwrap();
            client
                .post(format!("{base}/registry/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("service", service),
                    ("username", "ci"),
                    ("password", guess),
                ])
                .send()
                .await
                .unwrap();
        }
    }
    client
        .get(format!("{base}/auth/v1/tokens"))
        .bearer_auth(format!("{jwt}tampered"))
        .send()
        .await
        .unwrap();

    // The log holds the requests, and none of the secrets, in any spelling.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = served.log();
    assert!(log.contains("GET /registry/token 200"), "{log}");
    assert!(log.contains("login refused"), "refusals are logged: {log}");
    for secret in &secrets {
        let basic_forms = [
            STANDARD.encode(format!("{OWNER_EMAIL}:{secret}")),
            STANDARD.encode(format!("ci:{secret}")),
        ];
        assert!(
            !log.contains(secret.as_str()),
            "a secret in the log: {secret}"
        );
        for form in basic_forms {
            assert!(!log.contains(&form), "Basic credentials in the log");
        }
    }
}
