//! Registry tokens over HTTP: the once-only password, bad input, concurrency.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

async fn post_token(app: &TestApp, registry: &str, body: &Value) -> reqwest::Response {
    app.as_owner()
        .post(&format!("{CR}/registries/{registry}/tokens"))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_is_shown_once_and_stored_only_as_a_digest() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "secret-registry").await;
    let response = post_token(
        &app,
        &registry,
        &json!({"properties": {"name": "ci", "scopes": [{"type": "repository", "name": "*", "actions": ["pull"]}]}}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let password = created["properties"]["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(password.len() >= 43, "at least 256 bits: {password}");
    let id = created["id"].as_str().unwrap();
    let path = format!("{CR}/registries/{registry}/tokens/{id}");

    let reads = [
        app.as_owner().get(&path).send().await.unwrap(),
        app.as_owner()
            .get(&format!("{CR}/registries/{registry}/tokens"))
            .send()
            .await
            .unwrap(),
        app.as_owner()
            .patch(&path)
            .json(&json!({"status": "disabled"}))
            .send()
            .await
            .unwrap(),
        app.as_owner()
            .put(&path)
            .json(&json!({"properties": {"name": "ci"}}))
            .send()
            .await
            .unwrap(),
    ];
    for response in reads {
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        assert!(!text.contains(&password), "the password appears only once");
        assert!(
            text.contains(r#""credentials":{"username":"ci","password":""}"#),
            "{text}"
        );
    }

    let record = app.stored_token(&registry, id).await.unwrap();
    assert_eq!(
        record.password_digest,
        tollgate_server::secrets::digest(&password)
    );
    if let Some(file) = app.database_url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal"] {
            let bytes = std::fs::read(format!("{file}{suffix}")).unwrap_or_default();
            assert!(
                !bytes
                    .windows(password.len())
                    .any(|w| w == password.as_bytes()),
                "the plaintext password is nowhere in the database file{suffix}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_token_bodies_get_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "strict-registry").await;
    let scope = |t: &str, n: &str, a: Value| json!({"type": t, "name": n, "actions": a});
    let cases = [
        (json!({"properties": {"name": "a"}}), "properties.name"),
        (json!({"properties": {"name": "1abc"}}), "properties.name"),
        (
            json!({"properties": {"name": "bad_name"}}),
            "properties.name",
        ),
        (json!({"properties": {"name": 12}}), "properties.name"),
        (
            json!({"properties": {"name": "ok", "status": "on"}}),
            "properties.status",
        ),
        (
            json!({"properties": {"name": "ok", "status": true}}),
            "properties.status",
        ),
        (
            json!({"properties": {"name": "ok", "expiryDate": "tomorrow"}}),
            "properties.expiryDate",
        ),
        (
            json!({"properties": {"name": "ok", "expiryDate": "2030-13-01T00:00:00Z"}}),
            "properties.expiryDate",
        ),
        (
            json!({"properties": {"name": "ok", "scopes": [scope("registry", "*", json!(["pull"]))]}}),
            "properties.scopes[0].type",
        ),
        (
            json!({"properties": {"name": "ok", "scopes": [scope("repository", "*", json!([]))]}}),
            "properties.scopes[0].actions",
        ),
        (
            json!({"properties": {"name": "ok", "scopes": [scope("repository", "*", json!(["pull", "admin"]))]}}),
            "properties.scopes[0].actions",
        ),
        (
            json!({"properties": {"name": "ok", "scopes": [scope("repository", "Team//App", json!(["pull"]))]}}),
            "properties.scopes[0].name",
        ),
        (
            json!({"properties": {"name": "ok", "scopes": "everything"}}),
            "properties.scopes",
        ),
        (
            json!({"properties": {"name": "ok", "scopes": [{"type": "repository", "name": "*"}]}}),
            "properties.scopes[0]",
        ),
    ];
    for (body, expected) in cases {
        let message = expect_error(
            post_token(&app, &registry, &body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(message.contains(expected), "{body}: {message}");
    }
    let listed: Value = app
        .owner_json(&format!("{CR}/registries/{registry}/tokens"))
        .await;
    assert_eq!(listed["total"], 0, "nothing half-written");

    let created: Value = post_token(&app, &registry, &json!({"properties": {"name": "real"}}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "{CR}/registries/{registry}/tokens/{}",
        created["id"].as_str().unwrap()
    );
    for (body, expected) in [
        (json!({"status": "paused"}), "status"),
        (json!({"expiryDate": 5}), "expiryDate"),
        (json!({"expiryDate": "2030-01-01"}), "expiryDate"),
        (
            json!({"scopes": [{"type": "repository", "name": "*", "actions": ["fly"]}]}),
            "scopes[0].actions",
        ),
    ] {
        let response = app
            .as_owner()
            .patch(&path)
            .json(&body)
            .send()
            .await
            .unwrap();
        let message = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(message.contains(expected), "{body}: {message}");
    }
    let unchanged: Value = app.owner_json(&path).await;
    assert_eq!(unchanged["properties"]["status"], "enabled");
    assert_eq!(unchanged["metadata"]["lastModifiedDate"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_ids_are_checked_and_scoped_to_their_registry() {
    let app = TestApp::spawn().await;
    let first = create_registry(&app, "first-registry").await;
    let second = create_registry(&app, "second-registry").await;
    let created: Value = post_token(&app, &first, &json!({"properties": {"name": "tok"}}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let response = app
        .as_owner()
        .get(&format!("{CR}/registries/{second}/tokens/{id}"))
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::NOT_FOUND).await;
    let response = app
        .as_owner()
        .get(&format!("{CR}/registries/{first}/tokens/xyz"))
        .send()
        .await
        .unwrap();
    let message = expect_error(response, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("tokenId"), "{message}");
    for limit in ["0", "1001", "-1", "x"] {
        let response = app
            .as_owner()
            .get(&format!("{CR}/registries/{first}/tokens"))
            .query(&[("limit", limit)])
            .send()
            .await
            .unwrap();
        let message = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(message.contains("limit"), "{message}");
    }
    // The same name may exist in another registry.
    let response = post_token(&app, &second, &json!({"properties": {"name": "tok"}})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_creates_of_one_token_name_yield_one_201_and_the_rest_409() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "race-tokens").await;
    const N: usize = 16;
    let attempts: Vec<_> = (0..N)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url(&format!("{CR}/registries/{registry}/tokens"));
            tokio::spawn(async move {
                let response = client
                    .post(url)
                    .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
                    .json(&json!({"properties": {"name": "same-name"}}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let mut created = 0;
    let mut conflicts = 0;
    for attempt in attempts {
        let (status, body) = attempt.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                conflicts += 1;
                assert_eq!(body["httpStatus"], 409);
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, conflicts), (1, N - 1));
    let listed: Value = app
        .owner_json(&format!("{CR}/registries/{registry}/tokens"))
        .await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["properties"]["name"], "same-name");
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_registry_deletes_its_tokens() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "short-lived").await;
    let created: Value = post_token(&app, &registry, &json!({"properties": {"name": "tok"}}))
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .as_owner()
        .delete(&format!("{CR}/registries/{registry}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let token = app
        .stored_token(&registry, created["id"].as_str().unwrap())
        .await;
    assert!(token.is_none(), "no orphaned token row");
}

#[tokio::test(flavor = "multi_thread")]
async fn deep_pages_stay_exact_across_marks_and_after_changes() {
    use tollgate_api::auth::ContractNumber;
    use tollgate_api::registry_rules::{RegistryId, TokenId, TokenName, TokenStatus};
    use tollgate_api::repository::{Action, RepositoryPattern, ScopeRule};
    use tollgate_server::store::{Change, RegistryTokenRecord, Stamps, TokenSettings};

    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "deep-pages").await;
    let change = Change {
        at: 1_800_000_000,
        by: OWNER_EMAIL.into(),
        by_user_id: "seed".into(),
    };
    let everything = RepositoryPattern::parse("name", "*").unwrap();
    let tokens: Vec<RegistryTokenRecord> = (0..2600)
        .map(|i| RegistryTokenRecord {
            id: TokenId::generate(),
            contract: ContractNumber::new(OWNER_CONTRACT).unwrap(),
            registry_id: RegistryId::parse("registry", &registry).unwrap(),
            name: TokenName::parse("name", &format!("bulk-{i}")).unwrap(),
            password_digest: "00".repeat(32),
            settings: TokenSettings {
                status: TokenStatus::Enabled,
                expires_at: None,
                scopes: vec![ScopeRule::new(everything.clone(), [Action::Pull]).unwrap()],
            },
            stamps: Stamps::created(&change),
            last_use: Default::default(),
            previous_valid_until: None,
        })
        .collect();
    app.store
        .insert_registry_tokens(&tokens, &[])
        .await
        .unwrap();
    let mut expected: Vec<String> = tokens.iter().map(|t| t.id.to_string()).collect();
    expected.sort();

    let page = |offset: usize| {
        let request = app
            .as_owner()
            .get(&format!("{CR}/registries/{registry}/tokens"))
            .query(&[("offset", offset.to_string()), ("limit", "100".to_string())]);
        async move {
            let body: Value = request.answer_json().await;
            let ids: Vec<String> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned())
                .collect();
            (body["total"].as_u64().unwrap(), ids)
        }
    };
    for offset in [
        0, 1000, 1023, 1024, 1025, 2047, 2048, 2550, 2599, 2600, 5000,
    ] {
        let (total, ids) = page(offset).await;
        assert_eq!(total, 2600);
        let end = (offset + 100).min(expected.len());
        let want: &[String] = if offset < expected.len() {
            &expected[offset..end]
        } else {
            &[]
        };
        assert_eq!(ids, want, "page at offset {offset}");
    }
    // Deleting a token before a mark shifts every later page by one.
    let response = app
        .as_owner()
        .delete(&format!(
            "{CR}/registries/{registry}/tokens/{}",
            expected[10]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    expected.remove(10);
    // Deep pages arriving together after the change share one scan of the
    // new marks, and each of them is exact.
    let together: Vec<_> = (0..16)
        .map(|i| 1024 + i * 97)
        .chain([2048])
        .map(|offset| (offset, tokio::spawn(page(offset))))
        .collect();
    for (offset, answer) in together {
        let (total, ids) = answer.await.unwrap();
        assert_eq!(total, 2599);
        assert_eq!(
            ids,
            &expected[offset..offset + 100],
            "page at offset {offset} after a delete"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_registry_and_a_missing_token_are_told_apart() {
    let app = TestApp::spawn().await;
    let registry = create_registry(&app, "known").await;
    let unknown_registry = "046b6c7f-0b8a-43b9-b35d-6489e6daee91";
    let unknown_token = "8f3a5b0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
    let body = json!({"properties": {"name": "ci"}});
    let owner = app.as_owner();
    for (registry, expected) in [
        (unknown_registry, "no registry with id"),
        (registry.as_str(), "no token with id"),
    ] {
        let tokens = format!("{CR}/registries/{registry}/tokens");
        let token = format!("{tokens}/{unknown_token}");
        for request in [
            owner.get(&token),
            owner
                .patch(&token)
                .json(&json!({"properties": {"status": "disabled"}})),
            owner.delete(&token),
            owner
                .post(&format!("{token}/rotate"))
                .json(&json!({"gracePeriodSeconds": 0})),
        ] {
            let message = expect_error(request.send().await.unwrap(), StatusCode::NOT_FOUND).await;
            assert!(message.contains(expected), "{message}");
        }
    }
    for request in [
        owner.get(&format!("{CR}/registries/{unknown_registry}/tokens")),
        owner
            .post(&format!("{CR}/registries/{unknown_registry}/tokens"))
            .json(&body),
        owner
            .put(&format!(
                "{CR}/registries/{unknown_registry}/tokens/{unknown_token}"
            ))
            .json(&body),
    ] {
        let message = expect_error(request.send().await.unwrap(), StatusCode::NOT_FOUND).await;
        assert!(message.contains("no registry with id"), "{message}");
    }
    // An empty registry lists no tokens, and is no missing registry.
    let empty = owner
        .get(&format!("{CR}/registries/{registry}/tokens"))
        .answer_json()
        .await;
    assert_eq!(empty["total"], 0, "{empty}");
}
