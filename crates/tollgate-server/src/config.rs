//! The settings one service instance runs with.
//!
//! The binary fills a [`Config`] from flags and environment variables; tests
//! build one directly. Defaults live here so both agree.

use crate::auth::accounts::BootstrapAdmin;
use crate::auth::throttle::ThrottleSettings;
use crate::http::limits::ConnectionLimits;
use crate::http::tls::TlsFiles;

/// Where to listen when nothing is said.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The embedded store used when nothing is said.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tollgate.db";

/// The `iss` of access tokens when nothing is said.
pub const DEFAULT_ISSUER: &str = "tollgate";

/// The domain under which registries get their hostnames when nothing is said.
pub const DEFAULT_REGISTRY_DOMAIN: &str = "cr.localhost";

/// The registry locations offered when nothing is said, comma-separated.
pub const DEFAULT_LOCATIONS: &str = "de/fra,de/txl";

/// The `iss` of registry JWTs when nothing is said.
pub const DEFAULT_REGISTRY_ISSUER: &str = "tollgate";

/// The lifetime of registry JWTs, in seconds, when nothing is said.
pub const DEFAULT_REGISTRY_TOKEN_TTL: i64 = 300;

/// How often `serve` resynchronises connected registries (minutes).
pub const DEFAULT_REGISTRY_RESYNC_MINUTES: u32 = 60;

/// How many days a deleted registry's name stays reserved for its former
/// contract when nothing is said.
pub const DEFAULT_REGISTRY_NAME_QUARANTINE_DAYS: u32 = 30;

/// How often token uses are written, in seconds, when nothing is said: a
/// crash loses at most this much (and at most a minute per token).
pub const DEFAULT_LAST_USE_FLUSH_SECONDS: u64 = 10;

/// How many days audit events are kept when nothing is said.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 90;

/// Everything [`crate::Application::build`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST:PORT` to bind; port 0 picks a free port.
    pub listen: String,
    /// `sqlite://FILE` or `postgres://...`.
    pub database_url: String,
    /// The most connections the store's pool opens; the backend's
    /// default (8 for SQLite, 16 for PostgreSQL) when `None`.
    pub database_max_connections: Option<u32>,
    /// The base of every `href`; `http://` + the bound address when `None`.
    pub public_url: Option<String>,
    /// The `iss` written into and required of every access token; nodes of
    /// one deployment share it. Changing it invalidates issued tokens.
    pub issuer: String,
    /// A registry named `n` gets the hostname `n.<registry_domain>`.
    pub registry_domain: String,
    /// The location ids a registry may be created in.
    pub locations: Vec<String>,
    /// The `iss` of registry JWTs; registries are configured with the same `issuer`.
    pub registry_issuer: String,
    /// How long a registry JWT is valid, in seconds.
    pub registry_token_ttl: i64,
    /// How many days the name of a deleted registry stays reserved for its
    /// contract: registries that served it may still trust JWTs for that
    /// hostname, so no other contract may take it over meanwhile.
    pub registry_name_quarantine_days: u32,
    /// How wrong passwords are throttled.
    pub throttle: ThrottleSettings,
    /// How many days audit events are kept.
    pub audit_retention_days: u32,
    /// How often noted token uses are written to the store, in seconds.
    pub last_use_flush_seconds: u64,
    /// Peers (addresses or CIDRs) whose `X-Forwarded-For` names the client:
    /// the proxies in front of this service. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
    /// What one connection and one request may take.
    pub limits: ConnectionLimits,
    /// The first owner account, created only on an empty store.
    pub bootstrap: BootstrapAdmin,
    /// Serve HTTPS with this certificate and key; plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
    /// Rotate the signing keys when the current one is this many days
    /// old; 0: only by hand (`tollgate admin keys rotate`).
    pub key_rotation_days: u32,
    /// Resynchronise every connected registry from its own API this
    /// often (minutes); 0: only by hand (`tollgate admin registry-resync`).
    pub registry_resync_minutes: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_owned(),
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            database_max_connections: None,
            public_url: None,
            issuer: DEFAULT_ISSUER.to_owned(),
            registry_domain: DEFAULT_REGISTRY_DOMAIN.to_owned(),
            locations: DEFAULT_LOCATIONS.split(',').map(str::to_owned).collect(),
            registry_issuer: DEFAULT_REGISTRY_ISSUER.to_owned(),
            registry_token_ttl: DEFAULT_REGISTRY_TOKEN_TTL,
            registry_name_quarantine_days: DEFAULT_REGISTRY_NAME_QUARANTINE_DAYS,
            throttle: ThrottleSettings::default(),
            audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
            last_use_flush_seconds: DEFAULT_LAST_USE_FLUSH_SECONDS,
            trusted_proxies: Vec::new(),
            limits: ConnectionLimits::default(),
            bootstrap: BootstrapAdmin::default(),
            tls: None,
            key_rotation_days: 0,
            registry_resync_minutes: DEFAULT_REGISTRY_RESYNC_MINUTES,
        }
    }
}
