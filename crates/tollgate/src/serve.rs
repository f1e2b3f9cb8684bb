//! `tollgate serve`: the settings from flags and the environment, the first
//! owner account announced once, and the service run until a signal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tollgate_server::auth::accounts::{BootstrapAdmin, CreatedAdmin};
use tollgate_server::auth::throttle::ThrottleSettings;
use tollgate_server::clock::SystemClock;
use tollgate_server::config::{
    DEFAULT_AUDIT_RETENTION_DAYS, DEFAULT_DATABASE_URL, DEFAULT_ISSUER,
    DEFAULT_LAST_USE_FLUSH_SECONDS, DEFAULT_LISTEN, DEFAULT_LOCATIONS, DEFAULT_REGISTRY_DOMAIN,
    DEFAULT_REGISTRY_ISSUER, DEFAULT_REGISTRY_NAME_QUARANTINE_DAYS, DEFAULT_REGISTRY_TOKEN_TTL,
};
use tollgate_server::http::limits::ConnectionLimits;
use tollgate_server::http::tls::TlsFiles;
use tollgate_server::{Application, Config};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TOLLGATE_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: String,
    /// Database URL: sqlite://FILE (embedded) or postgres://USER@HOST/DB.
    #[arg(long, env = "TOLLGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database: String,
    /// Most database connections this node opens (default 8 on SQLite,
    /// 16 on PostgreSQL); on PostgreSQL, all nodes' together must stay
    /// below the server's max_connections.
    #[arg(long, env = "TOLLGATE_DATABASE_MAX_CONNECTIONS")]
    database_max_connections: Option<u32>,
    /// Base URL of every href (default: http:// + the listen address).
    #[arg(long, env = "TOLLGATE_PUBLIC_URL")]
    public_url: Option<String>,
    /// The `iss` of access tokens; every node of one deployment uses the same.
    #[arg(long, env = "TOLLGATE_ISSUER", default_value = DEFAULT_ISSUER)]
    issuer: String,
    /// Registries get the hostname <name>.<domain>.
    #[arg(long, env = "TOLLGATE_REGISTRY_DOMAIN", default_value = DEFAULT_REGISTRY_DOMAIN)]
    registry_domain: String,
    /// Comma-separated location ids a registry may be created in.
    #[arg(long, env = "TOLLGATE_LOCATIONS", value_delimiter = ',', default_value = DEFAULT_LOCATIONS)]
    locations: Vec<String>,
    /// The `iss` of registry JWTs (the registry's auth.token.issuer).
    #[arg(long, env = "TOLLGATE_REGISTRY_ISSUER", default_value = DEFAULT_REGISTRY_ISSUER)]
    registry_issuer: String,
    /// Lifetime of registry JWTs in seconds (10..=3600).
    #[arg(long, env = "TOLLGATE_REGISTRY_TOKEN_TTL", default_value_t = DEFAULT_REGISTRY_TOKEN_TTL)]
    registry_token_ttl: i64,
    /// Days a deleted registry's name stays reserved for its contract (0: free at once).
    #[arg(long, env = "TOLLGATE_REGISTRY_NAME_QUARANTINE_DAYS", default_value_t = DEFAULT_REGISTRY_NAME_QUARANTINE_DAYS)]
    registry_name_quarantine_days: u32,
    /// Wrong passwords allowed per account (or registry token) and client
    /// address before delays start.
    #[arg(long, env = "TOLLGATE_LOGIN_FAILURES_ALLOWED", default_value_t = ThrottleSettings::default().allowance)]
    login_failures_allowed: u32,
    /// Wrong passwords allowed per client address, across accounts, before delays start.
    #[arg(long, env = "TOLLGATE_LOGIN_FAILURES_ALLOWED_PER_ADDRESS", default_value_t = ThrottleSettings::default().address_allowance)]
    login_failures_allowed_per_address: u32,
    /// Seconds after which one wrong password is forgotten.
    #[arg(long, env = "TOLLGATE_LOGIN_FAILURE_MEMORY_SECONDS", default_value_t = ThrottleSettings::default().forget_seconds)]
    login_failure_memory_seconds: i64,
    /// The longest delay a guesser is made to wait, in seconds.
    #[arg(long, env = "TOLLGATE_LOGIN_MAX_DELAY_SECONDS", default_value_t = ThrottleSettings::default().max_delay_seconds)]
    login_max_delay_seconds: i64,
    /// Milliseconds a throttled attempt's 429 is held before it is sent.
    #[arg(long, env = "TOLLGATE_LOGIN_THROTTLED_HOLD_MS", default_value_t = ThrottleSettings::default().hold_throttled_answer.as_millis() as u64)]
    login_throttled_hold_ms: u64,
    /// Days audit events are kept.
    #[arg(long, env = "TOLLGATE_AUDIT_RETENTION_DAYS", default_value_t = DEFAULT_AUDIT_RETENTION_DAYS)]
    audit_retention_days: u32,
    /// Comma-separated addresses or CIDRs of the proxies in front of this
    /// service, whose X-Forwarded-For names the client.
    #[arg(long, env = "TOLLGATE_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<String>,
    /// Connections served at once; more are answered 503.
    #[arg(long, env = "TOLLGATE_MAX_CONNECTIONS", default_value_t = ConnectionLimits::default().max_connections)]
    max_connections: usize,
    /// Connections one client (an IPv4 address, an IPv6 /64) may hold open
    /// at once; more are answered 429. Trusted proxies are not counted.
    /// 0: no limit per client.
    #[arg(long, env = "TOLLGATE_MAX_CONNECTIONS_PER_CLIENT", default_value_t = ConnectionLimits::default().max_connections_per_client)]
    max_connections_per_client: usize,
    /// Seconds a client may take to send a request's headers (and an idle
    /// keep-alive connection stays open).
    #[arg(long, env = "TOLLGATE_HEADER_READ_TIMEOUT_SECONDS", default_value_t = ConnectionLimits::default().header_read_timeout.as_secs())]
    header_read_timeout_seconds: u64,
    /// Seconds a client may take to send a request's body; 408 past it.
    #[arg(long, env = "TOLLGATE_BODY_READ_TIMEOUT_SECONDS", default_value_t = ConnectionLimits::default().body_read_timeout.as_secs())]
    body_read_timeout_seconds: u64,
    /// The longest path and query string, in bytes; 414 past it.
    #[arg(long, env = "TOLLGATE_MAX_URI_BYTES", default_value_t = ConnectionLimits::default().max_uri_bytes)]
    max_uri_bytes: usize,
    /// The largest header section, in bytes; 431 past it.
    #[arg(long, env = "TOLLGATE_MAX_HEADER_BYTES", default_value_t = ConnectionLimits::default().max_header_bytes)]
    max_header_bytes: usize,
    /// On SIGTERM or SIGINT, seconds the requests in flight may take to
    /// finish before the process exits anyway.
    #[arg(long, env = "TOLLGATE_SHUTDOWN_GRACE_SECONDS", default_value_t = ConnectionLimits::default().shutdown_grace.as_secs())]
    shutdown_grace_seconds: u64,
    /// PEM certificate chain to serve HTTPS with (with --tls-key); a
    /// changed file is served without a restart.
    #[arg(long, env = "TOLLGATE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "TOLLGATE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Rotate the signing keys when the current one is this many days
    /// old (0: only by hand, with `tollgate admin keys rotate`).
    #[arg(long, env = "TOLLGATE_KEY_ROTATION_DAYS", default_value_t = 0)]
    key_rotation_days: u32,
    /// Resynchronise every connected registry from its own API this
    /// often, in minutes (0: only by hand, with `tollgate admin registry-resync`).
    #[arg(long, env = "TOLLGATE_REGISTRY_RESYNC_MINUTES", default_value_t = tollgate_server::config::DEFAULT_REGISTRY_RESYNC_MINUTES)]
    registry_resync_minutes: u32,
    /// Log lines as text (for people) or JSON (one object per line, for
    /// log collectors).
    #[arg(long, env = "TOLLGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs to standard error, filtered by `TOLLGATE_LOG` (default `info`).
fn start_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    start_logging(args.log_format);
    let config = Config {
        listen: args.listen,
        database_url: args.database,
        database_max_connections: args.database_max_connections,
        public_url: args.public_url,
        issuer: args.issuer,
        registry_domain: args.registry_domain,
        registry_issuer: args.registry_issuer,
        registry_token_ttl: args.registry_token_ttl,
        registry_name_quarantine_days: args.registry_name_quarantine_days,
        throttle: ThrottleSettings {
            allowance: args.login_failures_allowed,
            address_allowance: args.login_failures_allowed_per_address,
            forget_seconds: args.login_failure_memory_seconds,
            max_delay_seconds: args.login_max_delay_seconds,
            hold_throttled_answer: Duration::from_millis(args.login_throttled_hold_ms),
        },
        audit_retention_days: args.audit_retention_days,
        last_use_flush_seconds: DEFAULT_LAST_USE_FLUSH_SECONDS,
        trusted_proxies: args
            .trusted_proxies
            .into_iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
        limits: ConnectionLimits {
            max_connections: args.max_connections,
            max_connections_per_client: args.max_connections_per_client,
            header_read_timeout: Duration::from_secs(args.header_read_timeout_seconds),
            body_read_timeout: Duration::from_secs(args.body_read_timeout_seconds),
            max_uri_bytes: args.max_uri_bytes,
            max_header_bytes: args.max_header_bytes,
            shutdown_grace: Duration::from_secs(args.shutdown_grace_seconds),
        },
        locations: args
            .locations
            .into_iter()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect(),
        bootstrap: BootstrapAdmin {
            email: non_empty_env("TOLLGATE_ADMIN_EMAIL"),
            password: non_empty_env("TOLLGATE_ADMIN_PASSWORD"),
            contract: non_empty_env("TOLLGATE_ADMIN_CONTRACT")
                .map(|c| c.parse::<i32>())
                .transpose()
                .map_err(|_| {
                    anyhow::anyhow!("TOLLGATE_ADMIN_CONTRACT must be a positive 32-bit integer")
                })?,
        },
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(|(certificate, key)| TlsFiles { certificate, key }),
        key_rotation_days: args.key_rotation_days,
        registry_resync_minutes: args.registry_resync_minutes,
    };
    let app = Application::build(config, Arc::new(SystemClock)).await?;
    if let Some(admin) = app.created_admin() {
        announce_admin(admin, app.public_url());
    }
    tracing::info!(
        "tollgate listening on {} (public URL {})",
        app.address(),
        app.public_url()
    );
    println!(
        "Tollgate console: {}{}",
        app.public_url(),
        tollgate_server::http::console::CONSOLE_PATH
    );
    app.run_until(shutdown_signal()).await;
    tracing::info!("tollgate stopped");
    Ok(())
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Shows the first owner account once, on standard output, apart from the logs.
fn announce_admin(admin: &CreatedAdmin, public_url: &str) {
    println!("================================================================");
    println!("Tollgate created the first owner account on this empty store:");
    println!("  e-mail:   {}", admin.email);
    match &admin.generated_password {
        Some(password) => println!("  password: {password}   (shown only this once)"),
        None => println!("  password: (from TOLLGATE_ADMIN_PASSWORD)"),
    }
    println!("  contract: {}", admin.contract);
    println!(
        "Sign in to the console at {public_url}/console/, or try: curl -u '{}:PASSWORD' {public_url}/auth/v1/tokens/generate",
        admin.email
    );
    println!("================================================================");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
