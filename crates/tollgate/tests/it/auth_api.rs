//! The five Auth API operations, with both authentication schemes.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn generate_answers_an_es256_jwt_with_the_documented_claims() {
    let app = TestApp::spawn().await;
    let token = app
        .generate(OWNER_EMAIL, OWNER_PASSWORD, None, Some(3600))
        .await;
    let (header, claims) = jwt_parts(&token);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    let kid = header["kid"].as_str().unwrap();
    assert_eq!(claims["jti"], kid);
    assert_eq!(claims["iss"], "tollgate");
    assert_eq!(claims["identity"]["contractNumber"], OWNER_CONTRACT);
    assert_eq!(claims["identity"]["role"], "owner");
    assert_eq!(claims["sub"], claims["identity"]["userId"]);
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 3600);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_ttl_is_one_year() {
    let app = TestApp::spawn().await;
    let (_, claims) = jwt_parts(&app.owner_token().await);
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 31_536_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn ttl_is_bounded_and_must_be_an_integer() {
    let app = TestApp::spawn().await;
    for ok in ["60", "31536000"] {
        let response = app
            .as_owner()
            .get("/auth/v1/tokens/generate")
            .query(&[("ttl", ok)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "ttl={ok}");
    }
    for bad in [
        "59",
        "31536001",
        "0",
        "-60",
        "abc",
        "",
        "60.5",
        "99999999999999999999",
    ] {
        let response = app
            .as_owner()
            .get("/auth/v1/tokens/generate")
            .query(&[("ttl", bad)])
            .send()
            .await
            .unwrap();
        let message = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(message.contains("ttl"), "message names ttl: {message}");
    }
    let listed = list(&app, &app.owner_token().await).await;
    assert_eq!(listed.len(), 3, "refused requests created no token");
}

async fn list(app: &TestApp, bearer: &str) -> Vec<Value> {
    let response = app
        .get("/auth/v1/tokens")
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["tokens"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn list_shows_each_token_with_exactly_the_documented_fields() {
    let app = TestApp::spawn().await;
    let first = app
        .generate(OWNER_EMAIL, OWNER_PASSWORD, None, Some(600))
        .await;
    let second = app.owner_token().await;
    let response = app.as_owner().get("/auth/v1/tokens").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["tokens"]
    );
    let tokens = body["tokens"].as_array().unwrap();
    let ids: BTreeSet<&str> = tokens.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        BTreeSet::from([token_id(&first).as_str(), token_id(&second).as_str()])
    );
    for token in tokens {
        let keys: BTreeSet<&str> = token
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["id", "href", "createdDate", "expirationDate"])
        );
        let id = token["id"].as_str().unwrap();
        assert_eq!(token["href"], format!("{}/auth/v1/tokens/{id}", app.base));
        for field in ["createdDate", "expirationDate"] {
            let date = token[field].as_str().unwrap();
            assert_eq!(date.len(), 20, "{date}");
            assert!(date.ends_with('Z') && date.as_bytes()[10] == b'T', "{date}");
        }
    }
    // Bearer lists the same tokens.
    assert_eq!(list(&app, &second).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn find_by_id_answers_the_token_with_either_scheme() {
    let app = TestApp::spawn().await;
    let token = app
        .generate(OWNER_EMAIL, OWNER_PASSWORD, None, Some(120))
        .await;
    let id = token_id(&token);
    let by_basic: Value = app.owner_json(&format!("/auth/v1/tokens/{id}")).await;
    let by_bearer: Value = app
        .get(&format!("/auth/v1/tokens/{id}"))
        .bearer_auth(&token)
        .answer_json()
        .await;
    assert_eq!(by_basic, by_bearer);
    assert_eq!(by_basic["id"], id);
    let (_, claims) = jwt_parts(&token);
    let created =
        time::OffsetDateTime::from_unix_timestamp(claims["iat"].as_i64().unwrap()).unwrap();
    let expires =
        time::OffsetDateTime::from_unix_timestamp(claims["exp"].as_i64().unwrap()).unwrap();
    let format = time::format_description::well_known::Rfc3339;
    assert_eq!(by_basic["createdDate"], created.format(&format).unwrap());
    assert_eq!(by_basic["expirationDate"], expires.format(&format).unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_foreign_token_ids_are_not_found() {
    let app = TestApp::spawn().await;
    app.create_user(
        "colleague@example.com",
        "colleague pw",
        &[OWNER_CONTRACT],
        Role::User,
    )
    .await;
    let theirs = app
        .generate("colleague@example.com", "colleague pw", None, None)
        .await;
    let mine = app.owner_token().await;
    for id in [
        token_id(&theirs),
        "00000000-0000-0000-0000-000000000000".to_owned(),
        "not-a-uuid".to_owned(),
    ] {
        let path = format!("/auth/v1/tokens/{id}");
        expect_error(
            app.get(&path).bearer_auth(&mine).send().await.unwrap(),
            StatusCode::NOT_FOUND,
        )
        .await;
        expect_error(
            app.delete(&path).bearer_auth(&mine).send().await.unwrap(),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    // The colleague's token survived the owner's attempt to delete it.
    assert_eq!(list(&app, &theirs).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_by_id_revokes_the_token_on_the_next_request() {
    let app = TestApp::spawn().await;
    let doomed = app.owner_token().await;
    let other = app.owner_token().await;
    let path = format!("/auth/v1/tokens/{}", token_id(&doomed));
    assert_eq!(list(&app, &doomed).await.len(), 2);
    let response = app.delete(&path).bearer_auth(&other).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        serde_json::json!({"success": true})
    );
    let message = expect_error(
        app.get("/auth/v1/tokens")
            .bearer_auth(&doomed)
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(message.contains("deleted"), "{message}");
    expect_error(
        app.delete(&path).bearer_auth(&other).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(list(&app, &other).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_is_seen_by_another_node_on_the_same_store() {
    let app = TestApp::spawn().await;
    let node_b = app
        .spawn_sibling(tollgate_server::config::DEFAULT_ISSUER)
        .await;
    let token = app.owner_token().await;
    assert_eq!(
        list(&node_b, &token).await.len(),
        1,
        "node B accepts node A's token"
    );
    let response = app
        .as_owner()
        .delete(&format!("/auth/v1/tokens/{}", token_id(&token)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    expect_error(
        node_b
            .get("/auth/v1/tokens")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn criteria_all_deletes_every_token_of_the_caller_in_the_contract_only() {
    let app = TestApp::spawn().await;
    app.create_user(
        "colleague@example.com",
        "colleague pw",
        &[OWNER_CONTRACT],
        Role::User,
    )
    .await;
    let theirs = app
        .generate("colleague@example.com", "colleague pw", None, None)
        .await;
    let mine = [app.owner_token().await, app.owner_token().await];
    let response = app
        .as_owner()
        .delete("/auth/v1/tokens")
        .query(&[("criteria", "ALL")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["success"], true);
    for token in &mine {
        expect_error(
            app.get("/auth/v1/tokens")
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    assert_eq!(
        list(&app, &theirs).await.len(),
        1,
        "another user's token is untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_tokens_are_listed_refused_and_deleted_by_criteria_expired() {
    let app = TestApp::spawn().await;
    let short = app
        .generate(OWNER_EMAIL, OWNER_PASSWORD, None, Some(60))
        .await;
    let long = app.owner_token().await;
    app.clock.advance(60);
    let message = expect_error(
        app.get("/auth/v1/tokens")
            .bearer_auth(&short)
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(message.contains("expired"), "{message}");
    let listed = list(&app, &long).await;
    assert_eq!(listed.len(), 2, "expired tokens stay listed until deleted");
    let response = app
        .delete("/auth/v1/tokens")
        .query(&[("criteria", "EXPIRED")])
        .bearer_auth(&long)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let listed = list(&app, &long).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], token_id(&long));
}

#[tokio::test(flavor = "multi_thread")]
async fn criteria_current_deletes_the_presenting_token_and_needs_bearer() {
    let app = TestApp::spawn().await;
    let current = app.owner_token().await;
    let other = app.owner_token().await;
    let message = expect_error(
        app.as_owner()
            .delete("/auth/v1/tokens")
            .query(&[("criteria", "CURRENT")])
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(message.contains("Bearer"), "{message}");
    assert_eq!(
        list(&app, &other).await.len(),
        2,
        "the refused request deleted nothing"
    );
    let response = app
        .delete("/auth/v1/tokens")
        .query(&[("criteria", "CURRENT")])
        .bearer_auth(&current)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let listed = list(&app, &other).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], token_id(&other));
}

#[tokio::test(flavor = "multi_thread")]
async fn criteria_is_required_and_must_be_known() {
    let app = TestApp::spawn().await;
    let token = app.owner_token().await;
    let missing = expect_error(
        app.delete("/auth/v1/tokens")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(missing.contains("criteria"), "{missing}");
    for bad in ["SOME", "all", ""] {
        let message = expect_error(
            app.delete("/auth/v1/tokens")
                .query(&[("criteria", bad)])
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(message.contains("ALL, EXPIRED or CURRENT"), "{message}");
    }
    assert_eq!(list(&app, &token).await.len(), 1);
}

/// The public key of a JWK from the JWKS.
fn verifying_key(jwk: &Value) -> VerifyingKey {
    let mut sec1 = vec![4u8];
    sec1.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
    sec1.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
    VerifyingKey::from_sec1_bytes(&sec1).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issued_token_verifies_with_the_published_jwks() {
    let app = TestApp::spawn().await;
    let token = app.owner_token().await;
    let jwks: Value = app.get("/.well-known/jwks.json").answer_json().await;
    let keys = jwks["keys"].as_array().unwrap();
    for jwk in keys {
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["alg"], "ES256");
        assert!(jwk["kid"].as_str().is_some_and(|k| !k.is_empty()));
    }
    let (signing_input, signature_b64) = token.rsplit_once('.').unwrap();
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature_b64).unwrap()).unwrap();
    let verifies = |input: &str| {
        keys.iter()
            .filter(|jwk| {
                verifying_key(jwk)
                    .verify(input.as_bytes(), &signature)
                    .is_ok()
            })
            .count()
    };
    assert_eq!(
        verifies(signing_input),
        1,
        "exactly one published key verifies the token"
    );
    let (header, payload) = signing_input.split_once('.').unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["identity"]["contractNumber"] = 1.into();
    let forged_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    assert_eq!(
        verifies(&forged_input),
        0,
        "a changed payload no longer verifies"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_ok() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
