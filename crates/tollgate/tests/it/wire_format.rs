//! What the official Container Registry document says of bodies and
//! answers, where a schema fuzzer found Tollgate off: audit fields without a
//! value, structs read from arrays, `null` in non-nullable fields, and the
//! allow list's deny-all entry.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn pull_all() -> Value {
    json!([{"type": "repository", "name": "*", "actions": ["pull"]}])
}

async fn send(app: &TestApp, method: Method, path: &str, body: &str) -> reqwest::Response {
    app.as_owner()
        .request(method, path)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_fields_without_a_value_are_left_out() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "fresh-audit").await;
    let (token, _) = create_token(&app, &registry, "ci", pull_all()).await;
    let registry_path = format!("{CR}/registries/{registry}");
    let token_path = format!("{registry_path}/tokens/{token}");
    for path in [&registry_path, &token_path] {
        let body = app.owner_json(path).await;
        let metadata = body["metadata"].as_object().unwrap();
        for absent in ["lastModifiedBy", "lastModifiedByUserId", "lastModifiedDate"] {
            assert!(!metadata.contains_key(absent), "{path}: {absent} in {body}");
        }
        assert!(metadata["createdBy"].is_string());
    }
    let listed = app.owner_json(&format!("{CR}/registries")).await;
    assert!(
        !listed["items"][0]["metadata"]
            .as_object()
            .unwrap()
            .contains_key("lastModifiedBy")
    );
    let storage = &app.owner_json(&registry_path).await["properties"]["storageUsage"];
    assert_eq!(
        storage,
        &json!({"bytes": 0}),
        "no updatedAt while nothing was measured"
    );

    // After a change, every lastModified* field is a string.
    send(
        &app,
        Method::PATCH,
        &token_path,
        r#"{"status": "disabled"}"#,
    )
    .await;
    let body = app.owner_json(&token_path).await;
    for present in ["lastModifiedBy", "lastModifiedByUserId", "lastModifiedDate"] {
        assert!(body["metadata"][present].is_string(), "{present} in {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_struct_in_a_body_must_be_a_json_object() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "objects-only").await;
    let (token, _) = create_token(&app, &registry, "ci", pull_all()).await;
    let registry_path = format!("{CR}/registries/{registry}");
    let tokens_path = format!("{registry_path}/tokens");
    let token_path = format!("{tokens_path}/{token}");
    let cases = [
        (
            Method::PATCH,
            registry_path.as_str(),
            "[null, null]",
            "JSON object",
        ),
        (Method::PATCH, token_path.as_str(), "[]", "JSON object"),
        (
            Method::POST,
            "/containerregistries/registries",
            r#"{"properties": ["array-made", "de/fra"]}"#,
            "properties",
        ),
        (
            Method::PATCH,
            registry_path.as_str(),
            r#"{"garbageCollectionSchedule": [["Monday"], "01:00:00"]}"#,
            "garbageCollectionSchedule",
        ),
        (
            Method::POST,
            tokens_path.as_str(),
            r#"{"properties": {"name": "arrays", "scopes": [["repository", "*", ["pull"]]]}}"#,
            "properties.scopes[0]",
        ),
    ];
    for (method, path, body, named) in cases {
        let response = send(&app, method.clone(), path, body).await;
        let message = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(message.contains(named), "{method} {path} {body}: {message}");
    }
    // Nothing was written by the refused bodies.
    let stored = app.owner_json(&registry_path).await;
    assert!(
        !stored["metadata"]
            .as_object()
            .unwrap()
            .contains_key("lastModifiedBy")
    );
    let listed = app.owner_json(&tokens_path).await;
    assert_eq!(listed["total"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn null_is_refused_where_the_document_does_not_allow_it() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "no-nulls").await;
    let (token, _) = create_token(&app, &registry, "ci", pull_all()).await;
    let registry_path = format!("{CR}/registries/{registry}");
    let tokens_path = format!("{registry_path}/tokens");
    let token_path = format!("{tokens_path}/{token}");
    let cases = [
        (
            Method::POST,
            tokens_path.as_str(),
            r#"{"properties": {"name": "nulled", "status": null}}"#,
            "properties.status",
        ),
        (
            Method::PATCH,
            token_path.as_str(),
            r#"{"status": null}"#,
            "status",
        ),
        (
            Method::PATCH,
            registry_path.as_str(),
            r#"{"apiSubnetAllowList": null}"#,
            "apiSubnetAllowList",
        ),
        (
            Method::PATCH,
            registry_path.as_str(),
            r#"{"features": {"vulnerabilityScanning": null}}"#,
            "features.vulnerabilityScanning",
        ),
        (
            Method::POST,
            "/containerregistries/registries",
            r#"{"properties": {"name": "nulled", "location": "de/fra", "features": null}}"#,
            "properties.features",
        ),
        (
            Method::POST,
            tokens_path.as_str(),
            r#"{"properties": null}"#,
            "properties",
        ),
    ];
    for (method, path, body, named) in cases {
        let response = send(&app, method.clone(), path, body).await;
        let message = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(message.contains(named), "{method} {path} {body}: {message}");
    }

    // The nullable fields take null: no expiry, no scopes.
    let response = send(
        &app,
        Method::POST,
        &tokens_path,
        r#"{"properties": {"name": "nullable", "expiryDate": null, "scopes": null}}"#,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["properties"]["expiryDate"], Value::Null);
    assert_eq!(created["properties"]["scopes"], json!([]));
    // In a PATCH, null clears them.
    let response = send(
        &app,
        Method::PATCH,
        &token_path,
        r#"{"expiryDate": null, "scopes": null}"#,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["properties"]["scopes"], json!([]));
    assert_eq!(patched["properties"]["status"], "enabled");
}

async fn login_status(app: &TestApp, service: &str, password: &str) -> StatusCode {
    app.get("/registry/token")
        .basic_auth("ci", Some(password))
        .query(&[("service", service)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allow_list_entry_of_0_0_0_0_slash_0_denies_all_traffic() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "deny-all").await;
    let (_, password) = create_token(&app, &registry, "ci", pull_all()).await;
    let service = format!("deny-all.{REGISTRY_DOMAIN}");
    let path = format!("{CR}/registries/{registry}");
    for (list, expected) in [
        (json!(["0.0.0.0/0"]), StatusCode::UNAUTHORIZED),
        (json!(["::/0"]), StatusCode::UNAUTHORIZED),
        (json!(["0.0.0.0/0", "127.0.0.1"]), StatusCode::OK),
        (json!(["127.0.0.0/8"]), StatusCode::OK),
        (json!(["127.0.0.2"]), StatusCode::UNAUTHORIZED),
        (json!([]), StatusCode::OK),
    ] {
        let body = json!({"apiSubnetAllowList": list}).to_string();
        let response = send(&app, Method::PATCH, &path, &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            login_status(&app, &service, &password).await,
            expected,
            "allow list {list}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_document_makes_nullable_reads_as_it_says() {
    // Found by the schema fuzzer: the 1.0 document makes WeeklySchedule,
    // its days and a scope's actions nullable.
    let app = TestApp::spawn().await;
    let created = send(
        &app,
        Method::POST,
        &format!("{CR}/registries"),
        r#"{"properties": {"name": "nullable", "location": "de/fra",
            "garbageCollectionSchedule": {"days": null, "time": "01:30:00.25+00:00"}}}"#,
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let schedule = &created["properties"]["garbageCollectionSchedule"];
    assert_eq!(schedule["days"], json!([]), "{created}");
    assert_eq!(
        schedule["time"], "01:30:00+00:00",
        "a fraction of a second is dropped"
    );
    let id = created["id"].as_str().unwrap();

    let set = send(
        &app,
        Method::PATCH,
        &format!("{CR}/registries/{id}"),
        r#"{"garbageCollectionSchedule": {"days": ["Monday"], "time": "02:00:00Z"}}"#,
    )
    .await;
    assert_eq!(set.status(), StatusCode::OK);
    let cleared = send(
        &app,
        Method::PATCH,
        &format!("{CR}/registries/{id}"),
        r#"{"garbageCollectionSchedule": null}"#,
    )
    .await;
    assert_eq!(cleared.status(), StatusCode::OK);
    let cleared: Value = cleared.json().await.unwrap();
    assert_eq!(
        cleared["properties"]["garbageCollectionSchedule"]["days"],
        json!([]),
        "a null schedule is no collection: {cleared}"
    );

    let no_actions = send(
        &app,
        Method::POST,
        &format!("{CR}/registries/{id}/tokens"),
        r#"{"properties": {"name": "ci", "scopes": [{"type": "repository", "name": "*", "actions": null}]}}"#,
    )
    .await;
    let message = expect_error(no_actions, StatusCode::BAD_REQUEST).await;
    assert!(
        message.contains("must name at least one of pull, push, delete"),
        "{message}"
    );

    let long = "a".repeat(256);
    let too_long = app
        .as_owner()
        .get(&format!("{CR}/registries/{id}/repositories/{long}"))
        .send()
        .await
        .unwrap();
    let message = expect_error(too_long, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("at most 255"), "{message}");
}
