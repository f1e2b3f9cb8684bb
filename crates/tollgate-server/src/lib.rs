//! Tollgate, the service, as a library: build it from a [`Config`], then run it.
//!
//! The binary (`tollgate serve`) and the tests start the service the same
//! way, through [`Application::build`], so tests exercise the real router,
//! store and keys on a real socket.
//!
//! Modules, by domain:
//! - [`auth`]: accounts, access tokens, passwords, and the one
//!   authentication gate every credential passes through, with throttling
//!   and last use;
//! - [`audit`]: the audit trail;
//! - [`registry`]: registries and registry tokens as services, and the
//!   registry token service's logins, grants and JWTs;
//! - [`http`]: the surfaces (the IONOS APIs, the Docker token service,
//!   operations), each a thin layer over the services;
//! - [`store`]: the persistence port (SQLite or PostgreSQL);
//! - [`keys`] and [`jwt`]: ES256 signing keys, JWKS, compact JWS;
//! - [`ops`]: running it: health, readiness and metrics;
//! - [`secrets`], [`cache`], [`clock`], [`config`]: generated secrets and
//!   digests, bounded expiring caches, injected time, settings.

pub mod audit;
pub mod auth;
pub mod cache;
pub mod clock;
pub mod config;
pub mod http;
pub mod jwt;
pub mod keys;
pub mod ops;
pub mod registry;
pub mod secrets;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tollgate_api::registry_rules::Subnet;

use crate::audit::{AuditTrail, RefusalWriter};
use crate::auth::access_tokens::AccessTokens;
use crate::auth::accounts::{Accounts, CreatedAdmin};
use crate::auth::console_sessions::ConsoleSessions;
use crate::auth::gate::{Authenticator, GateParts};
use crate::auth::last_use::TokenUseRecorder;
use crate::auth::passwords::PasswordCheck;
use crate::auth::throttle::Throttle;
use crate::auth::tokens::AuthTokens;
use crate::clock::Clock;
pub use crate::config::Config;
use crate::http::AppState;
use crate::http::limits::ConnectionLimits;
use crate::http::tls::ReloadingCertificate;
use crate::keys::{AUTH_KEYS, KeyRing, REGISTRY_KEYS};
use crate::ops::health::Health;
use crate::ops::metrics::Metrics;
use crate::registry::distribution::RegistryApi;
use crate::registry::events::RegistryEvents;
use crate::registry::jwt::RegistryTokenIssuer;
use crate::registry::login::RegistryLogins;
use crate::registry::resync::Resync;
use crate::registry::{Registries, RegistryTokens, Repositories};
use crate::store::Store;

/// A service instance, bound to its address and ready to serve.
pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
    store: Store,
    passwords: Arc<PasswordCheck>,
    last_use: Arc<TokenUseRecorder>,
    last_use_flush: std::time::Duration,
    refusals: RefusalWriter,
    limits: ConnectionLimits,
    certificate: Option<Arc<ReloadingCertificate>>,
    tls: Option<TlsAcceptor>,
    key_rotation_days: u32,
    registry_resync_minutes: u32,
    created_admin: Option<CreatedAdmin>,
}

impl Application {
    /// Opens the store (migrating it), creates the first owner account on an
    /// empty store, loads the signing keys, and binds the listening socket.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        anyhow::ensure!(
            (10..=keys::MAX_REGISTRY_TOKEN_TTL).contains(&config.registry_token_ttl),
            "the registry token lifetime must be between 10 and {} seconds",
            keys::MAX_REGISTRY_TOKEN_TTL
        );
        anyhow::ensure!(
            !config.locations.is_empty(),
            "at least one registry location is needed"
        );
        check_limits(&config.limits)?;
        let trusted_proxies = trusted_proxies(&config.trusted_proxies)?;
        let store =
            Store::connect_with_pool(&config.database_url, config.database_max_connections).await?;
        let created_admin = Accounts::new(store.clone(), clock.clone())
            .bootstrap_owner(&config.bootstrap)
            .await?;
        let auth_keys = KeyRing::load_or_create(&store, AUTH_KEYS, false, clock.clone()).await?;
        let registry_keys =
            KeyRing::load_or_create(&store, REGISTRY_KEYS, true, clock.clone()).await?;
        let certificate = config
            .tls
            .clone()
            .map(ReloadingCertificate::load)
            .transpose()?;
        let tls = certificate.as_ref().map(|c| c.acceptor()).transpose()?;
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let address = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{address}"))
            .trim_end_matches('/')
            .to_owned();
        let registry_domain = config.registry_domain.trim_matches('.').to_owned();
        let access_tokens = Arc::new(AccessTokens::new(
            auth_keys,
            config.issuer.clone(),
            clock.clone(),
        ));
        let registry_jwt = Arc::new(RegistryTokenIssuer::new(
            registry_keys,
            config.registry_issuer.clone(),
            config.registry_token_ttl,
            clock.clone(),
        ));
        let registry_api = Arc::new(RegistryApi::new(registry_jwt.clone(), clock.clone()));
        let metrics = Arc::new(Metrics::new());
        let passwords = Arc::new(PasswordCheck::new(clock.clone()));
        let last_use = Arc::new(TokenUseRecorder::new(clock.clone()));
        let (audit, refusals) =
            AuditTrail::new(store.clone(), clock.clone(), config.audit_retention_days);
        let audit = Arc::new(audit);
        let gate = Authenticator::new(GateParts {
            store: store.clone(),
            clock: clock.clone(),
            passwords: passwords.clone(),
            access_tokens: access_tokens.clone(),
            registry_logins: RegistryLogins::new(
                store.clone(),
                registry_domain.clone(),
                registry_jwt.clone(),
            ),
            throttle: Throttle::new(config.throttle, clock.clone()),
            last_use: last_use.clone(),
            trail: audit.clone(),
            metrics: metrics.clone(),
        });
        let state = Arc::new(AppState {
            gate,
            auth_tokens: AuthTokens::new(
                store.clone(),
                clock.clone(),
                access_tokens.clone(),
                metrics.clone(),
            ),
            registries: Registries::new(
                store.clone(),
                clock.clone(),
                config.locations.clone(),
                i64::from(config.registry_name_quarantine_days) * 86_400,
            ),
            registry_tokens: RegistryTokens::new(store.clone(), clock.clone(), metrics.clone()),
            registry_jwt,
            access_tokens,
            health: Health::new(store.clone()),
            metrics,
            clock: clock.clone(),
            public_url: public_url.clone(),
            registry_domain: registry_domain.clone(),
            trusted_proxies,
            audit,
            repositories: Repositories::new(
                store.clone(),
                registry_api.clone(),
                clock.clone(),
                registry_domain.clone(),
            ),
            resync: Arc::new(Resync::new(
                store.clone(),
                registry_api,
                clock.clone(),
                registry_domain.clone(),
            )),
            registry_events: RegistryEvents::new(store.clone(), clock.clone()),
            console_sessions: ConsoleSessions::new(store.clone(), clock.clone()),
            secure_cookies: public_url.starts_with("https://"),
        });
        Ok(Application {
            listener,
            state,
            store,
            passwords,
            last_use,
            last_use_flush: std::time::Duration::from_secs(config.last_use_flush_seconds.max(1)),
            refusals,
            limits: config.limits,
            certificate,
            tls,
            key_rotation_days: config.key_rotation_days,
            registry_resync_minutes: config.registry_resync_minutes,
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

    /// The store, for tests and tools that prepare or inspect it.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The bounded argon2id password check, to read how many computations
    /// run at once.
    pub fn passwords(&self) -> Arc<PasswordCheck> {
        self.passwords.clone()
    }

    /// The shared state, whose gate counts every login by kind.
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// The owner account this start created, if the store was empty.
    pub fn created_admin(&self) -> Option<&CreatedAdmin> {
        self.created_admin.as_ref()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests
    /// and writes the last uses noted. Meanwhile, beside the requests:
    /// signing keys are reloaded every minute (so a rotation reaches every
    /// node without a restart) and rotated when due, token uses and
    /// refused logins are written in batches, expired audit events are
    /// removed, and a changed TLS certificate is taken up.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let mut background = vec![
            tokio::spawn(maintain_keys(self.state.clone(), self.key_rotation_days)),
            tokio::spawn(
                self.last_use
                    .clone()
                    .write_periodically(self.store.clone(), self.last_use_flush),
            ),
            tokio::spawn(self.refusals.run()),
            tokio::spawn(self.state.audit.clone().expire_old_events()),
            tokio::spawn(crate::registry::events::forget_old_event_ids(
                self.store.clone(),
                self.state.clock.clone(),
            )),
        ];
        if self.registry_resync_minutes > 0 {
            let period =
                std::time::Duration::from_secs(u64::from(self.registry_resync_minutes) * 60);
            background.push(tokio::spawn(
                self.state
                    .resync
                    .clone()
                    .run_periodically(period, self.state.metrics.clone()),
            ));
        }
        if let Some(certificate) = &self.certificate {
            background.push(tokio::spawn(certificate.clone().reload_periodically()));
        }
        let trusted_proxies = self.state.trusted_proxies.clone();
        let router = http::router(self.state);
        http::listener::serve(
            self.listener,
            router,
            self.limits,
            self.tls,
            trusted_proxies,
            shutdown,
        )
        .await;
        for task in background {
            task.abort();
        }
        self.last_use.flush(&self.store).await;
    }
}

/// How often running nodes re-read their signing keys.
const KEY_RELOAD_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

/// How many reloads apart scheduled rotation looks at the keys' age (an hour).
const ROTATION_CHECK_EVERY: u32 = 60;

/// Re-reads the signing keys every minute, and with `rotation_days`
/// rotates them when the current key is that old (looking at start and
/// then every hour; nodes that look at once rotate once).
async fn maintain_keys(state: Arc<AppState>, rotation_days: u32) {
    let mut ticks = tokio::time::interval(KEY_RELOAD_PERIOD);
    for turn in 0u32.. {
        ticks.tick().await;
        for ring in [state.access_tokens.keys(), &state.registry_jwt.keys] {
            let purpose = ring.purpose();
            if rotation_days > 0 && turn % ROTATION_CHECK_EVERY == 0 {
                match ring.rotate_if_older_than(rotation_days).await {
                    Ok(true) => {
                        tracing::info!(
                            "rotated the {purpose} signing keys: the current key was {rotation_days} days old"
                        );
                        continue;
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!("cannot rotate the {purpose} signing keys: {e}"),
                }
            }
            if turn > 0
                && let Err(e) = ring.reload().await
            {
                tracing::warn!("cannot reload the {purpose} signing keys: {e}");
            }
        }
    }
}

/// Refuses limits that would refuse every request.
fn check_limits(limits: &ConnectionLimits) -> anyhow::Result<()> {
    anyhow::ensure!(
        limits.max_connections >= 1,
        "--max-connections must be at least 1"
    );
    anyhow::ensure!(
        limits.header_read_timeout.as_secs() >= 1 && limits.body_read_timeout.as_secs() >= 1,
        "the header and body read timeouts must be at least 1 second"
    );
    anyhow::ensure!(
        limits.max_uri_bytes >= 1024 && limits.max_header_bytes >= 1024,
        "--max-uri-bytes and --max-header-bytes must be at least 1024"
    );
    Ok(())
}

/// Parses `--trusted-proxies`; `/0` networks are refused, since trusting
/// every peer would let any client choose its own address.
fn trusted_proxies(entries: &[String]) -> anyhow::Result<Vec<Subnet>> {
    entries
        .iter()
        .map(|entry| {
            let subnet = Subnet::parse("--trusted-proxies", entry)?;
            anyhow::ensure!(
                !entry.trim().ends_with("/0"),
                "--trusted-proxies {entry}: trusting every peer would let any client choose its address; name the proxies"
            );
            Ok(subnet)
        })
        .collect()
}
