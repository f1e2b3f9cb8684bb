//! The HTTP surfaces, each with its own routes and its own error rendering:
//!
//! - [`ionos`]: the Auth API v1 (`/auth/v1`) and the Container Registry API
//!   (`/containerregistries`); every error carries the IONOS error body;
//! - [`docker`]: the registry token service (`/registry/token`,
//!   `/registry/certs.pem`); errors in Docker's format;
//! - [`ops`]: health and published keys, for operators and verifiers.
//!
//! Shared by all: one log line per request ([`request_log`]), Basic
//! credentials ([`basic`]) and query strings ([`query`]). Data flows one
//! way: request -> credential -> [`crate::auth::gate`] -> handler (parses
//! input into domain types) -> service -> wire type -> JSON. No handler
//! touches the store.

mod basic;
pub mod docker;
pub mod ionos;
mod ops;
mod query;
mod request_log;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::auth::access_tokens::AccessTokens;
use crate::auth::gate::Authenticator;
use crate::auth::tokens::AuthTokens;
use crate::clock::Clock;
use crate::health::Health;
use crate::registry::jwt::RegistryTokenIssuer;
use crate::registry::{Registries, RegistryTokens};

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What every handler shares: the services, and how answers are addressed.
pub struct AppState {
    /// Every credential goes through it.
    pub gate: Authenticator,
    pub auth_tokens: AuthTokens,
    pub registries: Registries,
    pub registry_tokens: RegistryTokens,
    /// Signs the JWTs registries accept.
    pub registry_jwt: Arc<RegistryTokenIssuer>,
    /// The Auth API's keys, published as a JWKS.
    pub access_tokens: Arc<AccessTokens>,
    pub health: Health,
    /// What answers date things by.
    pub clock: Arc<dyn Clock>,
    /// The base of every `href`, without a trailing slash.
    pub public_url: String,
    /// Registries get the hostname `<name>.<registry_domain>`.
    pub registry_domain: String,
}

/// The complete application router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(ionos::surface(ops::routes()))
        .merge(ionos::surface(ionos::routes()))
        .merge(docker::routes())
        .fallback(ionos::unknown_route)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(request_log::log_request))
}
