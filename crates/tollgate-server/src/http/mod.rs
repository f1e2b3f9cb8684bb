//! The HTTP surface: shared state, the router, and the layers around it.
//!
//! Data flows one way: request -> [`caller::Caller`] extractor (who, which
//! contract) -> handler (parses input into domain types) -> store -> wire
//! type -> JSON. Handlers stay thin; rules live in plain modules.

mod auth_api;
mod caller;
pub mod error;
mod json;
mod meta;
mod middleware;
mod query;
mod registries;
mod registry_token;
mod registry_tokens;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;

use crate::access_tokens::AccessTokens;
use crate::clock::Clock;
use crate::passwords::PasswordCheck;
use crate::registry_jwt::RegistryTokenIssuer;
use crate::store::Store;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub tokens: AccessTokens,
    pub clock: Arc<dyn Clock>,
    /// The base of every `href`, without a trailing slash.
    pub public_url: String,
    /// Registries get the hostname `<name>.<registry_domain>`.
    pub registry_domain: String,
    /// The location ids a registry may be created in.
    pub locations: Vec<String>,
    /// Checks Basic passwords, remembering correct ones briefly.
    pub passwords: Arc<PasswordCheck>,
    /// How long a deleted registry's name stays reserved for its contract.
    pub name_quarantine_seconds: i64,
    /// Signs the JWTs registries accept.
    pub registry_tokens: RegistryTokenIssuer,
}

/// The complete application router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(meta::health))
        .route("/.well-known/jwks.json", get(meta::jwks))
        .merge(auth_api::routes())
        .merge(registries::routes())
        .merge(registry_tokens::routes())
        .merge(registry_token::routes())
        .fallback(meta::unknown_route)
        .method_not_allowed_fallback(meta::method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(CatchPanicLayer::custom(middleware::panic_to_500))
        .layer(axum::middleware::from_fn(middleware::log_and_complete))
}
