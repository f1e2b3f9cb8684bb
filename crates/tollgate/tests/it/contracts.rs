//! Multi-contract rules: which contract a request acts in, and who may say so.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const MULTI_EMAIL: &str = "multi@example.com";
const MULTI_PASSWORD: &str = "multi password";
const FIRST: i32 = 41_000_001;
const SECOND: i32 = 41_000_002;

async fn multi_contract_app() -> TestApp {
    let app = TestApp::spawn().await;
    app.create_user(MULTI_EMAIL, MULTI_PASSWORD, &[FIRST, SECOND], Role::Admin)
        .await;
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn several_contracts_require_the_header_and_the_message_names_it() {
    let app = multi_contract_app().await;
    let response = app
        .get("/auth/v1/tokens/generate")
        .basic_auth(MULTI_EMAIL, Some(MULTI_PASSWORD))
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("X-Contract-Number"), "{message}");
    assert!(message.contains(&FIRST.to_string()) && message.contains(&SECOND.to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_generated_listed_and_deleted_per_contract() {
    let app = multi_contract_app().await;
    let in_first = app
        .generate(MULTI_EMAIL, MULTI_PASSWORD, Some(FIRST), None)
        .await;
    let in_second = app
        .generate(MULTI_EMAIL, MULTI_PASSWORD, Some(SECOND), None)
        .await;
    assert_eq!(jwt_parts(&in_first).1["identity"]["contractNumber"], FIRST);
    assert_eq!(
        jwt_parts(&in_second).1["identity"]["contractNumber"],
        SECOND
    );

    let listed: Value = app
        .get("/auth/v1/tokens")
        .basic_auth(MULTI_EMAIL, Some(MULTI_PASSWORD))
        .header("X-Contract-Number", FIRST.to_string())
        .answer_json()
        .await;
    let ids: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [token_id(&in_first)]);

    // A token of the second contract is invisible from the first.
    let path = format!("/auth/v1/tokens/{}", token_id(&in_second));
    let response = app.get(&path).bearer_auth(&in_first).send().await.unwrap();
    expect_error(response, StatusCode::NOT_FOUND).await;

    // ALL in the first contract leaves the second contract's token alone.
    let response = app
        .delete("/auth/v1/tokens")
        .query(&[("criteria", "ALL")])
        .basic_auth(MULTI_EMAIL, Some(MULTI_PASSWORD))
        .header("X-Contract-Number", FIRST.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.get(&path).bearer_auth(&in_second).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bearer_token_carries_its_contract_without_the_header() {
    let app = multi_contract_app().await;
    let token = app
        .generate(MULTI_EMAIL, MULTI_PASSWORD, Some(SECOND), None)
        .await;
    let response = app
        .get("/auth/v1/tokens")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let same = app
        .get("/auth/v1/tokens")
        .bearer_auth(&token)
        .header("X-Contract-Number", SECOND.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    let other = app
        .get("/auth/v1/tokens")
        .bearer_auth(&token)
        .header("X-Contract-Number", FIRST.to_string())
        .send()
        .await
        .unwrap();
    let message = expect_error(other, StatusCode::FORBIDDEN).await;
    assert!(message.contains(&SECOND.to_string()), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn contracts_the_user_is_not_in_are_refused() {
    let app = multi_contract_app().await;
    for (email, password) in [(MULTI_EMAIL, MULTI_PASSWORD), (OWNER_EMAIL, OWNER_PASSWORD)] {
        let response = app
            .get("/auth/v1/tokens")
            .basic_auth(email, Some(password))
            .header("X-Contract-Number", "99999999")
            .send()
            .await
            .unwrap();
        let message = expect_error(response, StatusCode::FORBIDDEN).await;
        assert!(message.contains("99999999"), "{message}");
    }
    // The owner is not a member of the multi-contract user's contracts either.
    let response = app
        .as_owner()
        .get("/auth/v1/tokens/generate")
        .header("X-Contract-Number", FIRST.to_string())
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::FORBIDDEN).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_contract_user_may_name_their_contract_or_omit_it() {
    let app = TestApp::spawn().await;
    let named = app
        .generate(OWNER_EMAIL, OWNER_PASSWORD, Some(OWNER_CONTRACT), None)
        .await;
    let omitted = app.owner_token().await;
    assert_eq!(
        jwt_parts(&named).1["identity"],
        jwt_parts(&omitted).1["identity"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_contract_header_is_a_400_naming_the_header() {
    let app = multi_contract_app().await;
    for value in ["abc", "-5", "0", "2147483648", "1.5", ""] {
        let response = app
            .get("/auth/v1/tokens")
            .basic_auth(MULTI_EMAIL, Some(MULTI_PASSWORD))
            .header("X-Contract-Number", value)
            .send()
            .await
            .unwrap();
        let message = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(
            message.contains("X-Contract-Number") || message.contains("contract number"),
            "{value}: {message}"
        );
    }
}
