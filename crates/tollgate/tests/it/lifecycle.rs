//! A credential's life after its creation: when and from where it was last
//! used (extension fields the official SDKs ignore), and rotating a
//! registry token's password without breaking the pipelines that use it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::process::Served;
use crate::support::*;

/// GETs `path` as the owner until `field` shows up (uses are written in batches).
async fn wait_for_field(app: &TestApp, path: &str, field: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let body = app.owner_json(path).await;
        let value = field.iter().fold(&body, |v, key| &v[*key]);
        if !value.is_null() {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{field:?} never appeared: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_show_when_and_from_where_they_were_last_used() {
    let app = TestApp::spawn().await;
    let jwt = app.owner_token().await;
    let path = format!("/auth/v1/tokens/{}", token_id(&jwt));
    let unused = app.owner_json(&path).await;
    assert!(unused.get("lastUsedDate").is_none(), "{unused}");

    let response = app
        .get("/auth/v1/tokens")
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let used = wait_for_field(&app, &path, &["lastUsedDate"]).await;
    assert_eq!(used["lastUsedDate"], app.date_in(0));
    assert_eq!(used["lastUsedFrom"], "127.0.0.1");

    let scopes = json!([{"type": "repository", "name": "*", "actions": ["pull"]}]);
    let (registry, service, token, password) =
        registry_with_token(&app, "used", "ci", scopes).await;
    let token_path = format!("{CR}/registries/{registry}/tokens/{token}");
    assert!(
        app.owner_json(&token_path).await["properties"]
            .get("lastUsedDate")
            .is_none()
    );
    let response = app
        .get("/registry/token")
        .basic_auth("ci", Some(&password))
        .query(&[("service", &service)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let used = wait_for_field(&app, &token_path, &["properties", "lastUsedDate"]).await;
    assert_eq!(used["properties"]["lastUsedFrom"], "127.0.0.1");
    let listed = app
        .owner_json(&format!("{CR}/registries/{registry}/tokens"))
        .await;
    assert_eq!(
        listed["items"][0]["properties"]["lastUsedDate"],
        app.date_in(0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn last_use_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tollgate.db").display());
    let client = reqwest::Client::new();
    let served = Served::start(&url).await;
    let generated: Value = client
        .get(format!("{}/auth/v1/tokens/generate", served.base))
        .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
        .answer_json()
        .await;
    let jwt = generated["token"].as_str().unwrap().to_owned();
    let path = format!("/auth/v1/tokens/{}", token_id(&jwt));
    let response = client
        .get(format!("{}/auth/v1/tokens", served.base))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The binary writes uses every 10 seconds; wait for that, then crash.
    let read = |base: String| {
        let client = client.clone();
        let path = path.clone();
        async move {
            client
                .get(format!("{base}{path}"))
                .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let before = loop {
        let body = read(served.base.clone()).await;
        if body.get("lastUsedDate").is_some() {
            break body;
        }
        assert!(Instant::now() < deadline, "no last use written: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    served.kill_hard();
    let restarted = Served::start(&url).await;
    let after = read(restarted.base.clone()).await;
    assert_eq!(after["lastUsedDate"], before["lastUsedDate"]);
    assert_eq!(after["lastUsedFrom"], "127.0.0.1");
}

async fn login(app: &TestApp, service: &str, password: &str) -> StatusCode {
    app.get("/registry/token")
        .basic_auth("ci", Some(password))
        .query(&[("service", service)])
        .send()
        .await
        .unwrap()
        .status()
}

async fn rotate(app: &TestApp, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = app.as_owner().post(&format!("{path}/rotate"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_password_and_the_old_one_both_work_for_the_grace_period() {
    let app = TestApp::spawn().await;
    let scopes = json!([{"type": "repository", "name": "team/*", "actions": ["pull", "push"]}]);
    let (registry, service, token, old) =
        registry_with_token(&app, "rotating", "ci", scopes.clone()).await;
    let path = format!("{CR}/registries/{registry}/tokens/{token}");
    patch_token(
        &app,
        &registry,
        &token,
        json!({"expiryDate": app.date_in(86_400)}),
    )
    .await;
    let before = app.owner_json(&path).await;

    let response = rotate(&app, &path, Some(json!({"gracePeriodSeconds": 3600}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.unwrap();
    let new = rotated["properties"]["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(new.len() >= 43 && new != old);
    assert_eq!(
        rotated["properties"]["previousPasswordValidUntil"],
        app.date_in(3600)
    );
    // Status, expiry, scopes and name stay; the password is shown only once.
    for field in ["name", "status", "expiryDate", "scopes"] {
        assert_eq!(
            rotated["properties"][field], before["properties"][field],
            "{field}"
        );
    }
    let read = app.owner_json(&path).await;
    assert_eq!(read["properties"]["credentials"]["password"], "");

    assert_eq!(login(&app, &service, &old).await, StatusCode::OK);
    assert_eq!(login(&app, &service, &new).await, StatusCode::OK);
    app.clock.advance(3600);
    assert_eq!(login(&app, &service, &old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, &service, &new).await, StatusCode::OK);
    assert!(
        app.owner_json(&path).await["properties"]
            .get("previousPasswordValidUntil")
            .is_none()
    );

    // Without a grace period the old password stops at once.
    let response = rotate(&app, &path, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let newest: Value = response.json().await.unwrap();
    let newest = newest["properties"]["credentials"]["password"]
        .as_str()
        .unwrap();
    assert_eq!(login(&app, &service, &new).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, &service, newest).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_refuses_bad_grace_periods_and_unknown_tokens() {
    let app = TestApp::spawn().await;
    let scopes = json!([{"type": "repository", "name": "*", "actions": ["pull"]}]);
    let (registry, _, token, _) = registry_with_token(&app, "strict", "ci", scopes).await;
    let path = format!("{CR}/registries/{registry}/tokens/{token}");
    for grace in [json!(604_801), json!(-1), json!("an hour"), json!(null)] {
        let response = rotate(&app, &path, Some(json!({"gracePeriodSeconds": grace}))).await;
        let message = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(message.contains("gracePeriodSeconds"), "{grace}: {message}");
    }
    let unknown = format!("{CR}/registries/{registry}/tokens/{}", uuid::Uuid::new_v4());
    expect_error(rotate(&app, &unknown, None).await, StatusCode::NOT_FOUND).await;
}
