//! `POST /registry/events`: where a registry (CNCF Distribution) sends its
//! event notifications. Each registry authenticates with Basic
//! credentials: its own name and the notifications secret made for it
//! (`tollgate admin registry-connect`), through the gate. A
//! delivery is answered 204 once it is stored; errors are in Docker's
//! format, like the rest of `/registry/`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;

use super::TokenError;
use crate::auth::gate::RegistryNotifications;
use crate::http::AppState;
use crate::http::basic;
use crate::http::client::ClientAddress;
use crate::registry::events::Envelope;
use crate::registry::login::Denied;

/// Where notifications are sent.
pub const EVENTS_PATH: &str = "/registry/events";

/// Distribution's media types for a delivery: 2.x sends v1, 3.x v2 (the same envelope).
const EVENTS_MEDIA_TYPES: [&str; 3] = [
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
    "application/json",
];

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new().route(EVENTS_PATH, post(take_in))
}

async fn take_in(
    State(state): State<Arc<AppState>>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, TokenError> {
    let credentials = notifier_credentials(&headers)?;
    let credential = RegistryNotifications {
        registry: credentials.name(),
        secret: credentials.password(),
    };
    let notifier = state
        .gate
        .authenticate(credential, client)
        .await
        .map_err(refuse)?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    if !EVENTS_MEDIA_TYPES
        .iter()
        .any(|known| media_type.eq_ignore_ascii_case(known))
    {
        return Err(TokenError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED",
            format!("send the notifications as {}", EVENTS_MEDIA_TYPES[0]),
        ));
    }
    let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
        TokenError::invalid(format!(
            "the body is not an envelope of registry events: {e}"
        ))
    })?;
    let outcomes = state
        .registry_events
        .take_in(&notifier, envelope)
        .await
        .map_err(|e| unavailable(&e))?;
    state.metrics.registry_events(outcomes);
    Ok(StatusCode::NO_CONTENT)
}

/// The registry's name and notifications secret, from Basic credentials.
fn notifier_credentials(headers: &HeaderMap) -> Result<basic::BasicCredentials, TokenError> {
    let malformed = || {
        TokenError::unauthorized(
            "send the registry's name and notifications secret with Basic authentication",
        )
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(malformed)?;
    let (scheme, encoded) = basic::split_authorization(value).ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 512 {
        return Err(malformed());
    }
    basic::decode(encoded).ok_or_else(malformed)
}

fn refuse(denied: Denied) -> TokenError {
    match denied {
        Denied::Store(e) => unavailable(&e),
        Denied::Throttled(retry) => TokenError::throttled(retry.0),
        _ => TokenError::unauthorized(
            "the registry's name or notifications secret is wrong: make a new secret with `tollgate admin registry-connect`",
        ),
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> TokenError {
    tracing::error!("registry events could not be stored: {e}");
    TokenError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "the events could not be stored right now; the registry will send them again",
    )
}
