//! Who is calling the IONOS APIs, for which contract: thin extractors over
//! the authentication gate.
//!
//! `Authorization: Basic` is an account's e-mail and password,
//! `Authorization: Bearer` an access token, and without either the web
//! console's session cookie (with its CSRF token); `X-Contract-Number` names
//! the contract. The extractors only read headers into a credential, hand it to
//! [`crate::auth::gate::Authenticator`], and render a refusal as the IONOS
//! error; the rules are the gate's.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use tollgate_api::auth::{CONTRACT_HEADER, ContractNumber};

use super::error::ApiError;
use crate::auth::Member;
use crate::auth::gate::{AccessToken, AccountPassword, ConsoleSession};
use crate::http::AppState;
use crate::http::basic;
use crate::http::client::client_address;
use crate::http::console;
use crate::registry::Manager;

/// An authenticated member acting within one contract.
#[derive(Debug, Clone)]
pub struct Caller(pub Member);

/// A member allowed to manage the registries of their contract: its owner,
/// its admins, and users holding `accessAndManageRegistries`. Anyone else
/// authenticated is refused with 403 (before the body is read).
#[derive(Debug, Clone)]
pub struct RegistryManager(pub Manager);

impl FromRequestParts<Arc<AppState>> for RegistryManager {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let Caller(member) = Caller::from_request_parts(parts, state).await?;
        Ok(RegistryManager(Manager::try_from(member)?))
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let contract = requested_contract(&parts.headers)?;
        let client = client_address(parts, &state.trusted_proxies);
        let Some(authorization) = parts.headers.get(AUTHORIZATION) else {
            return console_member(parts, state, contract, client)
                .await
                .map(Caller);
        };
        let authorization = authorization
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
        let (scheme, credentials) = basic::split_authorization(authorization).ok_or_else(|| {
            ApiError::unauthorized(
                "the Authorization header must be \"Basic ...\" or \"Bearer ...\"",
            )
        })?;
        let member = if scheme.eq_ignore_ascii_case("basic") {
            let basic = basic::decode(credentials).ok_or_else(|| {
                ApiError::unauthorized(
                    "malformed Basic credentials: expected base64(email:password)",
                )
            })?;
            let credential = AccountPassword {
                email: basic.name(),
                password: basic.password(),
                contract,
                first_if_several: false,
            };
            state.gate.authenticate(credential, client).await?
        } else if scheme.eq_ignore_ascii_case("bearer") {
            let credential = AccessToken {
                token: credentials,
                contract,
            };
            state.gate.authenticate(credential, client).await?
        } else {
            return Err(ApiError::unauthorized(format!(
                "unsupported authorization scheme {:?}: use Basic or Bearer",
                scheme.chars().take(16).collect::<String>()
            )));
        };
        Ok(Caller(member))
    }
}

/// A member signed in to the web console: a request without an
/// `Authorization` header that carries the console's session cookie and,
/// for every request but the session's own `GET`, its CSRF token. A
/// refusal of the console's requests (with the cookie or a CSRF token, or
/// to the console's own paths) challenges for Bearer only, so that no
/// browser answers it with a password prompt of its own.
async fn console_member(
    parts: &Parts,
    state: &Arc<AppState>,
    contract: Option<ContractNumber>,
    client: std::net::IpAddr,
) -> Result<Member, ApiError> {
    let Some(secret) = console::session_secret(&parts.headers, state.secure_cookies) else {
        let refusal = ApiError::unauthorized(
            "authentication required: send Authorization: Basic <base64(email:password)> or Bearer <token>",
        );
        let from_console = parts.uri.path().starts_with("/console/")
            || parts.headers.contains_key(console::CSRF_HEADER);
        return Err(if from_console {
            refusal.to_console()
        } else {
            refusal
        });
    };
    let member = async {
        console::check_csrf(&parts.method, &parts.uri, &parts.headers, secret)?;
        let member = state
            .gate
            .authenticate(ConsoleSession { secret }, client)
            .await?;
        match contract {
            Some(requested) if requested != member.contract() => Err(ApiError::forbidden(format!(
                "this console session acts in contract {}, not {requested}: switch contracts in the console",
                member.contract()
            ))),
            _ => Ok(member),
        }
    };
    member.await.map_err(ApiError::to_console)
}

/// The contract named in `X-Contract-Number`, if any.
fn requested_contract(headers: &HeaderMap) -> Result<Option<ContractNumber>, ApiError> {
    let Some(value) = headers.get(CONTRACT_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        ApiError::bad_request(format!(
            "{CONTRACT_HEADER} must be a positive 32-bit integer"
        ))
    })?;
    text.parse::<ContractNumber>()
        .map(Some)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}
