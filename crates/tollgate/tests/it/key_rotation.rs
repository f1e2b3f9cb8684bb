//! Signing keys rotated on a schedule (`--key-rotation-days`): a node that
//! finds the current key old enough rotates it once, for every node; what
//! the old keys signed keeps working.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use reqwest::StatusCode;
use serde_json::Value;
use tollgate_server::clock::Clock;
use tollgate_server::keys::{AUTH_KEYS, REGISTRY_KEYS, rotate_if_due};

use crate::support::*;

/// Makes the store's current signing keys look activated `days` ago.
async fn age_keys(app: &TestApp, days: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    sqlx::query(
        "UPDATE signing_keys SET activated_at = activated_at - $1 WHERE activated_at IS NOT NULL",
    )
    .bind(days * 86_400)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

/// The published JWKS of `app`, by key id.
async fn jwks(app: &TestApp) -> Vec<Value> {
    let body: Value = app.get("/.well-known/jwks.json").answer_json().await;
    body["keys"].as_array().unwrap().clone()
}

/// The ids of the published keys that verify `token`.
fn signers(keys: &[Value], token: &str) -> Vec<String> {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    keys.iter()
        .filter(|jwk| {
            let mut sec1 = vec![4u8];
            for coordinate in ["x", "y"] {
                sec1.extend(
                    URL_SAFE_NO_PAD
                        .decode(jwk[coordinate].as_str().unwrap())
                        .unwrap(),
                );
            }
            VerifyingKey::from_sec1_bytes(&sec1)
                .unwrap()
                .verify(input.as_bytes(), &signature)
                .is_ok()
        })
        .map(|jwk| jwk["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn certificate_bundle(app: &TestApp) -> String {
    app.get("/registry/certs.pem")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_rotates_keys_older_than_the_schedule_and_old_tokens_keep_working() {
    let app = TestApp::spawn().await;
    let before = app.owner_token().await;
    let keys_before = jwks(&app).await;
    assert_eq!(keys_before.len(), 1);
    let bundle_before = certificate_bundle(&app).await;

    // Not due yet: a node on a 30-day schedule leaves fresh keys alone.
    let patient = app
        .spawn_sibling_configured(|config| config.key_rotation_days = 30)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(jwks(&patient).await, keys_before);

    age_keys(&app, 2).await;
    let node = app
        .spawn_sibling_configured(|config| config.key_rotation_days = 1)
        .await;
    let mut keys_after = Vec::new();
    for _ in 0..100 {
        keys_after = jwks(&node).await;
        if keys_after.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        keys_after.len(),
        2,
        "the new current key and the retired one are published: {keys_after:?}"
    );

    let after = node.owner_token().await;
    let old_kid = keys_before[0]["kid"].as_str().unwrap();
    assert_eq!(signers(&keys_after, &before), [old_kid]);
    let new_signer = signers(&keys_after, &after);
    assert_eq!(new_signer.len(), 1);
    assert_ne!(new_signer[0], old_kid, "a new key signs after the rotation");

    // Both tokens work on both nodes: the first node learns the new key
    // when it meets a signature it does not know.
    app.clock.advance(10);
    for (server, token) in [
        (&node, &before),
        (&node, &after),
        (&app, &before),
        (&app, &after),
    ] {
        let response = server
            .get(&format!("/auth/v1/tokens/{}", token_id(token)))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", server.base);
    }

    // The registry keys rotated too: the published next key now signs.
    let bundle_after = certificate_bundle(&node).await;
    let first_after = bundle_after
        .split_inclusive("-----END CERTIFICATE-----\n")
        .next();
    let second_before = bundle_before
        .split_inclusive("-----END CERTIFICATE-----\n")
        .nth(1);
    assert_eq!(first_after, second_before, "the former next key is current");
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_that_find_the_keys_due_at_once_rotate_once() {
    let app = TestApp::spawn().await;
    age_keys(&app, 2).await;
    let now = app.clock.now();
    for purpose in [AUTH_KEYS, REGISTRY_KEYS] {
        let due = now - 86_400;
        let (first, second) = tokio::join!(
            rotate_if_due(&app.store, purpose, due, now),
            rotate_if_due(&app.store, purpose, due, now),
        );
        let rotations = [first.unwrap(), second.unwrap()];
        assert_eq!(
            rotations.iter().filter(|rotated| **rotated).count(),
            1,
            "{purpose}: {rotations:?}"
        );
        let keys = app.store.signing_keys(purpose).await.unwrap();
        let current: Vec<_> = keys
            .iter()
            .filter(|k| k.activated_at.is_some() && k.retired_at.is_none())
            .collect();
        assert_eq!(current.len(), 1, "{purpose}: one current key");
        let next = keys.iter().filter(|k| k.activated_at.is_none()).count();
        assert_eq!(next, usize::from(purpose == REGISTRY_KEYS), "{purpose}");
    }
}
