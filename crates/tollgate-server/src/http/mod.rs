//! The HTTP surfaces, each with its own routes and its own error rendering:
//!
//! - [`ionos`]: the Auth API v1 (`/auth/v1`) and the Container Registry API
//!   (`/containerregistries`); every error carries the IONOS error body;
//! - [`docker`]: the registry token service (`/registry/token`,
//!   `/registry/certs.pem`); errors in Docker's format;
//! - [`ops`]: health and published keys, for operators and verifiers;
//! - [`console`]: the web console's pages and session (errors as the IONOS APIs').
//!
//! Shared by all: the listener, which serves connections under the
//! [`limits`] ([`listener`], [`per_address`]), over HTTPS with a certificate re-read when
//! it changes ([`tls`]), and drains them at shutdown ([`drain`]); one log line, metrics and an id per request ([`observe`]),
//! Basic credentials ([`basic`]), query strings ([`query`]) and the
//! client's address ([`client`]). Data flows one
//! way: request -> credential -> [`crate::auth::gate`] -> handler (parses
//! input into domain types) -> service -> wire type -> JSON. No handler
//! touches the store.

mod basic;
mod client;
pub mod console;
pub mod docker;
mod drain;
mod head_deadline;
pub mod ionos;
pub mod limits;
pub mod listener;
pub mod observe;
mod ops;
mod per_address;
mod query;
pub mod tls;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::auth::access_tokens::AccessTokens;
use crate::auth::console_sessions::ConsoleSessions;
use crate::auth::gate::Authenticator;
use crate::auth::tokens::AuthTokens;
use crate::clock::Clock;
use crate::ops::health::Health;
use crate::ops::metrics::Metrics;
use crate::registry::events::RegistryEvents;
use crate::registry::jwt::RegistryTokenIssuer;
use crate::registry::resync::Resync;
use crate::registry::{Registries, RegistryTokens, Repositories};

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
    /// What the service has done, for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// What answers date things by.
    pub clock: Arc<dyn Clock>,
    /// The base of every `href`, without a trailing slash.
    pub public_url: String,
    /// Registries get the hostname `<name>.<registry_domain>`.
    pub registry_domain: String,
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<tollgate_api::registry_rules::Subnet>,
    /// The audit trail, which owners and admins read.
    pub audit: Arc<crate::audit::AuditTrail>,
    /// What registries hold, read as repositories and artifacts.
    pub repositories: Repositories,
    /// Takes in registries' event notifications.
    pub registry_events: RegistryEvents,
    /// Brings the view of connected registries in line with their APIs.
    pub resync: Arc<Resync>,
    /// The web console's sign-in sessions.
    pub console_sessions: ConsoleSessions,
    /// Whether the console's cookie is marked `Secure` (Tollgate is reached over HTTPS).
    pub secure_cookies: bool,
}

/// Gives an answer the framework made itself (a 4xx/5xx without a JSON
/// body: a rejection, a 405, a 413) the error body of the surface `path`
/// belongs to; every other answer passes as it is. Called once per
/// request, by [`observe`], rather than by a layer per surface.
pub(crate) fn complete_framework_error(
    path: &str,
    response: axum::response::Response,
) -> axum::response::Response {
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    if docker::serves(path) {
        docker::complete_error(status)
    } else {
        ionos::complete_error(status, path)
    }
}

/// The headers an error answer needs by its status: the `challenge` with a
/// 401, `Connection: close` with a 408 (the body is partly unread), and
/// `Retry-After` when the caller is to wait.
fn with_error_headers(
    mut response: axum::response::Response,
    challenge: &'static str,
    retry_after: Option<i64>,
) -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    let status = response.status();
    let headers = response.headers_mut();
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    if status == StatusCode::REQUEST_TIMEOUT {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

/// A request path as quoted in a message or an early log line: at most
/// 200 characters (the rest of a long path adds nothing).
fn clip_path(path: &str) -> String {
    path.chars().take(200).collect()
}

/// `router` for requests that carry a body: the extractors read at most
/// [`BODY_LIMIT_BYTES`] of it. Requests without a body are routed without
/// this layer, which costs the hot paths (all `GET`s) a request extension.
pub fn with_body_limit(router: Router) -> Router {
    router.layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
}

/// The complete application router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(ionos::surface(ops::routes()))
        .merge(ionos::surface(ionos::routes()))
        .merge(docker::routes())
        .merge(ionos::surface(console::routes()))
        .fallback(ionos::unknown_route)
        .with_state(state.clone())
        .layer(observe::ObserveLayer::new(state.metrics.clone()))
}
