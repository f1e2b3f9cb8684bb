//! Starting the service for a test, and the helpers every test shares:
//! [`TestApp`] and its requests as an account ([`TestApp::as_owner`]); the
//! API fixtures ([`fixtures`]), assertions ([`checks`]), the real binary
//! as a process ([`process`]), a real registry ([`registry`]) and Python
//! tools in environments of their own ([`python`]).

pub mod checks;
pub mod fixtures;
pub mod private_postgres;
pub mod process;
pub mod python;
pub mod registry;

pub use checks::*;
pub use fixtures::*;

use std::sync::Arc;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
pub use tollgate_api::account::Role;
use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::{RegistryId, TokenId};
use tollgate_server::auth::accounts::{AccountSpec, Accounts, BootstrapAdmin};
use tollgate_server::auth::passwords::PasswordCheck;
use tollgate_server::clock::{Clock, ManualClock};
use tollgate_server::config::DEFAULT_ISSUER;
use tollgate_server::http::AppState;
use tollgate_server::http::limits::ConnectionLimits;
use tollgate_server::store::{RegistryTokenRecord, Store};
use tollgate_server::{Application, Config};

/// The privilege that lets a plain user manage registries.
pub const MANAGE_REGISTRIES: &str = "accessAndManageRegistries";

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
    /// The service's shared state, whose gate counts logins by kind.
    pub state: Arc<AppState>,
    pub database_url: String,
    _dir: Arc<TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    /// A fresh store whose first owner is `OWNER_EMAIL` in `OWNER_CONTRACT`:
    /// an SQLite file, or a new PostgreSQL database when
    /// `TOLLGATE_TEST_POSTGRES` names a server to create it on.
    pub async fn spawn() -> TestApp {
        Self::spawn_with_limits(ConnectionLimits::default()).await
    }

    /// Like [`Self::spawn`], serving connections under `limits`.
    pub async fn spawn_with_limits(limits: ConnectionLimits) -> TestApp {
        Self::spawn_configured(|config| config.limits = limits).await
    }

    /// Like [`Self::spawn`], with the test's settings changed by `adjust`.
    pub async fn spawn_configured(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let database_url = match std::env::var("TOLLGATE_TEST_POSTGRES") {
            Ok(admin_url) if !admin_url.is_empty() => fresh_postgres_database(&admin_url).await,
            _ => format!("sqlite://{}", dir.path().join("tollgate.db").display()),
        };
        Self::spawn_on(dir, database_url, adjust).await
    }

    /// A service on the database at `database_url` (which the test owns).
    pub async fn spawn_on_database(database_url: String) -> TestApp {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::spawn_on(dir, database_url, |_| {}).await
    }

    /// A second service on the same store, e.g. another node, with its own issuer.
    pub async fn spawn_sibling(&self, issuer: &str) -> TestApp {
        self.spawn_sibling_configured(|config| config.issuer = issuer.into())
            .await
    }

    /// A second service on the same store, with settings changed by `adjust`.
    pub async fn spawn_sibling_configured(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_on(self._dir.clone(), self.database_url.clone(), adjust).await
    }

    async fn spawn_on(
        dir: Arc<TempDir>,
        database_url: String,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: database_url.clone(),
            database_max_connections: None,
            public_url: None,
            issuer: DEFAULT_ISSUER.into(),
            registry_domain: REGISTRY_DOMAIN.into(),
            locations: vec!["de/fra".into(), "de/txl".into()],
            registry_issuer: REGISTRY_ISSUER.into(),
            registry_token_ttl: 300,
            registry_name_quarantine_days: 30,
            throttle: Default::default(),
            audit_retention_days: 90,
            last_use_flush_seconds: 1,
            trusted_proxies: Vec::new(),
            limits: ConnectionLimits::default(),
            bootstrap: BootstrapAdmin {
                email: Some(OWNER_EMAIL.into()),
                password: Some(OWNER_PASSWORD.into()),
                contract: Some(OWNER_CONTRACT),
            },
            tls: None,
            key_rotation_days: 0,
            registry_resync_minutes: 0,
        };
        adjust(&mut config);
        let clock = Arc::new(ManualClock::starting_now());
        let app = Application::build(config, clock.clone())
            .await
            .expect("service starts");
        let base = app.public_url().to_owned();
        let store = app.store().clone();
        let passwords = app.passwords();
        let state = app.state();
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
            state,
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
        Accounts::new(self.store.clone(), self.clock.clone())
            .create(&spec)
            .await
            .expect("account created")
            .to_string()
    }

    /// The stored row of a token of the owner's registry, read from the store.
    pub async fn stored_token(&self, registry: &str, token: &str) -> Option<RegistryTokenRecord> {
        let contract = ContractNumber::new(OWNER_CONTRACT).unwrap();
        let registry = RegistryId::parse("registry", registry).unwrap();
        let token = TokenId::parse("token", token).unwrap();
        self.store
            .find_registry_token(contract, &registry, &token)
            .await
            .unwrap()
    }

    /// Requests made as the first owner (Basic auth).
    pub fn as_owner(&self) -> Session<'_> {
        self.as_user(OWNER_EMAIL, OWNER_PASSWORD)
    }

    /// Requests made as `email` with `password` (Basic auth).
    pub fn as_user<'a>(&'a self, email: &'a str, password: &'a str) -> Session<'a> {
        Session {
            app: self,
            email,
            password,
        }
    }

    /// GET `path` as the first owner; answers the JSON body, whatever the status.
    pub async fn owner_json(&self, path: &str) -> Value {
        self.as_owner()
            .get(path)
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

/// Requests to the app with one account's Basic credentials.
pub struct Session<'a> {
    app: &'a TestApp,
    email: &'a str,
    password: &'a str,
}

impl Session<'_> {
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.app
            .client
            .request(method, self.app.url(path))
            .basic_auth(self.email, Some(self.password))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    pub fn head(&self, path: &str) -> RequestBuilder {
        self.request(Method::HEAD, path)
    }
}
