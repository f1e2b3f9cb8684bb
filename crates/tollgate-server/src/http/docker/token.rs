//! `GET /registry/token` (Docker's token authentication: Basic credentials
//! and `service`/`scope`/`account`/`offline_token` parameters), the OAuth2
//! form `POST /registry/token` (`grant_type=password` or `refresh_token`),
//! and `GET /registry/certs.pem`. Credentials go through the
//! authentication gate; no error issues a token.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use serde::Serialize;
use serde_json::value::RawValue;

use super::TokenError;
use crate::auth::gate::{RefreshToken, RegistryChannel, RegistryPassword};
use crate::clock::rfc3339;
use crate::http::AppState;
use crate::http::basic::{self, BasicCredentials};
use crate::http::client::ClientAddress;
use crate::http::limits::Overrun;
use crate::http::query::QueryParams;
use crate::ops::metrics::TokenKind;
use crate::registry::access::{self, MAX_SCOPES, RequestedScope};
use crate::registry::login::Denied;
use crate::store::LoginToken;

/// The longest value accepted for any parameter but `scope`.
const MAX_PARAM_LEN: usize = 1024;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/registry/token", get(get_token).post(post_token))
        .route("/registry/certs.pem", get(certificates))
}

/// The token answer.
#[derive(Serialize)]
struct TokenAnswer {
    token: Box<RawValue>,
    access_token: Box<RawValue>,
    expires_in: i64,
    issued_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// Whether the answer carries a refresh token, and which.
enum Refresh<'a> {
    /// No refresh token was asked for.
    None,
    /// `offline_token=true` or `access_type=offline`: issue a new one.
    Issue,
    /// A refresh token was used: hand the same one back.
    Keep(&'a str),
}

/// `GET /registry/token?service=&scope=&account=&offline_token=`
async fn get_token(
    State(state): State<Arc<AppState>>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<TokenAnswer>, TokenError> {
    let query = QueryParams::from_uri(&uri)
        .ok_or_else(|| TokenError::invalid("the query string is not valid URL-encoded UTF-8"))?;
    let service = required(&query, "service")?;
    let scopes = parse_scopes(query.get_all("scope"))?;
    let basic = basic_credentials(&headers)?;
    let username = basic.name();
    if let Some(account) = bounded(&query, "account")?
        && !account.is_empty()
        && account != username
    {
        return Err(TokenError::invalid(
            "account must be the username of the Basic credentials",
        ));
    }
    let offline = bounded(&query, "offline_token")?.is_some_and(|v| v == "true");
    let credential = RegistryPassword {
        service,
        username,
        password: basic.password(),
        channel: RegistryChannel::Basic,
    };
    let token = state
        .gate
        .authenticate(credential, client)
        .await
        .map_err(|denied| refuse(service, username, denied))?;
    let refresh = if offline {
        Refresh::Issue
    } else {
        Refresh::None
    };
    Ok(Json(answer(&state, service, &token, &scopes, refresh)))
}

/// `POST /registry/token` with an OAuth2 form.
async fn post_token(
    State(state): State<Arc<AppState>>,
    ClientAddress(client): ClientAddress,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Result<Json<TokenAnswer>, TokenError> {
    let Form(pairs) = form.map_err(|rejection| match Overrun::in_body_error(&rejection) {
        Some(overrun) => TokenError::from(overrun),
        None => TokenError::invalid(
            "send an application/x-www-form-urlencoded body with grant_type, service and scope",
        ),
    })?;
    let form = QueryParams::new(pairs);
    let service = required(&form, "service")?;
    let scopes = parse_scopes(
        bounded(&form, "scope")?
            .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default(),
    )?;
    let (token, refresh) = match required(&form, "grant_type")? {
        "password" => {
            let username = required(&form, "username")?;
            let credential = RegistryPassword {
                service,
                username,
                password: required(&form, "password")?,
                channel: RegistryChannel::OAuth2,
            };
            let token = state
                .gate
                .authenticate(credential, client)
                .await
                .map_err(|denied| refuse(service, username, denied))?;
            let offline = bounded(&form, "access_type")?.is_some_and(|v| v == "offline");
            (
                token,
                if offline {
                    Refresh::Issue
                } else {
                    Refresh::None
                },
            )
        }
        "refresh_token" => {
            let refresh = required(&form, "refresh_token")?;
            let credential = RefreshToken {
                service,
                token: refresh,
            };
            let token = state
                .gate
                .authenticate(credential, client)
                .await
                .map_err(|denied| refuse(service, "(refresh token)", denied))?;
            (token, Refresh::Keep(refresh))
        }
        other => {
            return Err(TokenError::new(
                StatusCode::BAD_REQUEST,
                "UNSUPPORTED",
                format!(
                    "grant_type {:?} is not supported: use password or refresh_token",
                    other.chars().take(32).collect::<String>()
                ),
            ));
        }
    };
    Ok(Json(answer(&state, service, &token, &scopes, refresh)))
}

/// `GET /registry/certs.pem`: the current and next signing certificates.
async fn certificates(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.registry_jwt.keys.certificate_bundle(),
    )
        .into_response()
}

/// Signs the access the token's scopes grant of `scopes`, and the refresh
/// token asked for.
fn answer(
    state: &AppState,
    service: &str,
    token: &LoginToken,
    scopes: &[RequestedScope],
    refresh: Refresh<'_>,
) -> TokenAnswer {
    let now = state.clock.now();
    let granted = access::grant(scopes, &token.settings.scopes);
    let issuer = &state.registry_jwt;
    let issued = issuer.access_token(token, service, granted, now);
    state.metrics.issued(TokenKind::RegistryJwt, 1);
    let refresh_token = match refresh {
        Refresh::None => None,
        Refresh::Issue => Some(issuer.refresh_token(token, service, now)),
        Refresh::Keep(given) => Some(given.to_owned()),
    };
    TokenAnswer {
        access_token: issued.jwt_json.clone(),
        token: issued.jwt_json.clone(),
        expires_in: issued.expires_at - now,
        issued_at: rfc3339(issued.issued_at),
        refresh_token,
    }
}

/// Logs why a login was refused, and answers what the client may know:
/// a 400 for a service that is no registry of this service, the same 401
/// for every credential problem, a 503 when the store is out of reach.
fn refuse(service: &str, username: &str, denied: Denied) -> TokenError {
    match &denied {
        Denied::UnknownService => {
            return TokenError::invalid(format!(
                "unknown service {:?}: it must be the hostname of a registry",
                service.chars().take(128).collect::<String>()
            ));
        }
        Denied::Store(e) => {
            tracing::error!("registry login lookup failed: {e}");
            return TokenError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "the token service cannot reach its database; try again later",
            );
        }
        Denied::Throttled(retry) => return TokenError::throttled(retry.0),
        _ => {}
    }
    tracing::info!(
        target: "tollgate::registry",
        "login refused for {username:?} at {service:?}: {}",
        denied.reason()
    );
    if let Denied::InvalidRefresh = denied {
        return TokenError::unauthorized(
            "the refresh token is invalid, expired or for another service",
        );
    }
    TokenError::unauthorized(
        "authentication failed: the credentials are wrong, or the token is disabled, expired or not allowed from this address",
    )
}

/// The registry token's name and password from Basic credentials.
fn basic_credentials(headers: &HeaderMap) -> Result<BasicCredentials, TokenError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        TokenError::unauthorized(
            "send the registry token's username and password with Basic authentication",
        )
    })?;
    let malformed = || {
        TokenError::unauthorized("malformed Basic credentials: expected base64(username:password)")
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = basic::split_authorization(value).ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 4 * MAX_PARAM_LEN {
        return Err(malformed());
    }
    basic::decode(encoded).ok_or_else(malformed)
}

fn bounded<'a>(params: &'a QueryParams, name: &str) -> Result<Option<&'a str>, TokenError> {
    match params.get(name) {
        Some(value) if value.len() > MAX_PARAM_LEN => {
            Err(TokenError::invalid(format!("{name} is too long")))
        }
        other => Ok(other),
    }
}

fn required<'a>(params: &'a QueryParams, name: &str) -> Result<&'a str, TokenError> {
    bounded(params, name)?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| TokenError::invalid(format!("the parameter {name} is required")))
}

fn parse_scopes(raw: Vec<&str>) -> Result<Vec<RequestedScope>, TokenError> {
    if raw.len() > MAX_SCOPES {
        return Err(TokenError::invalid(format!(
            "at most {MAX_SCOPES} scopes per request"
        )));
    }
    raw.into_iter()
        .map(|s| access::parse_scope(s).map_err(|e| TokenError::invalid(e.0)))
        .collect()
}
