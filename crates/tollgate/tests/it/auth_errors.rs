//! Refused credentials and malformed requests: the right status and the
//! IONOS error body every time, and nothing an attacker can tell apart.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn missing_credentials_get_401_with_a_challenge() {
    let app = TestApp::spawn().await;
    let response = app.get("/auth/v1/tokens").send().await.unwrap();
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("Basic") && challenge.contains("Bearer"),
        "{challenge}"
    );
    let message = expect_error(response, StatusCode::UNAUTHORIZED).await;
    assert!(message.contains("Authorization"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unknown_account_are_indistinguishable() {
    let app = TestApp::spawn().await;
    let wrong = app
        .get("/auth/v1/tokens")
        .basic_auth(OWNER_EMAIL, Some("wrong password"))
        .send()
        .await
        .unwrap();
    assert!(wrong.headers().contains_key("www-authenticate"));
    let wrong: Value = wrong.json().await.unwrap();
    let unknown: Value = app
        .get("/auth/v1/tokens")
        .basic_auth("nobody@example.com", Some(OWNER_PASSWORD))
        .answer_json()
        .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["httpStatus"], 401);
    let text = wrong.to_string();
    assert!(
        !text.contains(OWNER_PASSWORD) && !text.contains("wrong password"),
        "no secret echoed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn e_mail_logins_are_case_insensitive() {
    let app = TestApp::spawn().await;
    let token = app
        .generate(&OWNER_EMAIL.to_uppercase(), OWNER_PASSWORD, None, None)
        .await;
    assert!(!token.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_authorization_headers_get_401() {
    let app = TestApp::spawn().await;
    for header in [
        "Basic !!!not-base64!!!",
        "Basic bm8tY29sb24taGVyZQ==", // "no-colon-here"
        "Basic",
        "Digest username=\"x\"",
        "Bearer",
        "Bearer not.a.jwt",
        "Bearer a.b",
        "Bearer ....",
        "Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
    ] {
        let response = app
            .get("/auth/v1/tokens")
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::UNAUTHORIZED).await;
    }
    let huge = format!("Bearer {}", "a".repeat(10_000));
    let response = app
        .get("/auth/v1/tokens")
        .header("Authorization", huge)
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::UNAUTHORIZED).await;
}

/// Re-signs `claims` under `header` with a key this service never saw.
fn forge(header: &Value, claims: &Value) -> String {
    let key = SigningKey::random(&mut rand_core::OsRng);
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature: Signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_tampered_and_unsigned_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let genuine = app.owner_token().await;
    let (header, claims) = jwt_parts(&genuine);
    let (input, signature) = genuine.rsplit_once('.').unwrap();
    let (header_b64, _) = input.split_once('.').unwrap();

    let forged = forge(&header, &claims);
    let mut raised = claims.clone();
    raised["identity"]["role"] = json!("owner");
    raised["exp"] = json!(claims["exp"].as_i64().unwrap() + 1000);
    let tampered = format!(
        "{header_b64}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(raised.to_string())
    );
    let none_header = json!({"alg": "none", "typ": "JWT", "kid": header["kid"]});
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(none_header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let hs_header = json!({"alg": "HS256", "typ": "JWT", "kid": header["kid"]});
    let hs256 = format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(hs_header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let padded = format!("{genuine}=");
    for (name, token) in [
        ("forged", forged),
        ("tampered", tampered),
        ("alg none", unsigned),
        ("HS256", hs256),
        ("padded", padded),
    ] {
        let response = app
            .get("/auth/v1/tokens")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let message = expect_error(response, StatusCode::UNAUTHORIZED).await;
        assert!(!message.is_empty(), "{name}");
    }
    // The genuine token still works.
    let response = app
        .get("/auth/v1/tokens")
        .bearer_auth(&genuine)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_for_another_issuer_is_refused() {
    let app = TestApp::spawn().await;
    let elsewhere = app.spawn_sibling("https://other.example").await;
    let token = elsewhere.owner_token().await;
    let message = expect_error(
        app.get("/auth/v1/tokens")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(message.contains("not issued by this service"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_methods_get_ionos_bodies() {
    let app = TestApp::spawn().await;
    expect_error(
        app.get("/no/such/path").send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_error(
        app.get("/auth/v1/nothing").send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let response = app
        .client
        .put(app.url("/auth/v1/tokens"))
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
    assert!(message.contains("PUT"), "{message}");
    let response = app
        .client
        .post(app.url("/auth/v1/tokens/generate"))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
}
