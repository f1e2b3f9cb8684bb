//! Registries and registry tokens made through the API, as the tests' first
//! owner, and sign-ins to the web console.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use super::{AnswerJson, REGISTRY_DOMAIN, TestApp};

/// The Container Registry API's base path.
pub const CR: &str = "/containerregistries";

/// Creates a registry as the owner; answers its id.
pub async fn create_registry(app: &TestApp, name: &str) -> String {
    let response = app
        .as_owner()
        .post(&format!("{CR}/registries"))
        .json(&json!({"properties": {"name": name, "location": "de/fra"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// A registry with one token; answers (registry id, service, token id, password).
pub async fn registry_with_token(
    app: &TestApp,
    registry: &str,
    token: &str,
    scopes: Value,
) -> (String, String, String, String) {
    let id = create_registry(app, registry).await;
    let (token_id, password) = create_token(app, &id, token, scopes).await;
    (
        id,
        format!("{registry}.{REGISTRY_DOMAIN}"),
        token_id,
        password,
    )
}

/// Creates a token in a registry as the owner; answers (token id, password).
pub async fn create_token(
    app: &TestApp,
    registry_id: &str,
    name: &str,
    scopes: Value,
) -> (String, String) {
    let created: Value = app
        .as_owner()
        .post(&format!("{CR}/registries/{registry_id}/tokens"))
        .json(&json!({"properties": {"name": name, "scopes": scopes}}))
        .answer_json()
        .await;
    let password = created["properties"]["credentials"]["password"]
        .as_str()
        .unwrap();
    (
        created["id"].as_str().unwrap().to_owned(),
        password.to_owned(),
    )
}

/// Changes a token as the owner; asserts the 200.
pub async fn patch_token(app: &TestApp, registry: &str, token: &str, body: Value) {
    let response = app
        .as_owner()
        .patch(&format!("{CR}/registries/{registry}/tokens/{token}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// A web console session: the cookie to send back and its CSRF token.
pub struct ConsoleSignIn {
    /// `name=value`, as a `Cookie` header carries it.
    pub cookie: String,
    pub csrf: String,
    /// The session as the sign-in answered it.
    pub session: Value,
}

/// The console's sign-in request, as its page sends it.
pub fn console_sign_in_request(app: &TestApp, email: &str, password: &str) -> RequestBuilder {
    app.client
        .post(app.url("/console/session"))
        .json(&json!({"email": email, "password": password}))
}

/// Signs in to the console as `email`; panics unless it succeeds.
pub async fn console_sign_in(app: &TestApp, email: &str, password: &str) -> ConsoleSignIn {
    let response = console_sign_in_request(app, email, password)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "console sign-in");
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let session: Value = response.json().await.unwrap();
    ConsoleSignIn {
        cookie,
        csrf: session["csrfToken"].as_str().unwrap().to_owned(),
        session,
    }
}

impl ConsoleSignIn {
    /// A request to `path` made with this session, as the console makes them.
    pub fn request(&self, app: &TestApp, method: Method, path: &str) -> RequestBuilder {
        app.client
            .request(method, app.url(path))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
    }
}

/// Connects the registry named `registry` (to an API nothing listens on)
/// and reports, as its notifications would, a manifest push of each
/// `(repository, tag, digest)`, then a pull of the first.
pub async fn report_pushes(app: &TestApp, registry: &str, pushes: &[(&str, &str, &str)]) {
    use tollgate_api::registry_rules::RegistryName;
    use tollgate_server::registry::events::{RegistryEvents, notifications_authorization};
    let name = RegistryName::parse("name", registry).unwrap();
    let secret = RegistryEvents::new(app.store.clone(), app.clock.clone())
        .connect(&name, "http://127.0.0.1:9")
        .await
        .unwrap()
        .expect("the registry exists");
    let event =
        |id: String, action: &str, method: &str, (repository, tag, digest): (&str, &str, &str)| {
            json!({"id": id, "timestamp": "2026-11-30T10:00:00Z", "action": action,
            "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 528,
                "digest": digest, "repository": repository, "tag": tag,
                "url": format!("http://registry/v2/{repository}/manifests/{digest}")},
            "request": {"id": "r", "method": method, "useragent": "test"}, "actor": {"name": "ci"}})
        };
    let mut events: Vec<Value> = pushes
        .iter()
        .enumerate()
        .map(|(i, push)| event(format!("push-{i}"), "push", "PUT", *push))
        .collect();
    events.push(event("pull-0".into(), "pull", "GET", pushes[0]));
    let delivered = app
        .client
        .post(app.url("/registry/events"))
        .header("authorization", notifications_authorization(&name, &secret))
        .header("content-type", "application/json")
        .body(json!({ "events": events }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), StatusCode::NO_CONTENT);
}
