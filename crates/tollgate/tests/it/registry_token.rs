//! The registry token endpoint over HTTP: logins, grants, refusals, refresh
//! tokens, the JWT registries verify, and key rotation.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use reqwest::StatusCode;
use serde_json::{Value, json};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

use tollgate_server::clock::Clock;

use crate::support::*;

fn all(actions: &[&str]) -> Value {
    json!([{"type": "repository", "name": "*", "actions": actions}])
}

async fn login(
    app: &TestApp,
    user: &str,
    password: &str,
    query: &[(&str, &str)],
) -> reqwest::Response {
    app.get("/registry/token")
        .basic_auth(user, Some(password))
        .query(query)
        .send()
        .await
        .unwrap()
}

/// The claims of a registry JWT, after checking its signature against certs.pem.
async fn verified_claims(app: &TestApp, jwt: &str) -> Value {
    let pem = app
        .get("/registry/certs.pem")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let certificates = Certificate::load_pem_chain(pem.as_bytes()).expect("PEM certificates");
    assert_eq!(certificates.len(), 2, "current and next key");
    let (input, signature) = jwt.rsplit_once('.').unwrap();
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    let verified = certificates.iter().any(|certificate| {
        let spki = certificate
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        let key = VerifyingKey::from_public_key_der(&spki).unwrap();
        key.verify(input.as_bytes(), &signature).is_ok()
    });
    assert!(verified, "a certificate of the bundle verifies the JWT");
    let (header, claims) = jwt_parts(jwt);
    assert_eq!(header["alg"], "ES256");
    let kid = header["kid"].as_str().unwrap();
    assert_eq!(kid.split(':').count(), 12, "libtrust key id: {kid}");
    claims
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_grants_requested_actions_within_the_token_scopes() {
    let app = TestApp::spawn().await;
    let scopes = json!([
        {"type": "repository", "name": "team/*", "actions": ["pull", "push"]},
        {"type": "repository", "name": "*", "actions": ["pull"]}
    ]);
    let (_, service, _, password) = registry_with_token(&app, "grants", "deployer", scopes).await;
    let response = app
        .get("/registry/token")
        .basic_auth("deployer", Some(&password))
        .query(&[
            ("service", service.as_str()),
            ("scope", "repository:team/app:pull,push,delete"),
            ("scope", "repository:other/app:pull,push"),
            ("scope", "registry:catalog:*"),
            ("account", "deployer"),
            ("client_id", "docker"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token"], body["access_token"]);
    assert_eq!(body["expires_in"], 300);
    assert!(body["issued_at"].as_str().unwrap().ends_with('Z'));
    assert!(body.get("refresh_token").is_none());
    let claims = verified_claims(&app, body["token"].as_str().unwrap()).await;
    assert_eq!(claims["iss"], REGISTRY_ISSUER);
    assert_eq!(claims["aud"], service);
    assert_eq!(claims["sub"], "deployer");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert!(claims["nbf"].is_i64() && claims["jti"].is_string());
    assert_eq!(
        claims["access"],
        json!([
            {"type": "repository", "name": "team/app", "actions": ["pull", "push"]},
            {"type": "repository", "name": "other/app", "actions": ["pull"]},
            {"type": "registry", "name": "catalog", "actions": ["*"]}
        ])
    );
    // No scope: a plain login (docker login) gets a token with no access;
    // offline_token=true adds a refresh token.
    let body: Value = login(
        &app,
        "deployer",
        &password,
        &[("service", &service), ("offline_token", "true")],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        verified_claims(&app, body["token"].as_str().unwrap()).await["access"],
        json!([])
    );
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
}

/// The answer's JWT, `expires_in` and `issued_at`.
async fn token_answer(response: reqwest::Response) -> (String, i64, String) {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    (
        body["token"].as_str().unwrap().to_owned(),
        body["expires_in"].as_i64().unwrap(),
        body["issued_at"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_grant_reuses_its_jwt_for_ten_seconds_and_never_outlives_the_token() {
    let app = TestApp::spawn().await;
    let (registry, service, token_id, password) =
        registry_with_token(&app, "reuse", "puller", all(&["pull"])).await;
    let app_pull = [
        ("service", service.as_str()),
        ("scope", "repository:app:pull"),
    ];
    let (first, expires_in, issued_at) =
        token_answer(login(&app, "puller", &password, &app_pull).await).await;
    assert_eq!(expires_in, 300);
    let (again, _, _) = token_answer(login(&app, "puller", &password, &app_pull).await).await;
    assert_eq!(
        again, first,
        "the same grant within the window reuses the JWT"
    );
    let other_repository = [
        ("service", service.as_str()),
        ("scope", "repository:other:pull"),
    ];
    let (other, _, _) =
        token_answer(login(&app, "puller", &password, &other_repository).await).await;
    assert_ne!(other, first, "another grant is signed afresh");

    // Credentials are still checked before any reuse.
    expect_token_error(
        login(&app, "puller", "wrong", &app_pull).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // The reused JWT keeps its own issue time, so it says how long it has left.
    app.clock.advance(9);
    let (reused, expires_in, reused_issued_at) =
        token_answer(login(&app, "puller", &password, &app_pull).await).await;
    assert_eq!(reused, first);
    assert_eq!((expires_in, reused_issued_at), (291, issued_at.clone()));
    app.clock.advance(1);
    let (fresh, expires_in, fresh_issued_at) =
        token_answer(login(&app, "puller", &password, &app_pull).await).await;
    assert_ne!(fresh, first, "ten seconds on, a new JWT is signed");
    assert_eq!(expires_in, 300);
    assert_ne!(fresh_issued_at, issued_at);

    // An access token never outlives the registry token's expiry date, and
    // a changed expiry date is never answered with an earlier JWT.
    let expiry = app.date_in(60);
    let patched = app
        .as_owner()
        .patch(&format!("{CR}/registries/{registry}/tokens/{token_id}"))
        .json(&json!({"expiryDate": expiry}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let (capped, expires_in, _) =
        token_answer(login(&app, "puller", &password, &app_pull).await).await;
    assert_ne!(capped, fresh);
    assert_eq!(expires_in, 60);
    let claims = verified_claims(&app, &capped).await;
    assert_eq!(claims["exp"].as_i64().unwrap(), app.clock.now() + 60);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_disabled_or_deleted_on_another_node_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let node_b = app
        .spawn_sibling(tollgate_server::config::DEFAULT_ISSUER)
        .await;
    let (registry, service, token_id, password) =
        registry_with_token(&app, "two-nodes", "puller", all(&["pull"])).await;
    let pull = [
        ("service", service.as_str()),
        ("scope", "repository:app:pull"),
    ];
    // Node A signs a JWT for this grant and would hand it out again for ten seconds.
    let (first, _, _) = token_answer(login(&app, "puller", &password, &pull).await).await;

    patch_token(&node_b, &registry, &token_id, json!({"status": "disabled"})).await;
    expect_token_error(
        login(&app, "puller", &password, &pull).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    patch_token(&node_b, &registry, &token_id, json!({"status": "enabled"})).await;
    let (again, _, _) = token_answer(login(&app, "puller", &password, &pull).await).await;
    assert_eq!(
        again, first,
        "re-enabled within the window, the grant is the same"
    );

    let deleted = node_b
        .as_owner()
        .delete(&format!("{CR}/registries/{registry}/tokens/{token_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    expect_token_error(
        login(&app, "puller", &password, &pull).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_and_catalog_need_explicit_scopes() {
    let app = TestApp::spawn().await;
    let (_, service, _, password) = registry_with_token(
        &app,
        "narrow",
        "team-only",
        json!([{"type": "repository", "name": "team/*", "actions": ["pull", "push", "delete"]}]),
    )
    .await;
    let body: Value = login(
        &app,
        "team-only",
        &password,
        &[
            ("service", &service),
            ("scope", "repository:team/app:delete"),
            ("scope", "registry:catalog:*"),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    let claims = verified_claims(&app, body["token"].as_str().unwrap()).await;
    assert_eq!(
        claims["access"],
        json!([{"type": "repository", "name": "team/app", "actions": ["delete"]}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_expired_deleted_and_wrong_credentials_get_401_at_once() {
    let app = TestApp::spawn().await;
    let (registry, service, token_id, password) =
        registry_with_token(&app, "lifecycle", "ci", all(&["pull"])).await;
    let query = [
        ("service", service.as_str()),
        ("scope", "repository:app:pull"),
    ];
    assert_eq!(
        login(&app, "ci", &password, &query).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        expect_token_error(
            login(&app, "ci", "wrong", &query).await,
            StatusCode::UNAUTHORIZED
        )
        .await,
        "UNAUTHORIZED"
    );
    expect_token_error(
        login(&app, "nobody", &password, &query).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let path = format!("{CR}/registries/{registry}/tokens/{token_id}");
    let patch = |body: Value| app.as_owner().patch(&path).json(&body).send();
    assert_eq!(
        patch(json!({"status": "disabled"})).await.unwrap().status(),
        StatusCode::OK
    );
    expect_token_error(
        login(&app, "ci", &password, &query).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        patch(json!({"status": "enabled"})).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "ci", &password, &query).await.status(),
        StatusCode::OK
    );

    let expiry = app.date_in(60);
    assert_eq!(
        patch(json!({"expiryDate": expiry})).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "ci", &password, &query).await.status(),
        StatusCode::OK
    );
    app.clock.advance(60);
    expect_token_error(
        login(&app, "ci", &password, &query).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        patch(json!({"expiryDate": null})).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "ci", &password, &query).await.status(),
        StatusCode::OK
    );

    let response = app.as_owner().delete(&path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    expect_token_error(
        login(&app, "ci", &password, &query).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_allow_list_of_the_registry_is_enforced_at_login() {
    let app = TestApp::spawn().await;
    let (registry, service, _, password) =
        registry_with_token(&app, "fenced", "ci", all(&["pull"])).await;
    let set_allow_list = |list: Value| {
        app.as_owner()
            .patch(&format!("{CR}/registries/{registry}"))
            .json(&json!({"apiSubnetAllowList": list}))
            .send()
    };
    let query = [("service", service.as_str())];
    assert_eq!(
        set_allow_list(json!(["10.0.0.0/8", "2001:db8::/32"]))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    expect_token_error(
        login(&app, "ci", &password, &query).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        set_allow_list(json!(["10.0.0.0/8", "127.0.0.1"]))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "ci", &password, &query).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        set_allow_list(json!([])).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "ci", &password, &query).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_of_one_registry_gets_nothing_from_another() {
    let app = TestApp::spawn().await;
    let (_, service_a, _, password_a) =
        registry_with_token(&app, "alpha", "ci", all(&["pull", "push"])).await;
    let (_, service_b, _, password_b) =
        registry_with_token(&app, "beta", "ci", all(&["pull"])).await;
    assert_ne!(password_a, password_b);
    expect_token_error(
        login(&app, "ci", &password_a, &[("service", &service_b)]).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        login(&app, "ci", &password_b, &[("service", &service_b)])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "ci", &password_a, &[("service", &service_a)])
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_a_docker_error_and_no_token() {
    let app = TestApp::spawn().await;
    let (_, service, _, password) = registry_with_token(&app, "picky", "ci", all(&["pull"])).await;
    let long = "a".repeat(2000);
    let many: Vec<(&str, &str)> = std::iter::once(("service", service.as_str()))
        .chain(std::iter::repeat_n(("scope", "repository:app:pull"), 40))
        .collect();
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("scope", "repository:app:pull")],
        vec![("service", "example.org")],
        vec![("service", &service), ("scope", "repository:app")],
        vec![("service", &service), ("scope", "repository:App:pull")],
        vec![("service", &service), ("scope", "image:app:pull")],
        vec![("service", &service), ("scope", "repository:app:")],
        vec![("service", &service), ("account", "someone-else")],
        vec![("service", &long)],
        many,
    ];
    for query in cases {
        let code = expect_token_error(
            login(&app, "ci", &password, &query).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(code, "INVALID_REQUEST", "{query:?}");
    }
    for header in [
        "Basic !!!",
        "Basic Y2k=",
        "Bearer abc",
        "Basic",
        &format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':'])),
    ] {
        let response = app
            .get("/registry/token")
            .header("Authorization", header)
            .query(&[("service", &service)])
            .send()
            .await
            .unwrap();
        expect_token_error(response, StatusCode::UNAUTHORIZED).await;
    }
    let response = app
        .get("/registry/token")
        .query(&[("service", &service)])
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("www-authenticate"));
    expect_token_error(response, StatusCode::UNAUTHORIZED).await;
}

async fn post_form(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/registry/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_oauth2_form_issues_and_honours_refresh_tokens() {
    let app = TestApp::spawn().await;
    let (registry, service, token_id, password) =
        registry_with_token(&app, "oauth", "ci", all(&["pull", "push"])).await;
    let response = post_form(
        &app,
        &[
            ("grant_type", "password"),
            ("service", &service),
            ("scope", "repository:team/app:pull repository:team/app:push"),
            ("client_id", "containerd"),
            ("access_type", "offline"),
            ("username", "ci"),
            ("password", &password),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let refresh = body["refresh_token"]
        .as_str()
        .expect("offline access gives a refresh token")
        .to_owned();
    let claims = verified_claims(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(
        claims["access"],
        json!([{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}])
    );

    let refreshed = post_form(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("service", &service),
            ("scope", "repository:x:pull"),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let body: Value = refreshed.json().await.unwrap();
    let claims = verified_claims(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["access"][0]["name"], "x");

    // An access token is not a refresh token, nor is garbage, nor another service's.
    let access = body["access_token"].as_str().unwrap().to_owned();
    for (token, svc) in [
        (access.as_str(), service.as_str()),
        ("garbage", service.as_str()),
        (refresh.as_str(), "other.cr.example.test"),
    ] {
        let response = post_form(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("service", svc),
                ("refresh_token", token),
            ],
        )
        .await;
        expect_token_error(response, StatusCode::UNAUTHORIZED).await;
    }

    // Disabling the registry token stops its refresh tokens at once.
    let response = app
        .as_owner()
        .patch(&format!("{CR}/registries/{registry}/tokens/{token_id}"))
        .json(&json!({"status": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = post_form(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("service", &service),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    expect_token_error(response, StatusCode::UNAUTHORIZED).await;

    let response = post_form(
        &app,
        &[("grant_type", "client_credentials"), ("service", &service)],
    )
    .await;
    assert_eq!(
        expect_token_error(response, StatusCode::BAD_REQUEST).await,
        "UNSUPPORTED"
    );
    let response = post_form(
        &app,
        &[
            ("grant_type", "password"),
            ("service", &service),
            ("username", "ci"),
        ],
    )
    .await;
    expect_token_error(response, StatusCode::BAD_REQUEST).await;
    let response = app
        .client
        .post(app.url("/registry/token"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    expect_token_error(response, StatusCode::BAD_REQUEST).await;
    // A disabled token gets nothing from the GET form either.
    let response = login(
        &app,
        "ci",
        &password,
        &[("service", &service), ("offline_token", "true")],
    )
    .await;
    expect_token_error(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_promotes_the_published_next_key() {
    let app = TestApp::spawn().await;
    let (_, service, _, password) =
        registry_with_token(&app, "rotating", "ci", all(&["pull"])).await;
    let bundle = |app: &TestApp| {
        let request = app.get("/registry/certs.pem");
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let before = Certificate::load_pem_chain(bundle(&app).await.as_bytes()).unwrap();
    let kid_of = |body: Value| {
        jwt_parts(body["token"].as_str().unwrap()).0["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first_kid = kid_of(
        login(&app, "ci", &password, &[("service", &service)])
            .await
            .json()
            .await
            .unwrap(),
    );

    tollgate_server::keys::rotate(
        &app.store,
        tollgate_server::keys::REGISTRY_KEYS,
        app.clock.now(),
    )
    .await
    .unwrap();
    let node = app
        .spawn_sibling(tollgate_server::config::DEFAULT_ISSUER)
        .await;
    let body: Value = login(&node, "ci", &password, &[("service", &service)])
        .await
        .json()
        .await
        .unwrap();
    let second_kid = kid_of(body.clone());
    assert_ne!(
        first_kid, second_kid,
        "the next key signs after the rotation"
    );
    let after = Certificate::load_pem_chain(bundle(&node).await.as_bytes()).unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(
        after[0], before[1],
        "the former next key is now current and listed first"
    );
    assert_ne!(
        after[1], before[0],
        "a new next key replaces the retired one"
    );
    verified_claims(&node, body["token"].as_str().unwrap()).await;
    assert!(Certificate::from_der(&after[0].to_der().unwrap()).is_ok());
}
