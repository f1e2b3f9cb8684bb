//! The registry token endpoint (`/registry/token`) and the certificate
//! bundle registries trust (`/registry/certs.pem`).
//!
//! Speaks Docker's token authentication: `GET` with Basic credentials and
//! `service`/`scope`/`account`/`offline_token` parameters, and the OAuth2
//! form `POST` (`grant_type=password` or `refresh_token`). Errors use the
//! Docker format `{"errors": [{"code", "message"}]}`; no error issues a token.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::value::RawValue;

use super::AppState;
use super::query::QueryParams;
use crate::clock::rfc3339;
use crate::registry_access::{self, Denied, MAX_SCOPES, Proven, RefreshGrant, RequestedScope};

/// The longest value accepted for any parameter but `scope`.
const MAX_PARAM_LEN: usize = 1024;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/registry/token", get(get_token).post(post_token))
        .route("/registry/certs.pem", get(certificates))
}

/// An error in Docker's token format.
#[derive(Debug)]
pub struct TokenError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl TokenError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_REQUEST",
            message: message.into(),
        }
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "UNAUTHORIZED",
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct ErrorsBody<'a> {
    errors: [ErrorEntry<'a>; 1],
}

#[derive(Serialize)]
struct ErrorEntry<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = ErrorsBody {
            errors: [ErrorEntry {
                code: self.code,
                message: &self.message,
            }],
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="tollgate registry token service""#),
            );
        }
        response
    }
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

/// `GET /registry/token?service=&scope=&account=&offline_token=`
async fn get_token(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<TokenAnswer>, TokenError> {
    let query = QueryParams::from_uri(&uri)
        .ok_or_else(|| TokenError::invalid("the query string is not valid URL-encoded UTF-8"))?;
    let service = required(&query, "service")?;
    let scopes = parse_scopes(query.get_all("scope"))?;
    let (username, password) = basic_credentials(&headers)?;
    if let Some(account) = bounded(&query, "account")?
        && !account.is_empty()
        && account != username
    {
        return Err(TokenError::invalid(
            "account must be the username of the Basic credentials",
        ));
    }
    let offline = bounded(&query, "offline_token")?.is_some_and(|v| v == "true");
    let now = state.clock.now();
    let proven = registry_access::authenticate(
        &state.store,
        &state.registry_domain,
        service,
        &username,
        &password,
        peer.ip(),
        now,
    )
    .await
    .map_err(|denied| refuse(service, &username, denied))?;
    Ok(Json(answer(
        &state,
        service,
        &proven,
        &scopes,
        offline.then_some(None),
        now,
    )))
}

/// `POST /registry/token` with an OAuth2 form.
async fn post_token(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Result<Json<TokenAnswer>, TokenError> {
    let Form(pairs) = form.map_err(|_| {
        TokenError::invalid(
            "send an application/x-www-form-urlencoded body with grant_type, service and scope",
        )
    })?;
    let form = QueryParams::new(pairs);
    let service = required(&form, "service")?;
    let scopes = parse_scopes(
        bounded(&form, "scope")?
            .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default(),
    )?;
    let now = state.clock.now();
    match required(&form, "grant_type")? {
        "password" => {
            let username = required(&form, "username")?;
            let password = required(&form, "password")?;
            let proven = registry_access::authenticate(
                &state.store,
                &state.registry_domain,
                service,
                username,
                password,
                peer.ip(),
                now,
            )
            .await
            .map_err(|denied| refuse(service, username, denied))?;
            let offline = bounded(&form, "access_type")?.is_some_and(|v| v == "offline");
            Ok(Json(answer(
                &state,
                service,
                &proven,
                &scopes,
                offline.then_some(None),
                now,
            )))
        }
        "refresh_token" => {
            let refresh = required(&form, "refresh_token")?;
            let claims = state
                .registry_tokens
                .check_refresh_token(refresh, service, now)
                .await
                .ok_or_else(|| {
                    TokenError::unauthorized(
                        "the refresh token is invalid, expired or for another service",
                    )
                })?;
            let grant = RefreshGrant {
                token_id: &claims.tid,
                token_name: &claims.sub,
                credential: &claims.cred,
            };
            let proven = registry_access::authenticate_refresh(
                &state.store,
                &state.registry_domain,
                service,
                grant,
                peer.ip(),
                now,
            )
            .await
            .map_err(|denied| refuse(service, &claims.sub, denied))?;
            Ok(Json(answer(
                &state,
                service,
                &proven,
                &scopes,
                Some(Some(refresh)),
                now,
            )))
        }
        other => Err(TokenError {
            status: StatusCode::BAD_REQUEST,
            code: "UNSUPPORTED",
            message: format!(
                "grant_type {:?} is not supported: use password or refresh_token",
                other.chars().take(32).collect::<String>()
            ),
        }),
    }
}

/// `GET /registry/certs.pem`: the current and next signing certificates.
async fn certificates(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.registry_tokens.keys.certificate_bundle(),
    )
        .into_response()
}

/// Issues the answer; `refresh` is `None` for no refresh token, `Some(None)`
/// for a new one, `Some(Some(t))` to hand back the one presented.
fn answer(
    state: &AppState,
    service: &str,
    proven: &Proven,
    scopes: &[RequestedScope],
    refresh: Option<Option<&str>>,
    now: i64,
) -> TokenAnswer {
    let access = registry_access::grant(scopes, &proven.token.settings.scopes);
    let issuer = &state.registry_tokens;
    let issued = issuer.access_token(&proven.token, service, access, now);
    let refresh_token = refresh.map(|given| match given {
        Some(existing) => existing.to_owned(),
        None => issuer.refresh_token(&proven.token, service, now),
    });
    TokenAnswer {
        access_token: issued.jwt_json.clone(),
        token: issued.jwt_json.clone(),
        expires_in: issued.expires_at - now,
        issued_at: rfc3339(issued.issued_at),
        refresh_token,
    }
}

fn refuse(service: &str, username: &str, denied: Denied) -> TokenError {
    let reason = match &denied {
        Denied::UnknownService => {
            return TokenError::invalid(format!(
                "unknown service {:?}: it must be the hostname of a registry",
                service.chars().take(128).collect::<String>()
            ));
        }
        Denied::Store(e) => {
            tracing::error!("registry login lookup failed: {e}");
            return TokenError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "UNAVAILABLE",
                message: "the token service cannot reach its database; try again later".into(),
            };
        }
        Denied::BadCredentials => "wrong username or password, or no such registry",
        Denied::StaleRefresh => {
            "refresh token of a credential that was deleted, re-created or given a new password"
        }
        Denied::Disabled => "token disabled",
        Denied::Expired => "token expired",
        Denied::AddressNotAllowed => "client address outside the registry's apiSubnetAllowList",
    };
    tracing::info!(target: "tollgate::registry", "login refused for {username:?} at {service:?}: {reason}");
    TokenError::unauthorized(
        "authentication failed: the credentials are wrong, or the token is disabled, expired or not allowed from this address",
    )
}

fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), TokenError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        TokenError::unauthorized(
            "send the registry token's username and password with Basic authentication",
        )
    })?;
    let malformed = || {
        TokenError::unauthorized("malformed Basic credentials: expected base64(username:password)")
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 4 * MAX_PARAM_LEN {
        return Err(malformed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (username, password) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok((username.to_owned(), password.to_owned()))
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
        .map(|s| registry_access::parse_scope(s).map_err(|e| TokenError::invalid(e.0)))
        .collect()
}
