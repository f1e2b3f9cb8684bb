//! The attacks of a security review, each reproduced against the real
//! service: a refresh token outliving its credential, lost concurrent
//! changes, disconnects lifting the argon2id bound, hostname take-over,
//! a world-readable store, a short token minting long ones, dates no
//! answer can show, probing registry names and other contracts' ids,
//! and bodies without a JSON content type. (Deep pages past the end are
//! checked in the store's own unit tests, by counting SQLite steps.)

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tollgate_server::clock::Clock;

use crate::support::process::{ServeOptions, Served};
use crate::support::*;

const RIVAL: &str = "rival@example.com";
const RIVAL_PASSWORD: &str = "rival password";
const RIVAL_CONTRACT: i32 = 77_000_001;

fn pull_all() -> Value {
    json!([{"type": "repository", "name": "*", "actions": ["pull"]}])
}

async fn token_form(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/registry/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn refresh_status(app: &TestApp, service: &str, refresh: &str) -> StatusCode {
    token_form(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("service", service),
            ("scope", "repository:app:pull"),
            ("refresh_token", refresh),
        ],
    )
    .await
    .status()
}

/// A refresh token for `name:password` at `service`.
async fn offline_login(app: &TestApp, service: &str, name: &str, password: &str) -> String {
    let response = token_form(
        app,
        &[
            ("grant_type", "password"),
            ("service", service),
            ("access_type", "offline"),
            ("username", name),
            ("password", password),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn put_json(app: &TestApp, path: &str, who: (&str, &str), body: Value) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .basic_auth(who.0, Some(who.1))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn delete_as_owner(app: &TestApp, path: &str) {
    let response = app.as_owner().delete(path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_dies_with_the_credential_it_was_issued_for() {
    let app = TestApp::spawn().await;
    let (registry, service, token_id, password) =
        registry_with_token(&app, "refreshing", "ci", pull_all()).await;
    let refresh = offline_login(&app, &service, "ci", &password).await;
    assert_eq!(
        refresh_status(&app, &service, &refresh).await,
        StatusCode::OK
    );

    // Deleted, then re-created under the same id with another name and
    // wider scopes: the old refresh token must not inherit the new access.
    let path = format!("{CR}/registries/{registry}/tokens/{token_id}");
    delete_as_owner(&app, &path).await;
    let everything =
        json!([{"type": "repository", "name": "*", "actions": ["pull", "push", "delete"]}]);
    let owner = (OWNER_EMAIL, OWNER_PASSWORD);
    let body = json!({"properties": {"name": "rotated", "scopes": everything}});
    let response = put_json(&app, &path, owner, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        refresh_status(&app, &service, &refresh).await,
        StatusCode::UNAUTHORIZED
    );

    // Re-created under the same id and the same name: a new password, so
    // still a different credential.
    delete_as_owner(&app, &path).await;
    let body = json!({"properties": {"name": "ci", "scopes": everything}});
    let response = put_json(&app, &path, owner, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let recreated: Value = response.json().await.unwrap();
    assert_eq!(
        refresh_status(&app, &service, &refresh).await,
        StatusCode::UNAUTHORIZED
    );

    // The new credential's own refresh token works.
    let new_password = recreated["properties"]["credentials"]["password"]
        .as_str()
        .unwrap();
    let fresh = offline_login(&app, &service, "ci", new_password).await;
    assert_eq!(refresh_status(&app, &service, &fresh).await, StatusCode::OK);
}

async fn patch_as_owner(app: &TestApp, path: &str, body: Value) -> Value {
    let response = app.as_owner().patch(path).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_patches_of_different_fields_never_undo_each_other() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "contended").await;
    let (token, _) = create_token(&app, &registry, "ci", pull_all()).await;
    let token_path = format!("{CR}/registries/{registry}/tokens/{token}");
    let registry_path = format!("{CR}/registries/{registry}");
    for round in 0..25 {
        patch_as_owner(
            &app,
            &token_path,
            json!({"status": "enabled", "scopes": pull_all()}),
        )
        .await;
        let scopes =
            json!([{"type": "repository", "name": format!("round-{round}"), "actions": ["push"]}]);
        let (disabled, rescoped) = tokio::join!(
            patch_as_owner(&app, &token_path, json!({"status": "disabled"})),
            patch_as_owner(&app, &token_path, json!({"scopes": scopes})),
        );
        assert_eq!(disabled["properties"]["status"], "disabled");
        assert_eq!(rescoped["properties"]["scopes"], scopes);
        let stored = app.owner_json(&token_path).await;
        assert_eq!(
            (
                &stored["properties"]["status"],
                &stored["properties"]["scopes"]
            ),
            (&json!("disabled"), &scopes),
            "round {round}: both acknowledged changes are kept"
        );

        let allow = json!([format!("10.0.{round}.0/24")]);
        let schedule = json!({"days": ["Monday"], "time": format!("01:{round:02}:00+00:00")});
        tokio::join!(
            patch_as_owner(&app, &registry_path, json!({"apiSubnetAllowList": allow})),
            patch_as_owner(
                &app,
                &registry_path,
                json!({"garbageCollectionSchedule": schedule})
            ),
        );
        let stored = app.owner_json(&registry_path).await;
        assert_eq!(
            stored["properties"]["apiSubnetAllowList"], allow,
            "round {round}"
        );
        assert_eq!(
            stored["properties"]["garbageCollectionSchedule"], schedule,
            "round {round}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_that_disconnect_mid_verification_do_not_lift_the_argon2id_bound() {
    let app = TestApp::spawn().await;
    let bound = std::thread::available_parallelism().map_or(1, |n| n.get());
    let address = app.base.trim_start_matches("http://").to_owned();
    for i in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let credentials = STANDARD.encode(format!("nobody-{i}@example.com:guess"));
        let request = format!(
            "GET /auth/v1/tokens HTTP/1.1\r\nHost: tollgate\r\nAuthorization: Basic {credentials}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // Leave mid-verification: once one is running (this one's, or an
        // earlier one's still going).
        let started_by = Instant::now() + Duration::from_secs(5);
        while app.passwords.running_verifications() == 0 && Instant::now() < started_by {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(stream);
    }
    // Every computation started ends; none may have run beside more than
    // the bound allows.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut idle_since = Instant::now();
    while idle_since.elapsed() < Duration::from_millis(500) {
        if app.passwords.running_verifications() > 0 {
            idle_since = Instant::now();
        }
        assert!(Instant::now() < deadline, "verifications never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let peak = app.passwords.peak_concurrent_verifications();
    assert!(peak >= 1, "the verifications were counted");
    assert!(
        peak <= bound,
        "{peak} argon2id computations ran at once; the bound is {bound}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_whose_client_went_away_is_still_logged() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tollgate.db").display());
    let served = Served::start(&url).await;
    let address = served.base.trim_start_matches("http://").to_owned();
    // Each client leaves either while its password is checked (after a
    // pause) or at once: then the request and the connection's end often
    // arrive together, and the request is dropped before it is routed.
    let ids: Vec<String> = (0..20).map(|i| format!("gone-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let credentials = STANDARD.encode(format!("nobody-{i}@example.com:guess"));
        let request = format!(
            "GET /auth/v1/tokens HTTP/1.1\r\nHost: tollgate\r\nX-Request-Id: {id}\r\nAuthorization: Basic {credentials}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        if i % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        drop(stream);
    }
    let logged = |id: &str, log: &str| {
        log.lines().any(|line| {
            line.contains("GET /auth/v1/tokens ") && line.contains(&format!("\"{id}\""))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while ids.iter().any(|id| !logged(id, &served.log())) {
        let log = served.log();
        let missing: Vec<&String> = ids.iter().filter(|id| !logged(id, &log)).collect();
        assert!(
            Instant::now() < deadline,
            "no log line for the aborted requests {missing:?}: {log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = served.log();
    assert!(log.contains("GET /auth/v1/tokens aborted"), "{log}");
    assert!(!log.contains("guess"), "no secret in the log");
}

async fn create_as(app: &TestApp, who: (&str, &str), name: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("{CR}/registries")))
        .basic_auth(who.0, Some(who.1))
        .json(&json!({"properties": {"name": name, "location": "de/fra"}}))
        .send()
        .await
        .unwrap()
}

async fn name_status(app: &TestApp, who: (&str, &str), name: &str) -> StatusCode {
    app.as_user(who.0, who.1)
        .head(&format!("{CR}/names/{name}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_registry_name_stays_with_its_contract_during_the_quarantine() {
    let app = TestApp::spawn().await;
    app.create_user(RIVAL, RIVAL_PASSWORD, &[RIVAL_CONTRACT], Role::Owner)
        .await;
    let (owner, rival) = ((OWNER_EMAIL, OWNER_PASSWORD), (RIVAL, RIVAL_PASSWORD));
    let id = create_registry(&app, "reg-a").await;
    delete_as_owner(&app, &format!("{CR}/registries/{id}")).await;

    // Another contract can neither take the name nor see it as free.
    let message = expect_error(create_as(&app, rival, "reg-a").await, StatusCode::CONFLICT).await;
    assert!(
        message.contains("reg-a") && message.contains("30 days"),
        "{message}"
    );
    assert_eq!(name_status(&app, rival, "reg-a").await, StatusCode::OK);
    // Its former contract can.
    assert_eq!(
        name_status(&app, owner, "reg-a").await,
        StatusCode::NOT_FOUND
    );
    let response = create_as(&app, owner, "reg-a").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let again: Value = response.json().await.unwrap();
    delete_as_owner(
        &app,
        &format!("{CR}/registries/{}", again["id"].as_str().unwrap()),
    )
    .await;

    // One day before the quarantine ends, still held; after it, free.
    app.clock.advance(29 * 86_400);
    expect_error(create_as(&app, rival, "reg-a").await, StatusCode::CONFLICT).await;
    app.clock.advance(86_400);
    assert_eq!(
        name_status(&app, rival, "reg-a").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        create_as(&app, rival, "reg-a").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(name_status(&app, owner, "reg-a").await, StatusCode::OK);
}

#[cfg(unix)]
fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_store_is_readable_only_by_its_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tollgate.db");
    let url = format!("sqlite://{}", file.display());
    let options = ServeOptions {
        umask: Some("022"),
        ..Default::default()
    };
    let served = Served::start_with(&url, &options).await;
    let response = reqwest::Client::new()
        .get(format!("{}/auth/v1/tokens/generate", served.base))
        .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.path().join(format!("tollgate.db{suffix}"));
        assert_eq!(mode_of(&path), 0o600, "{}", path.display());
    }
    assert!(!served.log().contains("other users"), "{}", served.log());
    drop(served);

    // An existing store that others can read is used, with a warning.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let served = Served::start(&url).await;
    let log = served.log();
    assert!(
        log.contains("can be accessed by other users") && log.contains("chmod 600"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_generated_with_a_bearer_token_never_outlives_it() {
    let app = TestApp::spawn().await;
    let short = app
        .generate(OWNER_EMAIL, OWNER_PASSWORD, None, Some(60))
        .await;
    let short_exp = jwt_parts(&short).1["exp"].as_i64().unwrap();
    for ttl in [None, Some("31536000"), Some("3600")] {
        let mut request = app.get("/auth/v1/tokens/generate").bearer_auth(&short);
        if let Some(ttl) = ttl {
            request = request.query(&[("ttl", ttl)]);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let minted: Value = response.json().await.unwrap();
        let minted = minted["token"].as_str().unwrap();
        assert_eq!(
            jwt_parts(minted).1["exp"].as_i64().unwrap(),
            short_exp,
            "ttl {ttl:?}"
        );
        let listed: Value = app
            .get(&format!("/auth/v1/tokens/{}", token_id(minted)))
            .bearer_auth(&short)
            .answer_json()
            .await;
        assert_eq!(
            listed["expirationDate"],
            app.date_in(60),
            "the answer's dates say so"
        );
    }
    // Basic credentials still get the lifetime they ask for.
    let long = app.generate(OWNER_EMAIL, OWNER_PASSWORD, None, None).await;
    assert_eq!(
        jwt_parts(&long).1["exp"].as_i64().unwrap(),
        app.clock.now() + 31_536_000
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expiry_dates_that_no_answer_could_show_are_refused() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "far-future").await;
    let tokens = format!("{CR}/registries/{registry}/tokens");
    let past_9999 = "9999-12-31T23:59:59-23:59";
    let response = app
        .as_owner()
        .post(&tokens)
        .json(&json!({"properties": {"name": "ci", "expiryDate": past_9999}}))
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("properties.expiryDate"), "{message}");

    let (token, _) = create_token(&app, &registry, "ci", pull_all()).await;
    let path = format!("{tokens}/{token}");
    let response = app
        .as_owner()
        .patch(&path)
        .json(&json!({"expiryDate": past_9999}))
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("expiryDate"), "{message}");

    // The last second of 9999 is fine, and shown as it is.
    let last = "9999-12-31T23:59:59Z";
    patch_token(&app, &registry, &token, json!({"expiryDate": last})).await;
    assert_eq!(
        app.owner_json(&path).await["properties"]["expiryDate"],
        last
    );
}

async fn token_endpoint(
    app: &TestApp,
    service: &str,
    user: &str,
    password: &str,
) -> (StatusCode, Value) {
    let response = app
        .get("/registry/token")
        .basic_auth(user, Some(password))
        .query(&[("service", service), ("scope", "repository:app:pull")])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_names_cannot_be_probed_at_the_token_endpoint() {
    let app = TestApp::spawn().await;
    let (_, existing, _, password) = registry_with_token(&app, "existing", "ci", pull_all()).await;
    let missing = format!("missing.{REGISTRY_DOMAIN}");
    let known = token_endpoint(&app, &existing, "ci", "wrong password").await;
    let unknown = token_endpoint(&app, &missing, "ci", "wrong password").await;
    assert_eq!(known.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        known, unknown,
        "an unknown registry looks like a wrong password"
    );
    let elsewhere = token_endpoint(&app, &missing, "ci", &password).await;
    assert_eq!(
        elsewhere, known,
        "right credentials for a registry that does not exist"
    );
    assert_eq!(
        token_endpoint(&app, &existing, "ci", &password).await.0,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_used_by_other_contracts_cannot_be_probed_with_put() {
    let app = TestApp::spawn().await;
    app.create_user(RIVAL, RIVAL_PASSWORD, &[RIVAL_CONTRACT], Role::Owner)
        .await;
    let rival = (RIVAL, RIVAL_PASSWORD);
    let (registry, service, token, password) =
        registry_with_token(&app, "owned", "ci", pull_all()).await;
    let fresh = uuid::Uuid::new_v4().to_string();

    // A PUT at the owner's registry id answers the rival exactly as one at
    // an id nobody uses: a new registry of the rival's own.
    for (id, name) in [(&fresh, "rival-fresh"), (&registry, "rival-taken")] {
        let path = format!("{CR}/registries/{id}");
        let body = json!({"properties": {"name": name, "location": "de/fra"}});
        let response = put_json(&app, &path, rival, body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "registry id {id}");
        let token_path = format!("{path}/tokens/{token}");
        let response = put_json(
            &app,
            &token_path,
            rival,
            json!({"properties": {"name": "ci"}}),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "token id in registry {id}"
        );
    }

    // The owner's registry and token are untouched and still work.
    let owned = app.owner_json(&format!("{CR}/registries/{registry}")).await;
    assert_eq!(owned["properties"]["name"], "owned");
    assert_eq!(
        token_endpoint(&app, &service, "ci", &password).await.0,
        StatusCode::OK
    );
    let listed = app.owner_json(&format!("{CR}/registries")).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_must_be_sent_as_application_json() {
    let app = TestApp::spawn().await;
    let body = r#"{"properties": {"name": "typed", "location": "de/fra"}}"#;
    for content_type in [None, Some("application/jsonx"), Some("text/plain")] {
        let mut request = app.as_owner().post(&format!("{CR}/registries")).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let message = expect_error(
            request.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
        assert!(message.contains("application/json"), "{message}");
    }
    let response = app
        .as_owner()
        .post(&format!("{CR}/registries"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}
