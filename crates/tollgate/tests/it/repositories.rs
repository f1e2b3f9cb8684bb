//! Repositories and artifacts (API 1.2.1), kept from a real registry's own
//! event notifications: skopeo pushes and pulls through a Distribution
//! that notifies Tollgate, and the official Python SDK reads the result
//! (`tests/conformance/repositories_sdk.py`). Also: notifications are
//! authenticated per registry, and a repeated event counts once.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::{RegistryId, RegistryName};
use tollgate_server::audit::Event;
use tollgate_server::clock::Clock;
use tollgate_server::config::DEFAULT_ISSUER;
use tollgate_server::registry::events::RegistryEvents;
use tollgate_server::store::{RepositoryReading, SeenArtifact};

use crate::support::registry::{
    Distribution, free_address, pull, push_tag, require, write_oci_image, write_oci_image_holding,
};
use crate::support::*;

/// A new notifications secret for the registry named `name` (connected
/// to an API nothing listens on).
async fn notifications_secret(app: &TestApp, name: &str) -> String {
    RegistryEvents::new(app.store.clone(), app.clock.clone())
        .connect(
            &RegistryName::parse("name", name).unwrap(),
            "http://127.0.0.1:9",
        )
        .await
        .unwrap()
        .expect("the registry exists")
}

/// `tollgate admin ...` on the app's store, however it ends.
fn admin_run(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("admin")
        .args(args)
        .args(["--database", &app.database_url])
        .output()
        .expect("tollgate runs")
}

/// `tollgate admin ...` on the app's store; answers its standard output.
fn admin(app: &TestApp, args: &[&str]) -> String {
    let output = admin_run(app, args);
    assert!(
        output.status.success(),
        "tollgate admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Sends `events` to the events endpoint as `registry` with `secret`.
async fn notify(app: &TestApp, registry: &str, secret: &str, events: Value) -> reqwest::Response {
    app.client
        .post(app.url("/registry/events"))
        .basic_auth(registry, Some(secret))
        .header(
            "content-type",
            "application/vnd.docker.distribution.events.v1+json",
        )
        .body(json!({ "events": events }).to_string())
        .send()
        .await
        .unwrap()
}

const DIGEST: &str = "sha256:4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";

fn manifest_push(id: &str, repository: &str, tag: &str) -> Value {
    manifest_push_by(id, repository, tag, "ci", "2026-11-30T10:00:00Z")
}

/// A manifest push by `actor` at `timestamp`.
fn manifest_push_by(id: &str, repository: &str, tag: &str, actor: &str, timestamp: &str) -> Value {
    json!({
        "id": id,
        "timestamp": timestamp,
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": 400, "length": 400, "digest": DIGEST,
            "repository": repository, "tag": tag,
            "url": format!("http://registry/v2/{repository}/manifests/{DIGEST}")
        },
        "request": {"id": "r", "method": "PUT", "useragent": "test"},
        "actor": {"name": actor},
        "source": {"addr": "registry:5000", "instanceID": "i"}
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn one_registry_cannot_send_anothers_events_and_a_repeated_event_counts_once() {
    let app = TestApp::spawn().await;
    let alpha = create_registry(&app, "alpha").await;
    let beta = create_registry(&app, "beta").await;
    let alpha_secret = notifications_secret(&app, "alpha").await;
    let beta_secret = notifications_secret(&app, "beta").await;
    let repositories = |registry: &str| format!("{CR}/registries/{registry}/repositories");

    // Events for alpha with beta's secret: refused, and nothing changes.
    let forged = notify(
        &app,
        "alpha",
        &beta_secret,
        json!([manifest_push("e1", "team/app", "v1")]),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let body: Value = forged.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED", "{body}");
    for (name, secret) in [("nosuch", alpha_secret.as_str()), ("alpha", "")] {
        let refused = notify(&app, name, secret, json!([])).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{name}");
    }
    let listed = app.owner_json(&repositories(&alpha)).await;
    assert_eq!(listed["items"], json!([]), "{listed}");

    // With its own secret, twice: the event is taken in once.
    for _ in 0..2 {
        let sent = notify(
            &app,
            "alpha",
            &alpha_secret,
            json!([manifest_push("e1", "team/app", "v1")]),
        )
        .await;
        assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    }
    let listed = app.owner_json(&repositories(&alpha)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["metadata"]["pushCount"], 1, "{listed}");
    let other = app.owner_json(&repositories(&beta)).await;
    assert_eq!(other["items"], json!([]), "beta holds nothing: {other}");

    // Distribution 3 sends the v2 media type; an event this service cannot
    // read is skipped, never refused (a refusal blocks the queue for ever).
    let mixed = app
        .client
        .post(app.url("/registry/events"))
        .basic_auth("alpha", Some(&alpha_secret))
        .header(
            "content-type",
            "application/vnd.docker.distribution.events.v2+json",
        )
        .body(
            json!({"events": [
                {"id": null, "action": 17},
                {"action": "push"},
                manifest_push("e2", "team/other", "v1"),
            ]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(mixed.status(), StatusCode::NO_CONTENT);
    let listed = app.owner_json(&repositories(&alpha)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");

    // A secret made again replaces the old one.
    let renewed = notifications_secret(&app, "alpha").await;
    let old = notify(&app, "alpha", &alpha_secret, json!([])).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = notify(&app, "alpha", &renewed, json!([])).await;
    assert_eq!(new.status(), StatusCode::NO_CONTENT);

    // Another contract's owner finds neither the registry nor its repositories.
    app.create_user(
        "other@example.com",
        "other password",
        &[OWNER_CONTRACT + 1],
        Role::Owner,
    )
    .await;
    let foreign = app
        .as_user("other@example.com", "other password")
        .get(&format!("{}/team%2Fapp", repositories(&alpha)))
        .send()
        .await
        .unwrap();
    expect_error(foreign, StatusCode::NOT_FOUND).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_earliest_push_names_the_creator_and_the_latest_the_last_modifier_in_any_order() {
    let app = TestApp::spawn().await;
    let id = create_registry(&app, "holding").await;
    let secret = notifications_secret(&app, "holding").await;
    // Delivered in neither order: the latest first, the earliest last.
    let events = json!([
        manifest_push_by("e1", "team/app", "v2", "bob", "2026-11-30T11:00:00Z"),
        manifest_push_by("e2", "team/app", "v3", "carol", "2026-11-30T10:30:00Z"),
        manifest_push_by("e3", "team/app", "v1", "alice", "2026-11-30T10:00:00Z"),
    ]);
    let sent = notify(&app, "holding", &secret, events).await;
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    let repository = app
        .owner_json(&format!("{CR}/registries/{id}/repositories/team%2Fapp"))
        .await;
    let artifact = app
        .owner_json(&format!(
            "{CR}/registries/{id}/repositories/team%2Fapp/artifacts/{DIGEST}"
        ))
        .await;
    for read in [&repository, &artifact] {
        let metadata = &read["metadata"];
        assert_eq!(metadata["createdBy"], "alice", "{read}");
        assert_eq!(metadata["createdDate"], "2026-11-30T10:00:00Z", "{read}");
        assert_eq!(metadata["lastModifiedBy"], "bob", "{read}");
        assert_eq!(
            metadata["lastModifiedDate"], "2026-11-30T11:00:00Z",
            "{read}"
        );
        assert_eq!(
            metadata["lastPushedAt"], metadata["lastModifiedDate"],
            "{read}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recount_keeps_the_blobs_reported_since_it_began_and_forgets_the_rest() {
    let app = TestApp::spawn().await;
    let id = create_registry(&app, "holding").await;
    let secret = notifications_secret(&app, "holding").await;
    let contract = ContractNumber::new(OWNER_CONTRACT).unwrap();
    let registry = RegistryId::parse("registry", &id).unwrap();
    let layer = format!("sha256:{}", "b".repeat(64));
    let blob_push = json!({
        "id": "b1", "timestamp": "2026-11-30T10:00:00Z", "action": "push",
        "target": {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 1000,
            "digest": layer, "repository": "team/app",
            "url": format!("http://registry/v2/team/app/blobs/{layer}")},
        "request": {"id": "r", "method": "PUT", "useragent": "test"}, "actor": {"name": "ci"}
    });
    // A recount began (by the database's clock, as on any node)...
    let began = app.store.database_now().await.unwrap();
    // ...and meanwhile a blob is reported.
    let sent = notify(&app, "holding", &secret, json!([blob_push])).await;
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    let registry_path = format!("{CR}/registries/{id}");
    let usage = || app.owner_json(&registry_path);
    assert_eq!(usage().await["properties"]["storageUsage"]["bytes"], 1000);
    // The recount keeps it, though no manifest it read references it (its
    // push may still be under way)...
    let now = app.clock.now();
    app.store
        .recount_storage(contract, &registry, &BTreeMap::new(), Some(began), now)
        .await
        .unwrap();
    assert_eq!(usage().await["properties"]["storageUsage"]["bytes"], 1000);
    // ...and one that began after the report forgets it.
    let later = app.store.database_now().await.unwrap() + 1;
    app.store
        .recount_storage(contract, &registry, &BTreeMap::new(), Some(later), now)
        .await
        .unwrap();
    assert_eq!(usage().await["properties"]["storageUsage"]["bytes"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_taken_in_while_a_repository_is_read_is_never_undone_by_the_resync() {
    let app = TestApp::spawn().await;
    let id = create_registry(&app, "holding").await;
    let secret = notifications_secret(&app, "holding").await;
    let contract = ContractNumber::new(OWNER_CONTRACT).unwrap();
    let registry = RegistryId::parse("registry", &id).unwrap();
    let artifact = format!("{CR}/registries/{id}/repositories/team%2Fapp/artifacts/{DIGEST}");
    let sent = notify(
        &app,
        "holding",
        &secret,
        json!([manifest_push("e1", "team/app", "v1")]),
    )
    .await;
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    // What a resynchronisation read of team/app: the artifact, tagged v1.
    let seen = [SeenArtifact {
        digest: DIGEST.into(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        size: 400,
        tags: vec!["v1".into()],
    }];
    let reading = |version_before| RepositoryReading {
        name: "team/app",
        catalogued: true,
        version_before,
        seen: &seen,
        gone: &[],
    };
    let before = app
        .store
        .repository_version(contract, &registry, "team/app")
        .await
        .unwrap();
    assert!(before.is_some());
    // While it read, v2 was pushed and its event taken in: the reading is
    // older, and is not applied.
    let sent = notify(
        &app,
        "holding",
        &secret,
        json!([manifest_push("e2", "team/app", "v2")]),
    )
    .await;
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    let applied = app
        .store
        .resync_repository(contract, &registry, &reading(before), 0)
        .await
        .unwrap();
    assert!(
        !applied,
        "a reading older than an event is left to the next run"
    );
    assert_eq!(
        app.owner_json(&artifact).await["properties"]["tags"],
        json!(["v1", "v2"])
    );
    // A reading begun after the event is applied: the registry shows v1 only.
    let now = app
        .store
        .repository_version(contract, &registry, "team/app")
        .await
        .unwrap();
    assert_ne!(now, before);
    let applied = app
        .store
        .resync_repository(contract, &registry, &reading(now), 0)
        .await
        .unwrap();
    assert!(applied);
    assert_eq!(
        app.owner_json(&artifact).await["properties"]["tags"],
        json!(["v1"])
    );
    // Pushed once, deleted and pushed once again while a reading of it was
    // made: the new repository's version is not the old one's (a count
    // would be 1 both times), so the reading of the old one is not applied.
    let pushed = |id: &str, tag: &str| json!([manifest_push(id, "again/app", tag)]);
    let sent = notify(&app, "holding", &secret, pushed("e10", "old")).await;
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    let noted = app
        .store
        .repository_version(contract, &registry, "again/app")
        .await
        .unwrap();
    let deleted = Event::by_operator(
        Some(contract),
        0,
        "repository.deleted",
        ("repository", "again/app"),
        json!({}),
    );
    assert!(
        app.store
            .delete_repository(contract, &registry, "again/app", &deleted)
            .await
            .unwrap()
    );
    let sent = notify(&app, "holding", &secret, pushed("e11", "new")).await;
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    let stale = RepositoryReading {
        name: "again/app",
        version_before: noted,
        ..reading(None)
    };
    let applied = app
        .store
        .resync_repository(contract, &registry, &stale, 0)
        .await
        .unwrap();
    assert!(
        !applied,
        "a reading of the deleted repository is not applied"
    );
    let again = format!("{CR}/registries/{id}/repositories/again%2Fapp/artifacts/{DIGEST}");
    assert_eq!(
        app.owner_json(&again).await["properties"]["tags"],
        json!(["new"])
    );
    // A repository unknown when the read began, pushed to meanwhile: the
    // event's repository stays as the event made it.
    let sent = notify(
        &app,
        "holding",
        &secret,
        json!([manifest_push("e3", "late/one", "v9")]),
    )
    .await;
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    let unknown_then = RepositoryReading {
        name: "late/one",
        version_before: None,
        ..reading(None)
    };
    let applied = app
        .store
        .resync_repository(contract, &registry, &unknown_then, 0)
        .await
        .unwrap();
    assert!(!applied);
    let path = format!("{CR}/registries/{id}/repositories/late%2Fone/artifacts/{DIGEST}");
    assert_eq!(
        app.owner_json(&path).await["properties"]["tags"],
        json!(["v9"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_the_registry_cannot_serve_fails_alone_and_is_named() {
    require("docker-registry");
    require("skopeo");
    let app = TestApp::spawn().await;
    let everything = json!([{"type": "repository", "name": "*", "actions": ["pull", "push"]}]);
    let (registry, service, _, password) =
        registry_with_token(&app, "partial", "ci", everything).await;
    let distribution = Distribution::start(&app, &service).await;
    admin(
        &app,
        &[
            "registry-connect",
            "--registry",
            "partial",
            "--tollgate-url",
            &app.base,
            "--registry-url",
            &format!("http://{}", distribution.address),
        ],
    );
    let scratch = tempfile::tempdir().unwrap();
    let image = write_oci_image(&scratch.path().join("image"));
    let creds = format!("ci:{password}");
    for repository in ["broken/app", "fine/app"] {
        push_tag(&image, &distribution, repository, "v1", &creds)
            .await
            .unwrap();
    }
    // The registry's own data for broken/app is damaged: its tag names no
    // digest, and the registry answers 500 for the manifest.
    let link = distribution
        .storage()
        .join("docker/registry/v2/repositories/broken/app/_manifests/tags/v1/current/link");
    std::fs::write(&link, "sha256:damaged").unwrap();

    let resync = admin_run(
        &app,
        &[
            "registry-resync",
            "--registry",
            "partial",
            "--registry-issuer",
            REGISTRY_ISSUER,
            "--registry-domain",
            REGISTRY_DOMAIN,
        ],
    );
    let printed = String::from_utf8_lossy(&resync.stdout);
    assert_eq!(resync.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("1 repositories failed, first: broken/app:"),
        "{printed}"
    );
    // The other repository was read all the same, and the usage summed.
    let repositories = format!("{CR}/registries/{registry}/repositories");
    let fine = app.owner_json(&format!("{repositories}/fine%2Fapp")).await;
    assert_eq!(fine["metadata"]["artifactCount"], 1, "{fine}");
    let broken = app
        .get(&format!("{repositories}/broken%2Fapp"))
        .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
        .send()
        .await
        .unwrap();
    expect_error(broken, StatusCode::NOT_FOUND).await;
    let usage = app.owner_json(&format!("{CR}/registries/{registry}")).await;
    assert!(
        usage["properties"]["storageUsage"]["bytes"].as_i64() > Some(0),
        "{usage}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_registry_reports_pushes_and_pulls_that_the_official_sdk_reads() {
    require("docker-registry");
    require("skopeo");
    // Two nodes on one store: the registry's token service, and the one
    // its notifications go to, which is stopped and started again below.
    let app = TestApp::spawn().await;
    let events_node = app.spawn_sibling(DEFAULT_ISSUER).await;
    let everything = json!([{"type": "repository", "name": "*", "actions": ["pull", "push"]}]);
    let (registry, service, _, password) =
        registry_with_token(&app, "holdings", "ci", everything).await;
    let address = free_address();
    let printed = admin(
        &app,
        &[
            "registry-connect",
            "--registry",
            "holdings",
            "--tollgate-url",
            &events_node.base,
            "--registry-url",
            &format!("http://{address}"),
        ],
    );
    let authorization = printed
        .lines()
        .find_map(|line| line.trim().strip_prefix("Authorization: [\""))
        .and_then(|rest| rest.strip_suffix("\"]"))
        .expect("the configuration section names the Authorization header")
        .to_owned();
    let distribution = Distribution::start_notifying(
        &app,
        &service,
        address,
        &events_node.url("/registry/events"),
        &authorization,
    )
    .await;
    let scratch = tempfile::tempdir().unwrap();
    let image = write_oci_image(&scratch.path().join("image"));
    let creds = format!("ci:{password}");

    push_tag(&image, &distribution, "team/app", "v1", &creds)
        .await
        .unwrap();
    push_tag(&image, &distribution, "team/app", "v2", &creds)
        .await
        .unwrap();
    push_tag(&image, &distribution, "other/tool", "v1", &creds)
        .await
        .unwrap();
    // An image of its own, so that its deletion frees storage.
    let scratch_image = write_oci_image_holding(
        &scratch.path().join("scratch-image"),
        b"deleted by the SDK\n",
    );
    push_tag(&scratch_image, &distribution, "scratch/tmp", "v1", &creds)
        .await
        .unwrap();
    for _ in 0..2 {
        pull(
            &distribution,
            "team/app",
            &creds,
            &scratch.path().join("pulled"),
        )
        .await
        .unwrap();
    }

    // Distribution notifies asynchronously: wait for the second pull.
    let team_app = format!("{CR}/registries/{registry}/repositories/team%2Fapp");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let read = app.owner_json(&team_app).await;
        if read["metadata"]["pullCount"].as_i64() >= Some(2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pulls were not reported: {read}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // skopeo compresses the layout's layer on the way, so the registry's
    // manifest is not the layout's: read it back from what was pulled.
    let digest = manifest_digest(&scratch.path().join("pulled"));
    let token = app.owner_token().await;
    crate::conformance::run_sdk_script(
        "repositories_sdk.py",
        &[
            ("TOLLGATE_URL", app.base.as_str()),
            ("TOKEN", token.as_str()),
            ("REGISTRY_ID", registry.as_str()),
            ("DIGEST", digest.as_str()),
            ("PUSHER", "ci"),
        ],
    )
    .await;
    let deleted_by_sdk = pull(
        &distribution,
        "scratch/tmp",
        &creds,
        &scratch.path().join("tmp"),
    )
    .await;
    assert!(
        deleted_by_sdk.is_err(),
        "scratch/tmp can still be pulled after the SDK deleted it"
    );

    // Deleting a repository deletes it from the registry: the pull fails.
    let deleted = app.as_owner().delete(&team_app).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = pull(
        &distribution,
        "team/app",
        &creds,
        &scratch.path().join("again"),
    )
    .await;
    assert!(gone.is_err(), "team/app:v1 can still be pulled");
    expect_error(
        app.get(&team_app)
            .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    pull(
        &distribution,
        "other/tool",
        &creds,
        &scratch.path().join("tool"),
    )
    .await
    .expect("the other repository is untouched");

    // Events sent while the node that takes them in is down are lost...
    drop(events_node);
    let late = write_oci_image_holding(
        &scratch.path().join("late"),
        b"pushed while Tollgate was down\n",
    );
    push_tag(&late, &distribution, "late/arrival", "v1", &creds)
        .await
        .unwrap();
    let _restarted = app.spawn_sibling(DEFAULT_ISSUER).await;
    let late_one = format!("{CR}/registries/{registry}/repositories/late%2Farrival");
    let missing = app
        .get(&late_one)
        .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
        .send()
        .await
        .unwrap();
    expect_error(missing, StatusCode::NOT_FOUND).await;
    // ...and a resynchronisation from the registry's own API finds them.
    let resynced = admin(
        &app,
        &[
            "registry-resync",
            "--registry",
            "holdings",
            "--registry-issuer",
            REGISTRY_ISSUER,
            "--registry-domain",
            REGISTRY_DOMAIN,
        ],
    );
    assert!(resynced.contains("holdings:"), "{resynced}");
    let found = app.owner_json(&late_one).await;
    assert_eq!(found["metadata"]["artifactCount"], 1, "{found}");
    let artifacts = app.owner_json(&format!("{late_one}/artifacts")).await;
    assert_eq!(
        artifacts["items"][0]["properties"]["tags"],
        json!(["v1"]),
        "{artifacts}"
    );
    // The deleted repository stays deleted (the catalog still lists it, empty).
    let still_gone = app
        .get(&team_app)
        .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
        .send()
        .await
        .unwrap();
    expect_error(still_gone, StatusCode::NOT_FOUND).await;
    // The storage usage is recounted from what the manifests left
    // reference: the image of other/tool (which team/app shared) and the
    // late one, counted although their events were lost; not the deleted
    // scratch/tmp's image, which only the registry's garbage collection
    // will free on disk.
    // (As the registry holds them: skopeo compressed the layers on push.)
    let late_pulled = scratch.path().join("late-pulled");
    pull(&distribution, "late/arrival", &creds, &late_pulled)
        .await
        .unwrap();
    let (tool_manifest, tool_blobs) = image_bytes(&scratch.path().join("tool"));
    let (late_manifest, late_blobs) = image_bytes(&late_pulled);
    let blobs: BTreeMap<String, i64> = tool_blobs.into_iter().chain(late_blobs).collect();
    let expected = tool_manifest + late_manifest + blobs.values().sum::<i64>();
    let usage =
        &app.owner_json(&format!("{CR}/registries/{registry}")).await["properties"]["storageUsage"];
    assert_eq!(usage["bytes"], expected, "{usage} after {resynced}");
    let (_, image_layers) = image_bytes(&image);
    let (_, scratch_layers) = image_bytes(&scratch_image);
    assert!(
        scratch_layers
            .keys()
            .any(|digest| !image_layers.contains_key(digest)),
        "the deleted image has blobs of its own"
    );
}

/// An image layout's manifest size and the blobs it references (config and
/// layers), by digest.
fn image_bytes(image: &Path) -> (i64, BTreeMap<String, i64>) {
    let digest = manifest_digest(image);
    let path = image
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let manifest = std::fs::read(path).unwrap();
    let body: Value = serde_json::from_slice(&manifest).unwrap();
    let blobs = std::iter::once(&body["config"])
        .chain(body["layers"].as_array().unwrap())
        .map(|d| {
            (
                d["digest"].as_str().unwrap().to_owned(),
                d["size"].as_i64().unwrap(),
            )
        })
        .collect();
    (manifest.len() as i64, blobs)
}

/// The digest of an image layout's one manifest.
fn manifest_digest(image: &Path) -> String {
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(image.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_owned()
}
