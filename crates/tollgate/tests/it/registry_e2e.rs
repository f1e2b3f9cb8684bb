//! End to end: a real CNCF Distribution registry (Debian's `docker-registry`)
//! delegates authentication to Tollgate, and skopeo logs in, pushes and
//! pulls with registry tokens made through the Container Registry API.
//!
//! Needs `docker-registry` and `skopeo` on PATH (`.ci/run` installs them:
//! `apt-get install -y docker-registry skopeo`). A missing tool fails the
//! test with that instruction rather than skipping it.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::registry::{Distribution, login, pull, push, require, write_oci_image};
use crate::support::*;

/// Asserts that skopeo failed, and for the expected reason.
#[track_caller]
fn refused(result: Result<(), String>, reason: &str, what: &str) {
    match result {
        Ok(()) => panic!("{what}: skopeo succeeded but must be refused"),
        Err(e) => assert!(
            e.contains(reason),
            "{what}: refused for another reason: {e}"
        ),
    }
}

/// The registry refused an operation the granted access does not cover.
const DENIED: &str = "requested access to the resource is denied";
/// Tollgate refused the credentials at login.
const BAD_LOGIN: &str = "invalid username/password";

/// A new token of the registry; answers its id and `name:password` credentials.
async fn add_token(app: &TestApp, registry: &str, name: &str, scopes: Value) -> (String, String) {
    let (id, password) = create_token(app, registry, name, scopes).await;
    (id, format!("{name}:{password}"))
}

/// A test's files: an OCI image to push, where pulls land, skopeo's auth file.
struct Scratch {
    image: PathBuf,
    pulled: PathBuf,
    authfile: PathBuf,
    _dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        Scratch {
            image: write_oci_image(&dir.path().join("image")),
            pulled: dir.path().join("pulled"),
            authfile: dir.path().join("auth.json"),
            _dir: dir,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_registry_enforces_registry_tokens() {
    require("docker-registry");
    require("skopeo");
    let app = TestApp::spawn().await;
    let Scratch {
        image,
        pulled,
        authfile,
        _dir,
    } = Scratch::new();

    let everything = json!([{"type": "repository", "name": "*", "actions": ["pull", "push"]}]);
    let (registry_a, service_a, full_id, full_password) =
        registry_with_token(&app, "alpha", "full", everything.clone()).await;
    let full = format!("full:{full_password}");
    let (_, pull_only) = add_token(
        &app,
        &registry_a,
        "reader",
        json!([{"type": "repository", "name": "*", "actions": ["pull"]}]),
    )
    .await;
    let (_, team) = add_token(
        &app,
        &registry_a,
        "team",
        json!([{"type": "repository", "name": "team/*", "actions": ["pull", "push"]}]),
    )
    .await;
    let (_, service_b, _, b_password) = registry_with_token(&app, "beta", "full", everything).await;
    let alpha = Distribution::start(&app, &service_a).await;
    let beta = Distribution::start(&app, &service_b).await;

    // A push-and-pull token pushes and pulls.
    push(&image, &alpha, "team/app", &full)
        .await
        .expect("push with push scope");
    push(&image, &alpha, "other/app", &full)
        .await
        .expect("push with push scope");
    pull(&alpha, "team/app", &full, &pulled)
        .await
        .expect("pull with pull scope");
    assert!(pulled.join("index.json").exists());

    // A pull-only token pulls and is refused a push.
    pull(&alpha, "other/app", &pull_only, &pulled)
        .await
        .expect("pull-only token pulls");
    refused(
        push(&image, &alpha, "reader/app", &pull_only).await,
        DENIED,
        "a pull-only token pushing",
    );

    // team/* pushes to team/app and is refused on other/app.
    push(&image, &alpha, "team/app", &team)
        .await
        .expect("team/* pushes to team/app");
    refused(
        push(&image, &alpha, "other/app", &team).await,
        DENIED,
        "team/* must not push to other/app",
    );
    refused(
        pull(&alpha, "other/app", &team, &pulled).await,
        DENIED,
        "team/* must not pull other/app",
    );

    // A token of registry A is refused by registry B, whose own token works.
    refused(
        login(&beta, "full", &full_password, &authfile).await,
        BAD_LOGIN,
        "A's token at B",
    );
    login(&beta, "full", &b_password, &authfile)
        .await
        .expect("B's own token");

    // Disabled: refused at the next login; enabled again: accepted.
    login(&alpha, "full", &full_password, &authfile)
        .await
        .expect("login");
    patch_token(&app, &registry_a, &full_id, json!({"status": "disabled"})).await;
    refused(
        login(&alpha, "full", &full_password, &authfile).await,
        BAD_LOGIN,
        "disabled token",
    );
    refused(
        pull(&alpha, "team/app", &full, &pulled).await,
        BAD_LOGIN,
        "disabled token pulls nothing",
    );
    patch_token(&app, &registry_a, &full_id, json!({"status": "enabled"})).await;
    login(&alpha, "full", &full_password, &authfile)
        .await
        .expect("re-enabled token");

    // Deleted: refused at the next login.
    let (doomed_id, doomed) = add_token(
        &app,
        &registry_a,
        "doomed",
        json!([{"type": "repository", "name": "*", "actions": ["pull"]}]),
    )
    .await;
    pull(&alpha, "team/app", &doomed, &pulled)
        .await
        .expect("before deletion");
    let response = app
        .as_owner()
        .delete(&format!("{CR}/registries/{registry_a}/tokens/{doomed_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (user, password) = doomed.split_once(':').unwrap();
    refused(
        login(&alpha, user, password, &authfile).await,
        BAD_LOGIN,
        "deleted token",
    );

    // The registry's apiSubnetAllowList: 0.0.0.0/0 denies all traffic (as
    // the API document defines it); an entry for this host lets it in.
    let allow = |list: Value| {
        let registry = registry_a.clone();
        let app = &app;
        async move {
            let response = app
                .as_owner()
                .patch(&format!("{CR}/registries/{registry}"))
                .json(&json!({"apiSubnetAllowList": list}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
    };
    allow(json!(["0.0.0.0/0"])).await;
    refused(
        login(&alpha, "full", &full_password, &authfile).await,
        BAD_LOGIN,
        "allow list 0.0.0.0/0 denies all traffic",
    );
    refused(
        pull(&alpha, "team/app", &full, &pulled).await,
        BAD_LOGIN,
        "no pull past a deny-all allow list",
    );
    allow(json!(["0.0.0.0/0", "127.0.0.1"])).await;
    login(&alpha, "full", &full_password, &authfile)
        .await
        .expect("an allow list entry for this host");
    allow(json!([])).await;

    // Expired: accepted before its expiry date, refused after it. Tollgate's
    // clock is moved past the date (last, as later JWTs would be in the future).
    let expiry = app.date_in(120);
    patch_token(&app, &registry_a, &full_id, json!({"expiryDate": expiry})).await;
    login(&alpha, "full", &full_password, &authfile)
        .await
        .expect("before expiry");
    app.clock.advance(121);
    refused(
        login(&alpha, "full", &full_password, &authfile).await,
        BAD_LOGIN,
        "expired token",
    );
}

/// A token request for `user` from `address` (not skopeo: it cannot pick
/// its source address), as a guesser elsewhere would send it.
async fn guess_from(address: &str, app: &TestApp, service: &str, user: &str) -> StatusCode {
    let client = reqwest::Client::builder()
        .local_address(address.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    client
        .get(app.url("/registry/token"))
        .basic_auth(user, Some("a guess"))
        .query(&[("service", service)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_registry_under_attack_and_through_a_password_rotation() {
    require("docker-registry");
    require("skopeo");
    let app = TestApp::spawn().await;
    let Scratch {
        image,
        pulled,
        authfile,
        _dir,
    } = Scratch::new();
    let everything = json!([{"type": "repository", "name": "*", "actions": ["pull", "push"]}]);
    let (registry, service, token, old) =
        registry_with_token(&app, "gamma", "ci", everything).await;
    let gamma = Distribution::start(&app, &service).await;

    // A guesser at 127.0.0.2 is throttled after its allowance...
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(guess_from("127.0.0.2", &app, &service, "ci").await.as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 401, 429]);
    // ...while skopeo, with the right password from 127.0.0.1, works on.
    let creds = format!("ci:{old}");
    login(&gamma, "ci", &old, &authfile)
        .await
        .expect("the owner logs in during the attack");
    push(&image, &gamma, "team/app", &creds)
        .await
        .expect("and pushes");
    pull(&gamma, "team/app", &creds, &pulled)
        .await
        .expect("and pulls");

    // skopeo guessing from 127.0.0.1 is throttled too, in Docker's format.
    for _ in 0..6 {
        refused(
            login(&gamma, "ci", "a guess", &authfile).await,
            BAD_LOGIN,
            "a wrong password",
        );
    }
    let throttled = login(&gamma, "ci", &old, &authfile).await;
    refused(
        throttled,
        "too many requests",
        "a throttled login, even with the right password",
    );
    app.clock.advance(1);
    login(&gamma, "ci", &old, &authfile)
        .await
        .expect("let in once the delay has passed");

    // A rotation with a grace period: both passwords work meanwhile.
    let rotated: Value = app
        .as_owner()
        .post(&format!("{CR}/registries/{registry}/tokens/{token}/rotate"))
        .json(&json!({"gracePeriodSeconds": 30}))
        .answer_json()
        .await;
    let new = rotated["properties"]["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    for password in [&old, &new] {
        pull(&gamma, "team/app", &format!("ci:{password}"), &pulled)
            .await
            .expect("both passwords pull during the grace period");
    }
    // After it, only the new one. (Tollgate's clock moves; the JWT it signs
    // then is within the registry's leeway for clock skew.)
    app.clock.advance(31);
    refused(
        login(&gamma, "ci", &old, &authfile).await,
        BAD_LOGIN,
        "the old password after the grace period",
    );
    pull(&gamma, "team/app", &format!("ci:{new}"), &pulled)
        .await
        .expect("the new password pulls after the grace period");
}
