//! Registries over HTTP: bad input, authorization across contracts, names.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

async fn post_registry(app: &TestApp, body: &str) -> reqwest::Response {
    app.as_owner()
        .post(&format!("{CR}/registries"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_registry_bodies_get_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let many: Vec<String> = (0..26).map(|i| format!("\"10.0.0.{i}\"")).collect();
    let cases = [
        ("{\"properties\": ", "not valid JSON"),
        ("[]", "expected"),
        ("{}", "properties"),
        (
            r#"{"properties": {"name": 7, "location": "de/fra"}}"#,
            "properties.name",
        ),
        (r#"{"properties": {"name": "ok-name"}}"#, "location"),
        (
            r#"{"properties": {"name": "Bad_Name", "location": "de/fra"}}"#,
            "properties.name",
        ),
        (
            r#"{"properties": {"name": "ab", "location": "de/fra"}}"#,
            "properties.name",
        ),
        (
            r#"{"properties": {"name": "ok-name", "location": "xx/yy"}}"#,
            "properties.location",
        ),
        (
            r#"{"properties": {"name": "ok-name", "location": "de/fra", "garbageCollectionSchedule": {"days": ["Funday"], "time": "01:00:00"}}}"#,
            "garbageCollectionSchedule.days",
        ),
        (
            r#"{"properties": {"name": "ok-name", "location": "de/fra", "garbageCollectionSchedule": {"days": [], "time": "25:00:00"}}}"#,
            "garbageCollectionSchedule.time",
        ),
        (
            r#"{"properties": {"name": "ok-name", "location": "de/fra", "apiSubnetAllowList": ["10.0.0.0/33"]}}"#,
            "apiSubnetAllowList[0]",
        ),
        (
            r#"{"properties": {"name": "ok-name", "location": "de/fra", "apiSubnetAllowList": ["not-an-ip"]}}"#,
            "apiSubnetAllowList[0]",
        ),
        (
            &format!(
                r#"{{"properties": {{"name": "ok-name", "location": "de/fra", "apiSubnetAllowList": [{}]}}}}"#,
                many.join(",")
            ),
            "at most 25",
        ),
        (
            r#"{"properties": {"name": "ok-name", "location": "de/fra", "features": {"vulnerabilityScanning": {"enabled": "yes"}}}}"#,
            "features.vulnerabilityScanning.enabled",
        ),
    ];
    for (body, expected) in cases {
        let message = expect_error(post_registry(&app, body).await, StatusCode::BAD_REQUEST).await;
        assert!(message.contains(expected), "{body}: {message}");
    }
    let listed: Value = app.owner_json(&format!("{CR}/registries")).await;
    assert_eq!(listed["items"], json!([]), "nothing half-written");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_and_mistyped_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let huge = format!(
        r#"{{"properties": {{"name": "ok-name", "location": "de/fra", "pad": "{}"}}}}"#,
        "x".repeat(70 * 1024)
    );
    expect_error(
        post_registry(&app, &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    let response = app
        .as_owner()
        .post(&format!("{CR}/registries"))
        .header("content-type", "text/plain")
        .body(r#"{"properties": {"name": "ok-name", "location": "de/fra"}}"#)
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let response = app
        .as_owner()
        .post(&format!("{CR}/registries"))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::BAD_REQUEST).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_must_be_uuids_and_unknown_ids_are_404() {
    let app = TestApp::spawn().await;
    for path in [
        "not-a-uuid",
        "046b6c7f0b8a43b9b35d6489e6daee91",
        "046b6c7f-0b8a-43b9-b35d-6489e6daee9",
    ] {
        let response = app
            .as_owner()
            .get(&format!("{CR}/registries/{path}"))
            .send()
            .await
            .unwrap();
        let message = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(message.contains("registryId"), "{message}");
    }
    let unknown = "046b6c7f-0b8a-43b9-b35d-6489e6daee91";
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = app
            .as_owner()
            .request(method, &format!("{CR}/registries/{unknown}"))
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::NOT_FOUND).await;
    }
    let response = app
        .as_owner()
        .patch(&format!("{CR}/registries/{unknown}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::NOT_FOUND).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn registries_of_other_contracts_do_not_exist_and_names_are_global() {
    let app = TestApp::spawn().await;
    app.create_user("rival@example.com", "rival pw", &[77_000_001], Role::Owner)
        .await;
    let id = create_registry(&app, "shared-name").await;
    let path = format!("{CR}/registries/{id}");
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = app
            .client
            .request(method, app.url(&path))
            .basic_auth("rival@example.com", Some("rival pw"))
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::NOT_FOUND).await;
    }
    let response = app
        .client
        .put(app.url(&path))
        .basic_auth("rival@example.com", Some("rival pw"))
        .json(&json!({"properties": {"name": "shared-name", "location": "de/fra"}}))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::CONFLICT).await;
    let response = app
        .client
        .post(app.url(&format!("{CR}/registries")))
        .basic_auth("rival@example.com", Some("rival pw"))
        .json(&json!({"properties": {"name": "shared-name", "location": "de/fra"}}))
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::CONFLICT).await;
    assert!(message.contains("shared-name"), "{message}");
    // The owner's registry is untouched.
    let response = app.as_owner().get(&path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn managing_registries_needs_a_role_or_the_privilege() {
    let app = TestApp::spawn().await;
    app.create_user(
        "plain@example.com",
        "plain pw",
        &[OWNER_CONTRACT],
        Role::User,
    )
    .await;
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
    let id = create_registry(&app, "team-registry").await;
    let path = format!("{CR}/registries/{id}");
    let response = app
        .get(&path)
        .basic_auth("plain@example.com", Some("plain pw"))
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::FORBIDDEN).await;
    assert!(message.contains(MANAGE_REGISTRIES), "{message}");
    for (email, password) in [
        ("ops@example.com", "ops pw"),
        ("admin@example.com", "admin pw"),
    ] {
        let response = app
            .get(&path)
            .basic_auth(email, Some(password))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{email}");
    }
    // Names and locations only need an account.
    let response = app
        .get(&format!("{CR}/locations"))
        .basic_auth("plain@example.com", Some("plain pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.get(&format!("{CR}/locations")).send().await.unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_creates_of_one_registry_name_yield_exactly_one() {
    let app = TestApp::spawn().await;
    let attempts = (0..12).map(|_| {
        let client = app.client.clone();
        let url = app.url(&format!("{CR}/registries"));
        tokio::spawn(async move {
            client
                .post(url)
                .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
                .json(&json!({"properties": {"name": "race-registry", "location": "de/fra"}}))
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let mut statuses = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        statuses.push(attempt.await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        11,
        "{statuses:?}"
    );
}
