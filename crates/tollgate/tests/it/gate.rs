//! Every credential goes through the one authentication gate: each of the
//! six kinds of login, accepted or refused, is counted there.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tollgate_server::auth::console_sessions::csrf_token;
use tollgate_server::auth::gate::LoginKind;

use crate::support::*;

fn counts(app: &TestApp) -> Vec<u64> {
    LoginKind::ALL
        .iter()
        .map(|kind| app.state.gate.attempts(*kind))
        .collect()
}

/// Runs `login`, and asserts it reached the gate as one login of `kind`.
async fn expect_one(
    app: &TestApp,
    kind: LoginKind,
    status: StatusCode,
    login: reqwest::RequestBuilder,
) -> Value {
    let before = counts(app);
    let response = login.send().await.unwrap();
    assert_eq!(response.status(), status, "{kind:?}");
    let after = counts(app);
    for (i, other) in LoginKind::ALL.iter().enumerate() {
        let expected = before[i] + u64::from(*other == kind);
        assert_eq!(after[i], expected, "a {kind:?} login counted as {other:?}");
    }
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_login_passes_through_the_gate() {
    let app = TestApp::spawn().await;
    let scopes = json!([{"type": "repository", "name": "*", "actions": ["pull"]}]);
    let (_, service, _, password) = registry_with_token(&app, "gated", "ci", scopes).await;
    let bearer = app.owner_token().await;

    for (password, status) in [
        (OWNER_PASSWORD, StatusCode::OK),
        ("wrong", StatusCode::UNAUTHORIZED),
    ] {
        let login = app.as_user(OWNER_EMAIL, password).get("/auth/v1/tokens");
        expect_one(&app, LoginKind::Basic, status, login).await;
    }
    for (token, status) in [
        (bearer.as_str(), StatusCode::OK),
        ("forged", StatusCode::UNAUTHORIZED),
    ] {
        let login = app.get("/auth/v1/tokens").bearer_auth(token);
        expect_one(&app, LoginKind::Bearer, status, login).await;
    }
    for (secret, status) in [
        (password.as_str(), StatusCode::OK),
        ("wrong", StatusCode::UNAUTHORIZED),
    ] {
        let login = app
            .get("/registry/token")
            .basic_auth("ci", Some(secret))
            .query(&[("service", &service)]);
        expect_one(&app, LoginKind::RegistryBasic, status, login).await;
    }
    // Signing in to the console is a Basic login...
    for (password, status) in [
        (OWNER_PASSWORD, StatusCode::CREATED),
        ("wrong", StatusCode::UNAUTHORIZED),
    ] {
        let login = console_sign_in_request(&app, OWNER_EMAIL, password);
        expect_one(&app, LoginKind::Basic, status, login).await;
    }
    // ...and its cookie a login of its own kind.
    let signed_in = console_sign_in(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    let unknown = "a".repeat(43);
    let forged = (format!("tollgate_session={unknown}"), csrf_token(&unknown));
    for ((cookie, csrf), status) in [
        (
            (signed_in.cookie.clone(), signed_in.csrf.clone()),
            StatusCode::OK,
        ),
        (forged, StatusCode::UNAUTHORIZED),
    ] {
        let login = app
            .get("/auth/v1/tokens")
            .header("cookie", cookie)
            .header("x-csrf-token", csrf);
        expect_one(&app, LoginKind::ConsoleSession, status, login).await;
    }
    let form = |grant: &[(&str, &str)]| app.client.post(app.url("/registry/token")).form(grant);
    let offline = form(&[
        ("grant_type", "password"),
        ("service", &service),
        ("username", "ci"),
        ("password", &password),
        ("access_type", "offline"),
    ]);
    let answer = expect_one(&app, LoginKind::RegistryPassword, StatusCode::OK, offline).await;
    let refresh = answer["refresh_token"].as_str().unwrap().to_owned();
    let wrong = form(&[
        ("grant_type", "password"),
        ("service", &service),
        ("username", "ci"),
        ("password", "wrong"),
    ]);
    expect_one(
        &app,
        LoginKind::RegistryPassword,
        StatusCode::UNAUTHORIZED,
        wrong,
    )
    .await;
    for (token, status) in [
        (refresh.as_str(), StatusCode::OK),
        ("garbage", StatusCode::UNAUTHORIZED),
    ] {
        let login = form(&[
            ("grant_type", "refresh_token"),
            ("service", &service),
            ("refresh_token", token),
        ]);
        expect_one(&app, LoginKind::RegistryRefresh, status, login).await;
    }
}
