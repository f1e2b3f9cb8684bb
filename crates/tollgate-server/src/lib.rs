//! Tollgate, the service, as a library: build it from a [`Config`], then run it.
//!
//! The binary (`tollgate serve`) and the tests start the service the same
//! way, through [`Application::build`], so tests exercise the real router,
//! store and keys on a real socket.
//!
//! Modules, each with one job:
//! - [`config`]: the settings one service instance runs with;
//! - [`store`]: the persistence port (SQLite or PostgreSQL);
//! - [`identity`]: accounts, roles, the first owner;
//! - [`passwords`]: argon2id hashing, the bounded Basic password check;
//! - [`keys`] and [`jwt`]: ES256 signing keys, JWKS, compact JWS;
//! - [`access_tokens`]: what an Auth API token is and when it is accepted;
//! - [`registry_access`]: registry token logins and scope grants;
//! - [`registry_jwt`]: the registry JWTs (access, reused briefly; refresh);
//! - [`secrets`]: generated secrets (registry token passwords) and digests;
//! - [`cache`]: bounded expiring caches for costly, re-checked results;
//! - [`clock`]: injected time;
//! - [`http`]: the router, the caller extractor, the API handlers.

pub mod access_tokens;
pub mod cache;
pub mod clock;
pub mod config;
pub mod http;
pub mod identity;
pub mod jwt;
pub mod keys;
pub mod passwords;
pub mod registry_access;
pub mod registry_jwt;
pub mod secrets;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::access_tokens::AccessTokens;
use crate::clock::Clock;
pub use crate::config::Config;
use crate::http::AppState;
use crate::identity::CreatedAdmin;
use crate::keys::{AUTH_KEYS, KeyRing, REGISTRY_KEYS};
use crate::registry_jwt::RegistryTokenIssuer;
use crate::store::Store;

/// A service instance, bound to its address and ready to serve.
pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
    created_admin: Option<CreatedAdmin>,
}

impl Application {
    /// Opens the store (migrating it), creates the first owner account on an
    /// empty store, loads the signing keys, and binds the listening socket.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        let store = Store::connect(&config.database_url).await?;
        let created_admin =
            identity::bootstrap_owner(&store, &config.bootstrap, clock.now()).await?;
        let keys = KeyRing::load_or_create(&store, AUTH_KEYS, false, clock.now()).await?;
        let registry_keys =
            KeyRing::load_or_create(&store, REGISTRY_KEYS, true, clock.now()).await?;
        anyhow::ensure!(
            (10..=3600).contains(&config.registry_token_ttl),
            "the registry token lifetime must be between 10 and 3600 seconds"
        );
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let address = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"))
            .trim_end_matches('/')
            .to_owned();
        let tokens = AccessTokens::new(keys, config.issuer.clone());
        anyhow::ensure!(
            !config.locations.is_empty(),
            "at least one registry location is needed"
        );
        let state = Arc::new(AppState {
            store,
            tokens,
            clock,
            public_url,
            registry_domain: config.registry_domain.trim_matches('.').to_owned(),
            locations: config.locations.clone(),
            passwords: Arc::default(),
            name_quarantine_seconds: i64::from(config.registry_name_quarantine_days) * 86_400,
            registry_tokens: RegistryTokenIssuer::new(
                registry_keys,
                config.registry_issuer.clone(),
                config.registry_token_ttl,
            ),
        });
        Ok(Application {
            listener,
            state,
            created_admin,
        })
    }

    /// The address the service listens on (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The base of every `href`.
    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The bounded argon2id password check, to read how many computations
    /// run at once.
    pub fn passwords(&self) -> Arc<passwords::PasswordCheck> {
        self.state.passwords.clone()
    }

    /// The owner account this start created, if the store was empty.
    pub fn created_admin(&self) -> Option<&CreatedAdmin> {
        self.created_admin.as_ref()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    /// Signing keys are reloaded from the store every minute meanwhile, so
    /// a rotation reaches every node without a restart.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let reloader = tokio::spawn(reload_keys_periodically(self.state.clone()));
        let router = http::router(self.state);
        let served = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        reloader.abort();
        served
    }
}

/// How often running nodes re-read their signing keys.
const KEY_RELOAD_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

async fn reload_keys_periodically(state: Arc<AppState>) {
    let mut ticks = tokio::time::interval(KEY_RELOAD_PERIOD);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        for ring in [state.tokens.keys(), &state.registry_tokens.keys] {
            if let Err(e) = ring.reload().await {
                tracing::warn!("cannot reload signing keys: {e}");
            }
        }
    }
}
