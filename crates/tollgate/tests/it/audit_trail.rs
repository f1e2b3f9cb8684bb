//! The audit trail: every credential lifecycle change and every refused
//! login, read by a contract's owners and admins at `/audit/v1/events`,
//! filtered and paged, never another contract's, never a secret.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

const RIVAL: &str = "rival@example.com";
const RIVAL_PASSWORD: &str = "rival password";

async fn events(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let response = app
        .as_owner()
        .get("/audit/v1/events")
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until the trail holds `n` events of `action` (refused logins are
/// written by a background writer).
async fn wait_for(app: &TestApp, action: &str, n: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = events(app, &[("action", action)]).await;
        if page["items"].as_array().unwrap().len() >= n {
            return page;
        }
        assert!(Instant::now() < deadline, "no {n} {action} events: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_lifecycle_change_and_refusal_is_recorded_for_the_contract() {
    let app = TestApp::spawn().await;
    app.create_user(RIVAL, RIVAL_PASSWORD, &[77_000_001], Role::Owner)
        .await;
    let mut secrets = vec![OWNER_PASSWORD.to_owned()];

    // Auth API tokens.
    let jwt = app.owner_token().await;
    secrets.push(jwt.clone());
    let response = app
        .as_owner()
        .delete(&format!("/auth/v1/tokens/{}", token_id(&jwt)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // A registry and its tokens, through every change.
    let registry = create_registry(&app, "audited").await;
    let registry_path = format!("{CR}/registries/{registry}");
    let response = app
        .as_owner()
        .patch(&registry_path)
        .json(&json!({"apiSubnetAllowList": ["10.0.0.0/8"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let scopes = json!([{"type": "repository", "name": "*", "actions": ["pull"]}]);
    let (token, password) = create_token(&app, &registry, "ci", scopes).await;
    secrets.push(password);
    patch_token(&app, &registry, &token, json!({"status": "disabled"})).await;
    patch_token(
        &app,
        &registry,
        &token,
        json!({"expiryDate": app.date_in(3600)}),
    )
    .await;
    let rotated: Value = app
        .as_owner()
        .post(&format!("{registry_path}/tokens/{token}/rotate"))
        .json(&json!({"gracePeriodSeconds": 60}))
        .answer_json()
        .await;
    secrets.push(
        rotated["properties"]["credentials"]["password"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let response = app
        .as_owner()
        .delete(&format!("{registry_path}/tokens/{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.as_owner().delete(&registry_path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // A refused login of an account of this contract.
    let response = app
        .as_user(OWNER_EMAIL, "wrong password")
        .get("/auth/v1/tokens")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let refused = wait_for(&app, "login.refused", 1).await;
    let event = &refused["items"][0];
    assert_eq!(event["outcome"], "refused");
    assert_eq!(event["actor"]["name"], OWNER_EMAIL);
    assert_eq!(event["address"], "127.0.0.1");
    assert_eq!(event["detail"]["reason"], "wrong e-mail or password");

    let page = events(&app, &[("limit", "100")]).await;
    let mut seen = actions(&page);
    seen.reverse();
    assert_eq!(
        seen,
        [
            "account.created",
            "auth_token.generated",
            "auth_token.deleted",
            "registry.created",
            "registry.changed",
            "registry_token.created",
            "registry_token.disabled",
            "registry_token.changed",
            "registry_token.rotated",
            "registry_token.deleted",
            "registry.deleted",
            "login.refused",
        ],
        "{page}"
    );
    let changed = &page["items"][7];
    assert_eq!(changed["actor"]["type"], "account");
    assert_eq!(changed["actor"]["name"], OWNER_EMAIL);
    assert_eq!(
        changed["resource"],
        json!({"type": "registry", "id": registry})
    );
    assert_eq!(
        changed["detail"]["apiSubnetAllowList"],
        json!(["10.0.0.0/8"])
    );
    assert_eq!(page["total"], 12);

    // Never a secret.
    let text = page.to_string();
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret in the audit trail"
        );
    }

    // Another contract sees none of it, and its events are not ours.
    let theirs: Value = app
        .as_user(RIVAL, RIVAL_PASSWORD)
        .get("/audit/v1/events")
        .answer_json()
        .await;
    assert_eq!(actions(&theirs), ["account.created"], "{theirs}");
    assert!(!theirs.to_string().contains(OWNER_EMAIL));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trail_is_filtered_and_paged() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "paged").await;
    let scopes = json!([{"type": "repository", "name": "*", "actions": ["pull"]}]);
    let mut tokens = Vec::new();
    for i in 0..5 {
        tokens.push(
            create_token(&app, &registry, &format!("t{i}"), scopes.clone())
                .await
                .0,
        );
    }
    let created = events(&app, &[("action", "registry_token.created")]).await;
    assert_eq!(created["total"], 5);

    // Paged: newest first, with links that keep the filter.
    let first = events(
        &app,
        &[("action", "registry_token.created"), ("limit", "2")],
    )
    .await;
    assert_eq!(
        (first["count"].clone(), first["total"].clone()),
        (json!(2), json!(5))
    );
    assert_eq!(first["items"][0]["resource"]["id"], tokens[4]);
    let next = first["_links"]["next"].as_str().unwrap();
    assert!(
        next.contains("offset=2") && next.contains("action=registry_token.created"),
        "{next}"
    );
    let second = events(
        &app,
        &[
            ("action", "registry_token.created"),
            ("limit", "2"),
            ("offset", "4"),
        ],
    )
    .await;
    assert_eq!(second["count"], 1);
    assert_eq!(second["items"][0]["resource"]["id"], tokens[0]);
    assert_eq!(second["_links"]["next"], "");

    // By resource.
    let one = events(
        &app,
        &[
            ("resourceType", "registry_token"),
            ("resourceId", &tokens[2]),
        ],
    )
    .await;
    assert_eq!(actions(&one), ["registry_token.created"]);
    // By time: nothing before the first event, everything since it.
    let before = events(&app, &[("to", &app.date_in(-3600))]).await;
    assert_eq!(before["total"], 0);
    let since = events(
        &app,
        &[("from", &app.date_in(-60)), ("to", &app.date_in(60))],
    )
    .await;
    assert_eq!(
        since["total"], 7,
        "account, registry and five tokens: {since}"
    );

    // Bad filters are 400s naming the parameter.
    for (name, value) in [("from", "yesterday"), ("limit", "0"), ("offset", "-1")] {
        let response = app
            .as_owner()
            .get("/audit/v1/events")
            .query(&[(name, value)])
            .send()
            .await
            .unwrap();
        let message = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(message.contains(name), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn only_owners_and_admins_read_the_trail() {
    let app = TestApp::spawn().await;
    app.create_user_with(
        "ops@example.com",
        "ops pw",
        &[OWNER_CONTRACT],
        Role::User,
        &[MANAGE_REGISTRIES],
    )
    .await;
    app.create_user(
        "admin@example.com",
        "admin pw",
        &[OWNER_CONTRACT],
        Role::Admin,
    )
    .await;
    let response = app
        .as_user("ops@example.com", "ops pw")
        .get("/audit/v1/events")
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::FORBIDDEN).await;
    assert!(message.contains("owner or admin"), "{message}");
    let response = app
        .as_user("admin@example.com", "admin pw")
        .get("/audit/v1/events")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.get("/audit/v1/events").send().await.unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED).await;
}
