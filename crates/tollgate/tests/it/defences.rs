//! Throttled guessing: after a small allowance of wrong passwords, an
//! account (or a registry token) is answered 429 with `Retry-After` from
//! the guessing address, without checking the password, while the right
//! password from another address goes through.

use std::net::IpAddr;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tollgate_server::clock::Clock;

use crate::support::*;

/// The allowance per account and address (the service's default).
const ALLOWANCE: usize = 5;

fn from(address: &str) -> reqwest::Client {
    let address: IpAddr = address.parse().unwrap();
    reqwest::Client::builder()
        .local_address(address)
        .build()
        .unwrap()
}

async fn basic(
    client: &reqwest::Client,
    app: &TestApp,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client
        .get(app.url("/auth/v1/tokens"))
        .basic_auth(email, Some(password))
        .send()
        .await
        .unwrap()
}

/// Asserts a 429 in the IONOS body with a `Retry-After`; answers the seconds.
async fn expect_throttled(response: reqwest::Response) -> i64 {
    let retry: i64 = response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let message = expect_error(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(message.contains("try again in"), "{message}");
    retry
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_are_throttled_and_the_owner_elsewhere_is_not() {
    let app = TestApp::spawn().await;
    let attacker = from("127.0.0.2");
    for attempt in 0..ALLOWANCE {
        let response = basic(&attacker, &app, OWNER_EMAIL, "guess").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "guess {attempt}"
        );
    }
    // One more wrong guess is still checked; then the address must wait.
    assert_eq!(
        basic(&attacker, &app, OWNER_EMAIL, "guess").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let retry = expect_throttled(basic(&attacker, &app, OWNER_EMAIL, "guess").await).await;
    // Even the right password is not checked from the guessing address...
    expect_throttled(basic(&attacker, &app, OWNER_EMAIL, OWNER_PASSWORD).await).await;
    // ...on either API...
    let response = attacker
        .get(app.url("/containerregistries/locations"))
        .basic_auth(OWNER_EMAIL, Some("guess"))
        .send()
        .await
        .unwrap();
    expect_throttled(response).await;
    // ...but from another address the owner is let in at once.
    let owner = from("127.0.0.1");
    assert_eq!(
        basic(&owner, &app, OWNER_EMAIL, OWNER_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );

    // The delay passes, and grows with the next failure.
    app.clock.advance(retry);
    assert_eq!(
        basic(&attacker, &app, OWNER_EMAIL, "guess").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let longer = expect_throttled(basic(&attacker, &app, OWNER_EMAIL, "guess").await).await;
    assert!(longer > retry, "{longer} after {retry}");
    // Failures are forgotten with time: after a quiet hour, the right
    // password works from the guessing address too.
    app.clock.advance(3600);
    assert_eq!(
        basic(&attacker, &app, OWNER_EMAIL, OWNER_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_accounts_are_throttled_exactly_like_known_ones() {
    let app = TestApp::spawn().await;
    let attacker = from("127.0.0.3");
    for email in [OWNER_EMAIL, "nobody@example.com"] {
        let mut statuses = Vec::new();
        for _ in 0..ALLOWANCE + 2 {
            statuses.push(
                basic(&attacker, &app, email, "guess")
                    .await
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(
            statuses,
            [401, 401, 401, 401, 401, 401, 429],
            "{email}: the same answers in the same order"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_guessing_across_accounts_is_throttled() {
    let app = TestApp::spawn().await;
    let attacker = from("127.0.0.4");
    // 50 wrong passwords, each for another account: no account reaches its
    // allowance, but the address does.
    for i in 0..50 {
        let response = basic(&attacker, &app, &format!("user-{i}@example.com"), "guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{i}");
    }
    assert_eq!(
        basic(&attacker, &app, "user-50@example.com", "guess")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    expect_throttled(basic(&attacker, &app, "user-51@example.com", "guess").await).await;
    assert_eq!(
        basic(&from("127.0.0.1"), &app, OWNER_EMAIL, OWNER_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn registry_login(
    client: &reqwest::Client,
    app: &TestApp,
    service: &str,
    password: &str,
) -> reqwest::Response {
    client
        .get(app.url("/registry/token"))
        .basic_auth("ci", Some(password))
        .query(&[("service", service)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_logins_are_throttled_in_docker_format() {
    let app = TestApp::spawn().await;
    let scopes = json!([{"type": "repository", "name": "*", "actions": ["pull"]}]);
    let (_, service, _, password) = registry_with_token(&app, "guarded", "ci", scopes).await;
    let attacker = from("127.0.0.2");
    for _ in 0..=ALLOWANCE {
        let response = registry_login(&attacker, &app, &service, "guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let asked = std::time::Instant::now();
    let response = registry_login(&attacker, &app, &service, "guess").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        asked.elapsed() >= std::time::Duration::from_secs(1),
        "a throttled attempt's answer is held (--login-throttled-hold-ms, 1 s)"
    );
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "TOOMANYREQUESTS", "{body}");
    // The OAuth2 form is the same credential, so it is throttled too.
    let response = attacker
        .post(app.url("/registry/token"))
        .form(&[
            ("grant_type", "password"),
            ("service", service.as_str()),
            ("username", "ci"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // The right password from another address logs in.
    let response = registry_login(&from("127.0.0.1"), &app, &service, &password).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn against_two_nodes_a_guesser_gets_each_nodes_allowance() {
    let first = TestApp::spawn().await;
    let second = first
        .spawn_sibling(tollgate_server::config::DEFAULT_ISSUER)
        .await;
    second.clock.advance(first.clock.now() - second.clock.now());
    let attacker = from("127.0.0.5");
    let mut checked = 0;
    for node in [&first, &second] {
        loop {
            let status = basic(&attacker, node, OWNER_EMAIL, "guess").await.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            checked += 1;
        }
    }
    // The counters are each node's own (see the README): N nodes let a
    // guesser check N times the allowance (plus the guess that triggers
    // each node's first delay) before every node makes it wait.
    assert_eq!(checked, 2 * (ALLOWANCE + 1));
}
