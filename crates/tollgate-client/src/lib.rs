//! A Rust SDK for the IONOS Cloud Auth API v1 and Container Registry API,
//! as Tollgate serves them: the same paths and the
//! same JSON, so the same calls work against a Tollgate and against IONOS
//! Cloud. The wire types are Tollgate's own ([`tollgate_api`], re-exported
//! as [`api`]): one source of truth for the server and its clients.
//!
//! Configure it like the official SDKs: a host URL and either a token
//! (sent as `Bearer`) or a username and password (sent as `Basic`), taken
//! from `IONOS_API_URL`, `IONOS_TOKEN`, `IONOS_USERNAME` and
//! `IONOS_PASSWORD` when not given ([`Configuration::from_env`]).
//!
//! ```no_run
//! use tollgate_client::{Client, Configuration};
//!
//! # async fn run() -> Result<(), tollgate_client::Error> {
//! let client = Client::new(
//!     Configuration::new("http://127.0.0.1:8080").basic_auth("owner@example.com", "secret"),
//! )?;
//! // An access token valid for one hour, then used as the credential.
//! let jwt = client.tokens_generate().ttl(3600).send().await?;
//! let client = client.with_token(&jwt.token);
//! for token in client.tokens_get().await?.tokens {
//!     println!("{} expires {}", token.id, token.expiration_date);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Every operation is an `async` method named after the official one
//! (`tokens_generate`, `registries_tokens_post`, ...); optional parameters
//! are set on the request builder it returns. Failures are [`Error`]s
//! carrying the HTTP status and the server's messages. A request has a
//! timeout, and requests that are safe to repeat (not `POST` or `PATCH`)
//! are retried with backoff when the server answers 429 or 503, after the
//! `Retry-After` it sent. Lists come a page at a time, or as a stream that
//! walks every page (`registries_get_all`, `registries_tokens_get_all`).

#![warn(missing_docs)]

mod auth;
mod config;
mod error;
mod pages;
mod registries;
mod registry_tokens;
mod repositories;
mod transport;

pub use config::{Configuration, Credentials, DEFAULT_API_URL};
pub use error::Error;
pub use tollgate_api as api;
pub use transport::Client;

pub use auth::TokensGenerate;
pub use registries::RegistriesGet;
pub use registry_tokens::RegistriesTokensGet;
pub use repositories::ListGet;
