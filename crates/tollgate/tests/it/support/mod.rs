//! Starting the service for a test, and the helpers every test shares.

pub mod process;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tollgate_server::clock::{Clock, ManualClock};
use tollgate_server::config::DEFAULT_ISSUER;
use tollgate_server::identity::{self, AccountSpec, BootstrapAdmin, Role};
use tollgate_server::passwords::PasswordCheck;
use tollgate_server::store::Store;
use tollgate_server::{Application, Config};

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_PASSWORD: &str = "owner password";
pub const OWNER_CONTRACT: i32 = 31_000_001;
pub const REGISTRY_DOMAIN: &str = "cr.example.test";
pub const REGISTRY_ISSUER: &str = "tollgate-test";

/// A running service with its own store and clock.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    /// The service's bounded argon2id check, to count computations.
    pub passwords: Arc<PasswordCheck>,
    pub database_url: String,
    _dir: Arc<TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    /// A fresh store whose first owner is `OWNER_EMAIL` in `OWNER_CONTRACT`:
    /// an SQLite file, or a new PostgreSQL database when
    /// `TOLLGATE_TEST_POSTGRES` names a server to create it on.
    pub async fn spawn() -> TestApp {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let database_url = match std::env::var("TOLLGATE_TEST_POSTGRES") {
            Ok(admin_url) if !admin_url.is_empty() => fresh_postgres_database(&admin_url).await,
            _ => format!("sqlite://{}", dir.path().join("tollgate.db").display()),
        };
        Self::spawn_on(dir, database_url, DEFAULT_ISSUER).await
    }

    /// A second service on the same store, e.g. another node, with its own issuer.
    pub async fn spawn_sibling(&self, issuer: &str) -> TestApp {
        Self::spawn_on(self._dir.clone(), self.database_url.clone(), issuer).await
    }

    async fn spawn_on(dir: Arc<TempDir>, database_url: String, issuer: &str) -> TestApp {
        let config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: database_url.clone(),
            public_url: None,
            issuer: issuer.into(),
            registry_domain: REGISTRY_DOMAIN.into(),
            locations: vec!["de/fra".into(), "de/txl".into()],
            registry_issuer: REGISTRY_ISSUER.into(),
            registry_token_ttl: 300,
            registry_name_quarantine_days: 30,
            bootstrap: BootstrapAdmin {
                email: Some(OWNER_EMAIL.into()),
                password: Some(OWNER_PASSWORD.into()),
                contract: Some(OWNER_CONTRACT),
            },
        };
        let clock = Arc::new(ManualClock::starting_now());
        let app = Application::build(config, clock.clone())
            .await
            .expect("service starts");
        let base = format!("http://{}", app.address());
        let store = app.store().clone();
        let passwords = app.passwords();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        TestApp {
            base,
            client: reqwest::Client::new(),
            clock,
            store,
            passwords,
            database_url,
            _dir: dir,
            _shutdown: tx,
        }
    }

    /// RFC 3339 date `seconds` from the service's current time.
    pub fn date_in(&self, seconds: i64) -> String {
        tollgate_server::clock::rfc3339(self.clock.now() + seconds)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates an account with one role in each of `contracts`; answers its id.
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
        contracts: &[i32],
        role: Role,
    ) -> String {
        self.create_user_with(email, password, contracts, role, &[])
            .await
    }

    /// Like [`Self::create_user`], with privileges.
    pub async fn create_user_with(
        &self,
        email: &str,
        password: &str,
        contracts: &[i32],
        role: Role,
        privileges: &[&str],
    ) -> String {
        let spec = AccountSpec {
            email: email.into(),
            password: password.into(),
            contracts: contracts.to_vec(),
            role,
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
        };
        identity::create_account(&self.store, &spec, self.clock.now())
            .await
            .expect("account created")
    }

    /// GET `path` as the first owner; answers the JSON body, whatever the status.
    pub async fn owner_json(&self, path: &str) -> Value {
        self.get(path)
            .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON body")
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.client.delete(self.url(path))
    }

    /// Generates a token with Basic auth and answers the JWT.
    pub async fn generate(
        &self,
        email: &str,
        password: &str,
        contract: Option<i32>,
        ttl: Option<u32>,
    ) -> String {
        let mut request = self
            .get("/auth/v1/tokens/generate")
            .basic_auth(email, Some(password));
        if let Some(contract) = contract {
            request = request.header("X-Contract-Number", contract.to_string());
        }
        if let Some(ttl) = ttl {
            request = request.query(&[("ttl", ttl)]);
        }
        let response = request.send().await.expect("request sent");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("JSON body");
        body["token"].as_str().expect("token field").to_owned()
    }

    /// A token of the first owner.
    pub async fn owner_token(&self) -> String {
        self.generate(OWNER_EMAIL, OWNER_PASSWORD, None, None).await
    }
}

/// Creates an empty database named `tollgate_test_<random>` on the server of
/// `admin_url` and answers its URL. `.ci/run` drops them after the run.
async fn fresh_postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("tollgate_test_{}", uuid_like());
    let mut admin = sqlx::postgres::PgConnection::connect(admin_url)
        .await
        .expect("connect to TOLLGATE_TEST_POSTGRES");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let (server, _) = admin_url.rsplit_once('/').expect("URL ends in /DATABASE");
    format!("{server}/{name}")
}

fn uuid_like() -> String {
    let mut bytes = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Asserts the status and the IONOS error body; answers the message.
pub async fn expect_error(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "error content type {content_type}"
    );
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["httpStatus"], status.as_u16(), "httpStatus in {body}");
    let messages = body["messages"].as_array().expect("messages array");
    assert_eq!(messages.len(), 1, "one message in {body}");
    assert!(
        messages[0]["errorCode"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    let message = messages[0]["message"].as_str().expect("message").to_owned();
    assert!(!message.is_empty());
    message
}

/// The decoded header and claims of a JWT, without verification.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let header = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    let claims = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    (
        serde_json::from_slice(&header).unwrap(),
        serde_json::from_slice(&claims).unwrap(),
    )
}

/// The token id (the JWT header's `kid`).
pub fn token_id(token: &str) -> String {
    jwt_parts(token).0["kid"].as_str().unwrap().to_owned()
}
