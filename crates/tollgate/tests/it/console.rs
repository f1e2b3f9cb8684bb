//! The web console: its session (cookie, CSRF, expiry, sign-out on every
//! node, contract switch), its pages' headers, and the whole console in a
//! real browser (Debian's Chromium driven by Playwright's library, with
//! axe-core and a real registry), in `tests/console/console.mjs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tollgate_server::auth::accounts::Accounts;
use tollgate_server::auth::console_sessions::{IDLE_LIFETIME, MAX_LIFETIME, RENEWED_FOR};

use tollgate_api::registry_rules::RegistryName;
use tollgate_server::registry::events::{RegistryEvents, notifications_authorization};

use crate::support::registry::{Distribution, free_address, require, write_oci_image};
use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_session_cookie_is_http_only_strict_and_needs_its_csrf_token() {
    let app = TestApp::spawn().await;
    let response = console_sign_in_request(&app, OWNER_EMAIL, OWNER_PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert!(cookie.contains("; SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["email"], OWNER_EMAIL);
    assert_eq!(session["contract"], OWNER_CONTRACT);
    assert_eq!(session["contracts"], json!([OWNER_CONTRACT]));
    let secret = cookie.split(';').next().unwrap().to_owned();
    assert!(
        !session
            .to_string()
            .contains(secret.split('=').nth(1).unwrap()),
        "the answer repeats the cookie's secret"
    );

    let signed_in = console_sign_in(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    let with_cookie = |method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .header("cookie", &signed_in.cookie)
    };
    // Without the CSRF token, the cookie is refused for every API call...
    for (method, path) in [
        (Method::GET, "/auth/v1/tokens"),
        (Method::GET, "/auth/v1/tokens/generate"),
        (Method::DELETE, "/auth/v1/tokens?criteria=ALL"),
        (Method::POST, "/containerregistries/registries"),
        (Method::DELETE, "/console/session"),
    ] {
        let response = with_cookie(method.clone(), path).send().await.unwrap();
        let body = expect_error(response, StatusCode::FORBIDDEN).await;
        assert!(
            body.to_string().contains("CSRF token"),
            "{method} {path}: {body}"
        );
        let wrong = with_cookie(method.clone(), path)
            .header("x-csrf-token", "0".repeat(32))
            .send()
            .await
            .unwrap();
        expect_error(wrong, StatusCode::FORBIDDEN).await;
    }
    // ...but reading the session itself is how a reloaded page learns it.
    let read = with_cookie(Method::GET, "/console/session")
        .answer_json()
        .await;
    assert_eq!(read["csrfToken"], signed_in.csrf.as_str());
    // With it, the APIs answer as for any other credential.
    let generated = signed_in
        .request(&app, Method::GET, "/auth/v1/tokens/generate?ttl=31536000")
        .answer_json()
        .await;
    let token = generated["token"].as_str().unwrap();
    let listed = app
        .get("/auth/v1/tokens")
        .bearer_auth(token)
        .answer_json()
        .await;
    let expires = listed["tokens"][0]["expirationDate"].as_str().unwrap();
    assert_eq!(
        expires,
        app.date_in(31_536_000),
        "a token generated in the console is not capped by the session's lifetime"
    );
    // A contract header other than the session's is refused.
    let other = signed_in
        .request(&app, Method::GET, "/auth/v1/tokens")
        .header("x-contract-number", "31000999")
        .send()
        .await
        .unwrap();
    expect_error(other, StatusCode::FORBIDDEN).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_console_request_never_asks_the_browser_for_a_password() {
    let app = TestApp::spawn().await;
    // A browser answers a Basic challenge with a password prompt of its own.
    let first_load = app.get("/console/session").send().await.unwrap();
    assert_eq!(first_load.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        first_load.headers()["www-authenticate"],
        r#"Bearer realm="tollgate""#
    );
    let wrong = console_sign_in_request(&app, OWNER_EMAIL, "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong.headers()["www-authenticate"],
        r#"Bearer realm="tollgate""#
    );
    let message = expect_error(wrong, StatusCode::UNAUTHORIZED).await;
    assert_eq!(message, "the e-mail or password is wrong");
    // The APIs themselves still offer both schemes.
    let api = app.get("/auth/v1/tokens").send().await.unwrap();
    assert_eq!(
        api.headers()["www-authenticate"],
        r#"Basic realm="tollgate", Bearer realm="tollgate""#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_the_session_on_every_node() {
    let app = TestApp::spawn().await;
    let sibling = app.spawn_sibling("tollgate-sibling").await;
    let signed_in = console_sign_in(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    for node in [&app, &sibling] {
        let response = signed_in
            .request(node, Method::GET, "/auth/v1/tokens")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let out = signed_in
        .request(&sibling, Method::DELETE, "/console/session")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = out.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    for node in [&app, &sibling] {
        let response = signed_in
            .request(node, Method::GET, "/auth/v1/tokens")
            .send()
            .await
            .unwrap();
        let body = expect_error(response, StatusCode::UNAUTHORIZED).await;
        assert!(body.to_string().contains("sign in again"), "{body}");
    }
    let trail = app.owner_json("/audit/v1/events").await.to_string();
    assert!(trail.contains("console.signed_in"), "{trail}");
    assert!(trail.contains("console.signed_out"), "{trail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_session_ends_and_a_used_one_lasts_at_most_its_maximum() {
    let app = TestApp::spawn().await;
    let tokens =
        |session: &ConsoleSignIn| session.request(&app, Method::GET, "/auth/v1/tokens").send();
    let idle = console_sign_in(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    // A session lives at least IDLE_LIFETIME after a use...
    app.clock.advance(IDLE_LIFETIME - 1);
    assert_eq!(tokens(&idle).await.unwrap().status(), StatusCode::OK);
    // ...and ends when left alone for RENEWED_FOR.
    app.clock.advance(RENEWED_FOR);
    expect_error(tokens(&idle).await.unwrap(), StatusCode::UNAUTHORIZED).await;
    // Used every 20 minutes, a session outlives its idle lifetime...
    let used = console_sign_in(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    let step = IDLE_LIFETIME * 2 / 3;
    let mut elapsed = 0;
    while elapsed + step < MAX_LIFETIME {
        app.clock.advance(step);
        elapsed += step;
        assert_eq!(
            tokens(&used).await.unwrap().status(),
            StatusCode::OK,
            "after {elapsed} s"
        );
    }
    // ...but none outlives the maximum, however much it is used.
    app.clock.advance(MAX_LIFETIME - elapsed);
    expect_error(tokens(&used).await.unwrap(), StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_password_or_a_new_sign_in_ends_the_sessions_before_it() {
    let app = TestApp::spawn().await;
    let first = console_sign_in(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    // Signing in again from the same browser ends the session it held.
    let again = console_sign_in_request(&app, OWNER_EMAIL, OWNER_PASSWORD)
        .header("cookie", &first.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    let old = first
        .request(&app, Method::GET, "/auth/v1/tokens")
        .send()
        .await
        .unwrap();
    expect_error(old, StatusCode::UNAUTHORIZED).await;
    // A new password ends every session opened with the old one.
    let elsewhere = console_sign_in(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    Accounts::new(app.store.clone(), app.clock.clone())
        .set_password(OWNER_EMAIL, "a brand new password")
        .await
        .unwrap();
    let after = elsewhere
        .request(&app, Method::GET, "/auth/v1/tokens")
        .send()
        .await
        .unwrap();
    expect_error(after, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_other_site_can_sign_a_visitor_in_or_plant_a_session() {
    let app = TestApp::spawn().await;
    let cross_site = console_sign_in_request(&app, OWNER_EMAIL, OWNER_PASSWORD)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    let message = expect_error(cross_site, StatusCode::FORBIDDEN).await;
    assert!(message.contains("console's own page"), "{message}");
    // A form of another site cannot send JSON.
    let form = app
        .client
        .post(app.url("/console/session"))
        .form(&[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)])
        .send()
        .await
        .unwrap();
    expect_error(form, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    // A second session cookie beside the real one (one was planted) is no session.
    let real = console_sign_in(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    let planted = console_sign_in(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    let both = app
        .get("/auth/v1/tokens")
        .header("cookie", format!("{}; {}", planted.cookie, real.cookie))
        .header("x-csrf-token", &real.csrf)
        .send()
        .await
        .unwrap();
    expect_error(both, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_in_two_contracts_switches_and_the_old_cookie_stops() {
    let app = TestApp::spawn().await;
    app.create_user(
        "two@example.com",
        "two password",
        &[31_000_001, 31_000_002],
        Role::Owner,
    )
    .await;
    let first = console_sign_in(&app, "two@example.com", "two password").await;
    assert_eq!(first.session["contract"], 31_000_001);
    assert_eq!(first.session["contracts"], json!([31_000_001, 31_000_002]));
    let refused = first
        .request(&app, Method::PUT, "/console/session")
        .json(&json!({"contract": 31_000_003}))
        .send()
        .await
        .unwrap();
    expect_error(refused, StatusCode::FORBIDDEN).await;
    let switched = first
        .request(&app, Method::PUT, "/console/session")
        .json(&json!({"contract": 31_000_002}))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), StatusCode::OK);
    let cookie = switched.headers()["set-cookie"].to_str().unwrap();
    let second = ConsoleSignIn {
        cookie: cookie.split(';').next().unwrap().to_owned(),
        session: Value::Null,
        csrf: switched.json::<Value>().await.unwrap()["csrfToken"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    let generated = second
        .request(&app, Method::GET, "/auth/v1/tokens/generate")
        .answer_json()
        .await;
    let token = generated["token"].as_str().unwrap();
    let in_second = app
        .get("/auth/v1/tokens")
        .bearer_auth(token)
        .header("x-contract-number", "31000002")
        .send()
        .await
        .unwrap();
    assert_eq!(
        in_second.status(),
        StatusCode::OK,
        "the token is of contract 2"
    );
    let old = first
        .request(&app, Method::GET, "/auth/v1/tokens")
        .send()
        .await
        .unwrap();
    expect_error(old, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pages_forbid_inline_script_and_foreign_origins() {
    let app = TestApp::spawn().await;
    let root = app.get("/").send().await.unwrap();
    assert_eq!(root.url().path(), "/console/", "/ redirects to the console");
    let page = app.get("/console/").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"), "inline script in the page");
    assert!(!html.contains("style="), "inline style in the page");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "a foreign origin in the page"
    );
    for (asset, kind) in [
        ("/console/app.js", "text/javascript"),
        ("/console/app.css", "text/css"),
        ("/console/icon.svg", "image/svg+xml"),
    ] {
        let response = app.get(asset).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with(kind), "{asset}: {content_type}");
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("innerHTML"),
            "{asset} builds markup from strings"
        );
    }
    let missing = app.get("/console/nothing.js").send().await.unwrap();
    expect_error(missing, StatusCode::NOT_FOUND).await;
}

/// The browser test's npm packages (playwright-core, axe-core), installed
/// by `scripts/test`.
fn browser_test_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_works_in_a_real_browser() {
    require("docker-registry");
    require("skopeo");
    let dir = browser_test_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir()
            && dir.join("node_modules/axe-core").is_dir(),
        "the browser test's packages are missing: run scripts/test (or `npm ci --prefix {}`)",
        dir.display()
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: install it with `apt-get install -y chromium` (scripts/test does)"
    );
    let app = TestApp::spawn().await;
    app.create_user(
        "member@example.com",
        "member password",
        &[OWNER_CONTRACT],
        Role::User,
    )
    .await;
    app.create_user(
        "two@example.com",
        "two password",
        &[31_000_001, 31_000_002],
        Role::Owner,
    )
    .await;
    // A registry made and connected beforehand, whose Distribution
    // notifies Tollgate, so the console shows what is pushed to it.
    let registry_name = "console-demo";
    create_registry(&app, registry_name).await;
    let address = free_address();
    let secret = RegistryEvents::new(app.store.clone(), app.clock.clone())
        .connect(
            &RegistryName::parse("name", registry_name).unwrap(),
            &format!("http://{address}"),
        )
        .await
        .unwrap()
        .unwrap();
    let registry = Distribution::start_notifying(
        &app,
        &format!("{registry_name}.{REGISTRY_DOMAIN}"),
        address,
        &app.url("/registry/events"),
        &notifications_authorization(
            &RegistryName::parse("name", registry_name).unwrap(),
            &secret,
        ),
    )
    .await;
    let scratch = tempfile::tempdir().unwrap();
    let image = write_oci_image(&scratch.path().join("image"));
    let screenshots = std::env::var("TOLLGATE_CONSOLE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots"));
    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("console.mjs")
            .current_dir(&dir)
            .env("TOLLGATE_URL", base)
            .env("OWNER_EMAIL", OWNER_EMAIL)
            .env("OWNER_PASSWORD", OWNER_PASSWORD)
            .env("MEMBER_EMAIL", "member@example.com")
            .env("MEMBER_PASSWORD", "member password")
            .env("MULTI_EMAIL", "two@example.com")
            .env("MULTI_PASSWORD", "two password")
            .env("MULTI_CONTRACTS", "31000001,31000002")
            .env("REGISTRY_NAME", registry_name)
            .env("NEW_REGISTRY_NAME", "console-new")
            .env("REGISTRY_ADDRESS", &registry.address)
            .env("IMAGE_DIR", &image)
            .env("SCREENSHOTS", &screenshots)
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{printed}");
    assert!(
        output.status.success(),
        "the browser test failed:\n{printed}"
    );
    assert!(printed.contains("every step passed"), "{printed}");
}
