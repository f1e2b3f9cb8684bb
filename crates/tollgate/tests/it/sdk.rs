//! The Rust SDK (`tollgate-client`) against a real Tollgate: every
//! operation, a refused request with the server's message, lists walked
//! over several pages, and retries only where they are safe.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use tollgate_api::auth::Criteria;
use tollgate_api::registry::{
    PatchRegistryInput, PatchTokenInput, PostRegistryInput, PostRegistryProperties, PostTokenInput,
    PostTokenProperties, Scope,
};
use tollgate_client::{Client, Configuration, Error};
use tollgate_server::http::limits::ConnectionLimits;

use crate::support::*;

fn owner(app: &TestApp) -> Client {
    Client::new(Configuration::new(&app.base).basic_auth(OWNER_EMAIL, OWNER_PASSWORD)).unwrap()
}

fn registry(name: &str) -> PostRegistryInput {
    PostRegistryInput {
        properties: PostRegistryProperties {
            name: name.into(),
            location: "de/fra".into(),
            garbage_collection_schedule: None,
            features: None,
            api_subnet_allow_list: None,
        },
    }
}

fn token(name: &str) -> PostTokenInput {
    PostTokenInput {
        properties: PostTokenProperties {
            name: name.into(),
            expiry_date: None,
            scopes: Some(vec![Scope {
                type_: "repository".into(),
                name: "app/*".into(),
                actions: vec!["pull".into()],
            }]),
            status: None,
        },
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_api_operations_and_a_refusal_in_words() {
    let app = TestApp::spawn().await;
    let client = owner(&app);
    let jwt = client.tokens_generate().ttl(3600).send().await.unwrap();
    let id = token_id(&jwt.token);
    let bearer = client.with_token(&jwt.token);

    let listed = bearer.tokens_get().await.unwrap().tokens;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    let found = bearer.tokens_find_by_id(&id).await.unwrap();
    assert_eq!(found.id, id);

    let short = client.tokens_generate().ttl(60).send().await.unwrap();
    app.clock.advance(120);
    let expired = client
        .tokens_delete_by_criteria(Criteria::Expired)
        .await
        .unwrap();
    assert!(expired.success);
    let refused = client
        .with_token(&short.token)
        .tokens_get()
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(401));

    let other = client.tokens_generate().send().await.unwrap();
    assert!(
        client
            .tokens_delete_by_id(&token_id(&other.token))
            .await
            .unwrap()
            .success
    );
    let gone = bearer
        .tokens_find_by_id(&token_id(&other.token))
        .await
        .unwrap_err();
    assert_eq!(gone.status(), Some(404));
    assert!(matches!(&gone, Error::Api { messages, .. } if !messages.is_empty()));

    assert!(
        bearer
            .tokens_delete_by_criteria(Criteria::Current)
            .await
            .unwrap()
            .success
    );
    assert_eq!(bearer.tokens_get().await.unwrap_err().status(), Some(401));
    client.tokens_generate().send().await.unwrap();
    assert!(
        client
            .tokens_delete_by_criteria(Criteria::All)
            .await
            .unwrap()
            .success
    );

    let wrong = Client::new(Configuration::new(&app.base).basic_auth(OWNER_EMAIL, "hunter2-guess"))
        .unwrap()
        .tokens_get()
        .await
        .unwrap_err();
    assert_eq!(wrong.status(), Some(401));
    let sentence = wrong.to_string();
    assert!(sentence.ends_with("(401 Unauthorized)"), "{sentence}");
    assert!(!sentence.contains("hunter2"), "no secret in the message");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_contract_account_names_its_contract_per_client() {
    let app = TestApp::spawn().await;
    app.create_user("two@example.com", "two password", &[41, 42], Role::Owner)
        .await;
    let client =
        Client::new(Configuration::new(&app.base).basic_auth("two@example.com", "two password"))
            .unwrap();
    let refused = client.tokens_get().await.unwrap_err();
    assert_eq!(refused.status(), Some(400), "{refused}");
    let in_42 = client.with_contract(tollgate_api::auth::ContractNumber::new(42).unwrap());
    in_42.tokens_generate().send().await.unwrap();
    assert_eq!(in_42.tokens_get().await.unwrap().tokens.len(), 1);
    let configured = Client::new(
        Configuration::new(&app.base)
            .basic_auth("two@example.com", "two password")
            .contract(41)
            .unwrap(),
    )
    .unwrap();
    assert!(configured.tokens_get().await.unwrap().tokens.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn container_registry_operations_and_every_page() {
    let app = TestApp::spawn().await;
    let client = owner(&app);
    assert!(
        client
            .locations_get()
            .await
            .unwrap()
            .items
            .iter()
            .any(|l| l.id == "de/fra")
    );
    assert!(!client.names_check_usage("sdk-one").await.unwrap());
    let one = client.registries_post(&registry("sdk-one")).await.unwrap();
    assert!(client.names_check_usage("sdk-one").await.unwrap());
    let bad_name = client.names_check_usage("Not A Name!").await.unwrap_err();
    assert_eq!(bad_name.status(), Some(400));
    for name in ["sdk-two", "sdk-three"] {
        client.registries_post(&registry(name)).await.unwrap();
    }
    let page = client.registries_get().limit(1).send().await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(!page.pagination.token.is_empty());
    let mut names: Vec<String> = client
        .registries_get()
        .limit(1)
        .all()
        .map_ok(|r| r.properties.name)
        .try_collect()
        .await
        .unwrap();
    names.sort();
    assert_eq!(
        names,
        ["sdk-one", "sdk-three", "sdk-two"],
        "three pages of one"
    );
    let filtered = client
        .registries_get()
        .filter_name("two")
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.items.len(), 1);

    let found = client.registries_find_by_id(&one.id).await.unwrap();
    assert_eq!(found.properties.name, "sdk-one");
    let patched = client
        .registries_patch(
            &one.id,
            &PatchRegistryInput {
                api_subnet_allow_list: Some(vec!["10.0.0.0/8".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.properties.api_subnet_allow_list, ["10.0.0.0/8"]);
    let put = client
        .registries_put("0c5d2f6e-7d1a-4c59-9a53-0f5c8f0e9a11", &registry("sdk-put"))
        .await
        .unwrap();
    assert_eq!(put.id, "0c5d2f6e-7d1a-4c59-9a53-0f5c8f0e9a11");

    for i in 0..5 {
        client
            .registries_tokens_post(&one.id, &token(&format!("t{i}")))
            .await
            .unwrap();
    }
    let tokens: Vec<_> = client
        .registries_tokens_get(&one.id)
        .limit(2)
        .all()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tokens.len(), 5, "three pages of at most two");
    let page = client
        .registries_tokens_get(&one.id)
        .offset(4)
        .limit(2)
        .send()
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total), (1, 5));
    let all: Vec<_> = client
        .registries_tokens_get_all(&one.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);

    let first = &tokens[0];
    let found = client
        .registries_tokens_find_by_id(&one.id, &first.id)
        .await
        .unwrap();
    assert_eq!(found.properties.credentials.password, "");
    let disabled = client
        .registries_tokens_patch(
            &one.id,
            &first.id,
            &PatchTokenInput {
                status: Some("disabled".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(disabled.properties.status, "disabled");
    let replaced = client
        .registries_tokens_put(&one.id, &first.id, &token(&first.properties.name))
        .await
        .unwrap();
    assert_eq!(replaced.properties.status, "enabled");
    let rotated = client
        .registries_tokens_rotate(&one.id, &first.id, Some(60))
        .await
        .unwrap();
    assert!(!rotated.properties.credentials.password.is_empty());
    client
        .registries_tokens_delete(&one.id, &first.id)
        .await
        .unwrap();
    let gone = client
        .registries_tokens_find_by_id(&one.id, &first.id)
        .await
        .unwrap_err();
    assert_eq!(gone.status(), Some(404));

    client.registries_delete(&one.id).await.unwrap();
    let gone = client.registries_find_by_id(&one.id).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));
    assert!(gone.to_string().contains("(404 Not Found)"), "{gone}");
}

/// A service that serves one connection at a time, with that one taken:
/// the next connection is told 503 with `Retry-After: 1`.
async fn full_service() -> (TestApp, tokio::net::TcpStream) {
    let app = TestApp::spawn_with_limits(ConnectionLimits {
        max_connections: 1,
        ..Default::default()
    })
    .await;
    let held = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    (app, held)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_is_retried_after_retry_after_for_a_get_but_never_for_a_post() {
    let (app, held) = full_service().await;
    let client = owner(&app);
    let post = client
        .registries_post(&registry("sdk-busy"))
        .await
        .unwrap_err();
    assert_eq!(post.status(), Some(503), "a POST is never repeated: {post}");

    let started = Instant::now();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(held);
    });
    let listed = client.tokens_get().await;
    release.await.unwrap();
    assert!(listed.is_ok(), "the GET succeeded on its retry: {listed:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it waited the Retry-After second"
    );

    let (app, _held) = full_service().await;
    let patient_once = Client::new(
        Configuration::new(&app.base)
            .basic_auth(OWNER_EMAIL, OWNER_PASSWORD)
            .max_retries(0),
    )
    .unwrap();
    assert_eq!(
        patient_once.tokens_get().await.unwrap_err().status(),
        Some(503),
        "retries can be turned off"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn repository_and_artifact_operations() {
    const DIGEST: &str = "sha256:4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
    let app = TestApp::spawn().await;
    let client = owner(&app);
    let registry = client.registries_post(&registry("holding")).await.unwrap();
    report_pushes(
        &app,
        "holding",
        &[("team/app", "v1", DIGEST), ("tools/lint", "v1", DIGEST)],
    )
    .await;
    let page = client
        .registries_repositories_get(&registry.id)
        .order_by("name")
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].properties.name, "team/app");
    assert!(page.links.next.is_some());
    let every: Vec<String> = client
        .registries_repositories_get(&registry.id)
        .order_by("name")
        .limit(1)
        .all()
        .map_ok(|r| r.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(every, ["team/app", "tools/lint"], "all() walks every page");
    let named = client
        .registries_repositories_get(&registry.id)
        .filter_name("lint")
        .send()
        .await
        .unwrap();
    assert_eq!(named.items[0].id, "tools/lint");
    let found = client
        .registries_repositories_find_by_name(&registry.id, "team/app")
        .await
        .unwrap();
    assert_eq!(
        (found.metadata.artifact_count, found.metadata.pull_count),
        (1, 1)
    );
    let artifacts = client
        .registries_artifacts_get(&registry.id)
        .send()
        .await
        .unwrap();
    assert_eq!(artifacts.items.len(), 2);
    let artifact = client
        .registries_repositories_artifacts_find_by_digest(&registry.id, "team/app", DIGEST)
        .await
        .unwrap();
    assert_eq!(artifact.properties.tags, ["v1"]);
    let listed = client
        .registries_repositories_artifacts_get(&registry.id, "team/app")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.items[0].id, DIGEST);
    let vulnerabilities = client
        .registries_repositories_artifacts_vulnerabilities_get(&registry.id, "team/app", DIGEST)
        .send()
        .await
        .unwrap();
    assert!(vulnerabilities.items.is_empty());
    let refused = client
        .registries_repositories_get(&registry.id)
        .order_by("size")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(400));
    // The registry's API is not reachable here: a 502 in words, nothing forgotten.
    let failed = client
        .registries_repositories_delete(&registry.id, "team/app")
        .await
        .unwrap_err();
    assert_eq!(failed.status(), Some(502));
    assert!(
        failed.to_string().contains("the registry's API failed"),
        "{failed}"
    );
    client
        .registries_repositories_find_by_name(&registry.id, "team/app")
        .await
        .unwrap();
}
