//! The client commands of the `tollgate` binary (`login`, `logout`,
//! `token`, `registry`, `completion`): a terminal front end over the Rust
//! SDK (`tollgate-client`), for a Tollgate or for IONOS Cloud alike.
//!
//! Where each call goes and who makes it, first found first: the
//! `--base-url` and `--contract` flags; the official SDKs' environment
//! variables (`IONOS_API_URL`, `IONOS_TOKEN`, or `IONOS_USERNAME` with
//! `IONOS_PASSWORD`); the login `tollgate login` stored.

mod login;
mod output;
mod registries;
mod registry_tokens;
mod repositories;
mod tokens;
mod when;

use std::fmt;

use tollgate_client::{Client, Configuration};

pub use login::{LoginArgs, LogoutArgs};
pub use registries::RegistryCommand;
pub use tokens::TokenCommand;

use login::StoredLogin;
use output::Output;

/// Where Tollgate listens when nothing else is said.
const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";

/// The options every client command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Globals {
    /// The API host, e.g. https://api.ionos.com (default: IONOS_API_URL,
    /// then the stored login's, then http://127.0.0.1:8080).
    #[arg(long, global = true)]
    base_url: Option<String>,
    /// Act in this contract (X-Contract-Number).
    #[arg(long, global = true)]
    contract: Option<i32>,
    /// A table for people, or the API's JSON exactly as it answered.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    output: Output,
}

/// A mistake in how a command was called: exit code 2, like clap's own.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Fails with a [`UsageError`].
fn usage<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(UsageError(message.into()).into())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Globals {
    /// The host to talk to, without a credential.
    fn base_url(&self, stored: Option<&StoredLogin>) -> String {
        self.base_url
            .clone()
            .or_else(|| env("IONOS_API_URL"))
            .or_else(|| stored.map(|s| s.base_url.clone()))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
    }

    fn configure(&self, configuration: Configuration) -> anyhow::Result<Configuration> {
        match self.contract {
            Some(contract) => Ok(configuration
                .contract(contract)
                .map_err(|e| UsageError(e.to_string()))?),
            None => Ok(configuration),
        }
    }

    /// A client with the credential found first: the environment's, else
    /// the stored login's.
    fn client(&self) -> anyhow::Result<Client> {
        let stored = StoredLogin::load()?;
        let configuration = Configuration::new(self.base_url(stored.as_ref()));
        let configuration = match (
            env("IONOS_TOKEN"),
            env("IONOS_USERNAME"),
            env("IONOS_PASSWORD"),
        ) {
            (Some(token), _, _) => configuration.token(token),
            (None, Some(username), Some(password)) => configuration.basic_auth(username, password),
            _ => match &stored {
                Some(stored) => {
                    let configuration = configuration.token(stored.token.clone());
                    match (self.contract, stored.contract) {
                        (None, Some(contract)) => configuration
                            .contract(contract)
                            .map_err(|e| UsageError(e.to_string()))?,
                        _ => configuration,
                    }
                }
                None => {
                    return usage(
                        "not logged in: run `tollgate login`, or set IONOS_TOKEN (or IONOS_USERNAME and IONOS_PASSWORD)",
                    );
                }
            },
        };
        Ok(Client::new(self.configure(configuration)?)?)
    }
}

/// Runs `tollgate login`.
pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    login::login(args).await
}

/// Runs `tollgate logout`.
pub async fn logout(args: LogoutArgs) -> anyhow::Result<()> {
    login::logout(args).await
}

/// Runs `tollgate token ...`.
pub async fn token(command: TokenCommand) -> anyhow::Result<()> {
    tokens::run(command).await
}

/// Runs `tollgate registry ...`.
pub async fn registry(command: RegistryCommand) -> anyhow::Result<()> {
    registries::run(command).await
}
