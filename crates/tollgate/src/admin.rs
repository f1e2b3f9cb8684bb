//! `tollgate admin ...`: accounts, signing keys, the audit trail, backups and
//! connected registries (notifications secrets, resynchronisation), administered on the store directly
//! through the same services the HTTP surfaces use.
//!
//! These commands open the database themselves, so they work whether or not
//! `serve` runs (SQLite in WAL mode and PostgreSQL both allow it).

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use tollgate_api::account::Role;
use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules;
use tollgate_server::audit::AuditTrail;
use tollgate_server::auth::accounts::{self, AccountSpec, Accounts};
use tollgate_server::clock::rfc3339;
use tollgate_server::clock::{Clock, SystemClock};
use tollgate_server::config::DEFAULT_DATABASE_URL;
use tollgate_server::config::{DEFAULT_REGISTRY_DOMAIN, DEFAULT_REGISTRY_ISSUER};
use tollgate_server::keys::{self, AUTH_KEYS, REGISTRY_KEYS};
use tollgate_server::registry::distribution::RegistryApi;
use tollgate_server::registry::events::{RegistryEvents, notifications_authorization};
use tollgate_server::registry::jwt::RegistryTokenIssuer;
use tollgate_server::registry::resync::Resync;
use tollgate_server::store::AuditQuery;
use tollgate_server::store::Store;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Read the audit trail: every contract's, newest first.
    Audit(AuditArgs),
    /// Connect a registry: make its notifications secret, note where its
    /// HTTP API is, and print the `notifications` section of its
    /// Distribution configuration.
    RegistryConnect {
        #[command(flatten)]
        store: StoreArgs,
        /// The registry's name (the first label of its hostname).
        #[arg(long)]
        registry: String,
        /// Where the registry reaches Tollgate (e.g. https://tollgate.example.com).
        #[arg(long)]
        tollgate_url: String,
        /// Where Tollgate reaches the registry's HTTP API (e.g.
        /// https://my-registry.example.com), to delete repositories and resynchronise.
        #[arg(long)]
        registry_url: String,
    },
    /// Bring Tollgate's view of connected registries in line with what
    /// their own APIs show (events sent while Tollgate was down are lost).
    RegistryResync {
        #[command(flatten)]
        store: StoreArgs,
        /// Only this registry (by name); every connected one if left out.
        #[arg(long)]
        registry: Option<String>,
        /// The issuer the registries trust (as `serve --registry-issuer`).
        #[arg(long, env = "TOLLGATE_REGISTRY_ISSUER", default_value = DEFAULT_REGISTRY_ISSUER)]
        registry_issuer: String,
        /// The registries' domain (as `serve --registry-domain`).
        #[arg(long, env = "TOLLGATE_REGISTRY_DOMAIN", default_value = DEFAULT_REGISTRY_DOMAIN)]
        registry_domain: String,
    },
    /// Copy the embedded store to a new file, consistently, while `serve` runs.
    Backup {
        #[command(flatten)]
        store: StoreArgs,
        /// The backup file to write; it must not exist yet.
        #[arg(long = "to")]
        to: PathBuf,
    },
}

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only this contract's events.
    #[arg(long)]
    contract: Option<i32>,
    /// Only events at or after this RFC 3339 time.
    #[arg(long)]
    since: Option<String>,
    /// Only events before this RFC 3339 time.
    #[arg(long)]
    until: Option<String>,
    /// Only this action, e.g. login.refused or registry_token.rotated.
    #[arg(long)]
    action: Option<String>,
    /// How many events at most.
    #[arg(long, default_value_t = 100)]
    limit: u64,
    /// One JSON object per line instead of columns.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// List signing keys with their ids and state.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rotate the registry signing keys: next becomes current, current
    /// retires, a new next key is published. Running nodes follow within a minute.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(clap::Args)]
pub struct StoreArgs {
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB.
    #[arg(long, env = "TOLLGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database: String,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account with memberships in one or more contracts.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The login e-mail.
        #[arg(long)]
        email: String,
        /// A contract to join (created on first use); repeat for several.
        #[arg(long = "contract", required = true)]
        contracts: Vec<i32>,
        /// The role in those contracts.
        #[arg(long, default_value = "user", value_parser = parse_role)]
        role: Role,
        /// A privilege to grant, e.g. accessAndManageRegistries; repeatable.
        #[arg(long = "privilege")]
        privileges: Vec<String>,
        /// Read the password from one line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts with their contracts, roles and privileges.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete an account with its memberships and tokens.
    Delete {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        email: String,
    },
    /// Set an account's password (generated and printed unless --password-stdin).
    SetPassword {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::User { command } => run_user(command).await,
        AdminCommand::Keys { command } => run_keys(command).await,
        AdminCommand::Audit(args) => run_audit(args).await,
        AdminCommand::Backup { store, to } => run_backup(&store, &to).await,
        AdminCommand::RegistryConnect {
            store,
            registry,
            tollgate_url,
            registry_url,
        } => run_registry_connect(&store, &registry, &tollgate_url, &registry_url).await,
        AdminCommand::RegistryResync {
            store,
            registry,
            registry_issuer,
            registry_domain,
        } => {
            run_registry_resync(
                &store,
                registry.as_deref(),
                registry_issuer,
                registry_domain,
            )
            .await
        }
    }
}

async fn run_registry_connect(
    store: &StoreArgs,
    registry: &str,
    tollgate_url: &str,
    registry_url: &str,
) -> anyhow::Result<()> {
    let name = registry_rules::RegistryName::parse("--registry", registry)?;
    let events = RegistryEvents::new(
        Store::connect(&store.database).await?,
        Arc::new(SystemClock),
    );
    let secret = events
        .connect(&name, registry_url.trim_end_matches('/'))
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no registry named {name}"))?;
    let authorization = notifications_authorization(&name, &secret);
    println!("# The notifications section of registry {name}'s Distribution configuration.");
    println!("# It holds a new secret, shown only this once; the one before stops working now.");
    println!("notifications:");
    println!("  endpoints:");
    println!("    - name: tollgate");
    println!(
        "      url: {}/registry/events",
        tollgate_url.trim_end_matches('/')
    );
    println!("      headers:");
    println!("        Authorization: [\"{authorization}\"]");
    println!("      timeout: 5s");
    println!("      threshold: 5");
    println!("      backoff: 2s");
    Ok(())
}

async fn run_registry_resync(
    store: &StoreArgs,
    only: Option<&str>,
    registry_issuer: String,
    registry_domain: String,
) -> anyhow::Result<()> {
    let store = Store::connect(&store.database).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let keys = keys::KeyRing::load_or_create(&store, REGISTRY_KEYS, true, clock.clone()).await?;
    let issuer = Arc::new(RegistryTokenIssuer::new(
        keys,
        registry_issuer,
        300,
        clock.clone(),
    ));
    let api = Arc::new(RegistryApi::new(issuer, clock.clone()));
    let resync = Resync::new(
        store.clone(),
        api,
        clock,
        registry_domain.trim_matches('.').to_owned(),
    );
    let mut failed = false;
    let mut found = false;
    for registry in store.connected_registries().await? {
        if only.is_some_and(|name| name != registry.name.as_str()) {
            continue;
        }
        found = true;
        match resync.registry(&registry).await {
            Ok(done) => {
                println!("{}: {done}", registry.name);
                failed |= !done.complete();
            }
            Err(e) => {
                failed = true;
                eprintln!("{}: not resynchronised: {e}", registry.name);
            }
        }
    }
    anyhow::ensure!(
        found,
        "no connected registry{}: connect one with `tollgate admin registry-connect`",
        only.map(|n| format!(" named {n}")).unwrap_or_default()
    );
    anyhow::ensure!(
        !failed,
        "some registries were not resynchronised, or only in part"
    );
    Ok(())
}

async fn run_backup(store: &StoreArgs, to: &std::path::Path) -> anyhow::Result<()> {
    let backup = Store::connect(&store.database).await?.backup_to(to).await?;
    println!(
        "backup written to {} ({} bytes, schema version {})",
        to.display(),
        backup.bytes,
        backup.schema_version
    );
    println!(
        "to restore: stop tollgate, copy the backup over the database file, delete the \
         database file's -wal and -shm files, start tollgate"
    );
    Ok(())
}

async fn run_audit(args: AuditArgs) -> anyhow::Result<()> {
    let store = Store::connect(&args.store.database).await?;
    let date = |flag: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|raw| registry_rules::parse_date_time(flag, raw))
            .transpose()
    };
    let query = AuditQuery {
        contract: args.contract.map(ContractNumber::new).transpose()?,
        from: date("--since", &args.since)?,
        to: date("--until", &args.until)?,
        action: args.action,
        resource_type: None,
        resource_id: None,
        offset: 0,
        limit: registry_rules::parse_limit(&args.limit.to_string())?,
    };
    let (trail, _) = AuditTrail::new(store, Arc::new(SystemClock), 0);
    let (events, total) = trail.all_events(&query).await?;
    for event in &events {
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "id": event.id,
                    "time": rfc3339(event.at),
                    "contract": event.contract.map(|c| c.get()),
                    "action": event.action,
                    "outcome": event.outcome.as_str(),
                    "actor": {"type": event.actor_kind.as_str(), "name": event.actor, "id": event.actor_id},
                    "address": event.address,
                    "resource": {"type": event.resource_type, "id": event.resource_id},
                    "detail": event.detail,
                })
            );
        } else {
            println!(
                "{}  {:<9}  {:<26} {:<8} {:<14} {:<32} {:<15} {}:{}  {}",
                rfc3339(event.at),
                event.contract.map_or("-".to_owned(), |c| c.to_string()),
                event.action,
                event.outcome.as_str(),
                event.actor_kind.as_str(),
                event.actor,
                event.address.as_deref().unwrap_or("-"),
                event.resource_type,
                event.resource_id.as_deref().unwrap_or("-"),
                event.detail
            );
        }
    }
    if !args.json {
        eprintln!("{} of {total} events", events.len());
    }
    Ok(())
}

async fn run_keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::List { store } => {
            let store = Store::connect(&store.database).await?;
            println!(
                "{:<9}  {:<8}  {:<43}  libtrust id",
                "purpose", "state", "id"
            );
            for purpose in [AUTH_KEYS, REGISTRY_KEYS] {
                for key in store.signing_keys(purpose).await? {
                    let state = match (key.activated_at, key.retired_at) {
                        (_, Some(_)) => "retired",
                        (Some(_), None) => "active",
                        (None, None) => "next",
                    };
                    println!(
                        "{purpose:<9}  {state:<8}  {:<43}  {}",
                        key.id,
                        keys::libtrust_id_of_record(&key)?
                    );
                }
            }
        }
        KeysCommand::Rotate { store } => {
            let store = Store::connect(&store.database).await?;
            keys::rotate(&store, REGISTRY_KEYS, SystemClock.now()).await?;
            println!(
                "registry signing keys rotated: the next key now signs and a new next key is published"
            );
            println!(
                "fetch /registry/certs.pem again and give it to your registries as rootcertbundle"
            );
        }
    }
    Ok(())
}

/// The accounts of the store at `database`.
async fn accounts(store: &StoreArgs) -> anyhow::Result<Accounts> {
    let store = Store::connect(&store.database).await?;
    Ok(Accounts::new(store, Arc::new(SystemClock)))
}

async fn run_user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            store,
            email,
            contracts,
            role,
            privileges,
            password_stdin,
        } => {
            let accounts = accounts(&store).await?;
            let (password, generated) = obtain_password(password_stdin)?;
            let spec = AccountSpec {
                email,
                password,
                contracts,
                role,
                privileges,
            };
            let id = accounts.create(&spec).await?;
            println!(
                "created user {id} ({})",
                tollgate_api::account::Email::normalise(&spec.email)
            );
            if generated {
                println!("password: {}   (shown only this once)", spec.password);
            }
        }
        UserCommand::List { store } => {
            let accounts = accounts(&store).await?;
            println!(
                "{:<36}  {:<32}  contracts (role, privileges)",
                "id", "e-mail"
            );
            for account in accounts.list().await? {
                let described: Vec<String> = account
                    .memberships
                    .iter()
                    .map(|m| {
                        let privileges: Vec<&str> =
                            m.privileges.iter().map(|p| p.as_str()).collect();
                        format!(
                            "{} ({}{}{})",
                            m.contract,
                            m.role,
                            sep(&privileges),
                            privileges.join(" ")
                        )
                    })
                    .collect();
                println!(
                    "{:<36}  {:<32}  {}",
                    account.user.id,
                    account.user.email,
                    described.join(", ")
                );
            }
        }
        UserCommand::Delete { store, email } => {
            let deleted = accounts(&store).await?.delete(&email).await?;
            println!("deleted {deleted} with its memberships and tokens");
        }
        UserCommand::SetPassword {
            store,
            email,
            password_stdin,
        } => {
            let accounts = accounts(&store).await?;
            let (password, generated) = obtain_password(password_stdin)?;
            let changed = accounts.set_password(&email, &password).await?;
            println!("password of {changed} changed");
            if generated {
                println!("password: {password}   (shown only this once)");
            }
        }
    }
    Ok(())
}

fn sep(privileges: &[&str]) -> &'static str {
    if privileges.is_empty() { "" } else { ", " }
}

/// One line of standard input, or a generated secret; says which.
fn obtain_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((accounts::generate_secret(), true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok((password, false))
}
