//! Who is calling, for which contract: the authentication extractor.
//!
//! `Authorization: Basic` checks an account's e-mail and password (argon2id);
//! `Authorization: Bearer` checks an access token completely (see
//! [`crate::access_tokens`]). Wrong and unknown credentials get the same 401.
//! Then the contract is settled: a Bearer token carries its own; a Basic
//! caller with several contracts must name one in `X-Contract-Number`.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tollgate_api::auth::{CONTRACT_HEADER, ContractNumber};

use super::AppState;
use super::error::ApiError;
use crate::access_tokens::BearerError;
use crate::identity::{self, MANAGE_REGISTRIES};
use crate::store::{AuthTokenRecord, Change, Membership};

/// An authenticated caller acting within one contract.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub membership: Membership,
    pub method: AuthMethod,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    Basic,
    /// With the access token presented, as stored.
    Bearer {
        token: AuthTokenRecord,
    },
}

impl Caller {
    pub fn contract(&self) -> i32 {
        self.membership.contract_number
    }

    /// A change made now by this caller, for audit columns.
    pub fn change(&self, at: i64) -> Change {
        Change {
            at,
            by: self.email.clone(),
            by_user_id: self.user_id.clone(),
        }
    }
}

/// A caller allowed to manage the registries of their contract: its owner,
/// its admins, and users holding `accessAndManageRegistries`. Anyone else
/// authenticated is refused with 403.
#[derive(Debug, Clone)]
pub struct RegistryManager(pub Caller);

impl FromRequestParts<Arc<AppState>> for RegistryManager {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let m = &caller.membership;
        let allowed = matches!(m.role.as_str(), "owner" | "admin")
            || m.privileges.iter().any(|p| p == MANAGE_REGISTRIES);
        if allowed {
            Ok(RegistryManager(caller))
        } else {
            Err(ApiError::forbidden(format!(
                "managing registries needs the owner or admin role or the {MANAGE_REGISTRIES} privilege in contract {}",
                m.contract_number
            )))
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let requested = requested_contract(&parts.headers)?;
        let authorization = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "authentication required: send Authorization: Basic <base64(email:password)> or Bearer <token>",
                )
            })?
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
        let (scheme, credentials) = authorization.split_once(' ').ok_or_else(|| {
            ApiError::unauthorized(
                "the Authorization header must be \"Basic ...\" or \"Bearer ...\"",
            )
        })?;
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            basic(state, credentials, requested).await
        } else if scheme.eq_ignore_ascii_case("bearer") {
            bearer(state, credentials, requested).await
        } else {
            Err(ApiError::unauthorized(format!(
                "unsupported authorization scheme {:?}: use Basic or Bearer",
                scheme.chars().take(16).collect::<String>()
            )))
        }
    }
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

async fn basic(
    state: &AppState,
    credentials: &str,
    requested: Option<ContractNumber>,
) -> Result<Caller, ApiError> {
    let malformed =
        || ApiError::unauthorized("malformed Basic credentials: expected base64(email:password)");
    let decoded = STANDARD.decode(credentials).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (email, password) = decoded.split_once(':').ok_or_else(malformed)?;
    let email = identity::normalise_email(email);
    let account = state.store.account_by_email(&email).await?;
    let user = account.as_ref().map(|(user, _)| user);
    let valid = state.passwords.verify(&email, user, password).await;
    let (user, memberships) = match (valid, account) {
        (true, Some(account)) => account,
        _ => return Err(ApiError::unauthorized("the e-mail or password is wrong")),
    };
    let membership = choose_contract(memberships, requested)?;
    Ok(Caller {
        user_id: user.id,
        email: user.email,
        membership,
        method: AuthMethod::Basic,
    })
}

/// Settles the contract of a Basic caller.
fn choose_contract(
    memberships: Vec<Membership>,
    requested: Option<ContractNumber>,
) -> Result<Membership, ApiError> {
    match requested {
        Some(wanted) => memberships
            .into_iter()
            .find(|m| m.contract_number == wanted.get())
            .ok_or_else(|| {
                ApiError::forbidden(format!("you are not a member of contract {wanted}"))
            }),
        None if memberships.len() > 1 => {
            let numbers: Vec<String> = memberships
                .iter()
                .map(|m| m.contract_number.to_string())
                .collect();
            Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "contract-number-required",
                format!(
                    "this account belongs to several contracts ({}); choose one with the {CONTRACT_HEADER} header",
                    numbers.join(", ")
                ),
            ))
        }
        None => memberships
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::forbidden("this account is not a member of any contract")),
    }
}

async fn bearer(
    state: &AppState,
    token: &str,
    requested: Option<ContractNumber>,
) -> Result<Caller, ApiError> {
    let now = state.clock.now();
    let lookup = state
        .tokens
        .authenticate(&state.store, token, now)
        .await
        .map_err(|e| match e {
            BearerError::Store(e) => ApiError::from(e),
            other => ApiError::unauthorized(other.to_string()),
        })?;
    if let Some(wanted) = requested
        && wanted.get() != lookup.token.contract_number
    {
        return Err(ApiError::forbidden(format!(
            "this token was issued for contract {}, not {wanted}; generate a token for contract {wanted}",
            lookup.token.contract_number
        )));
    }
    Ok(Caller {
        user_id: lookup.token.user_id.clone(),
        email: lookup.email,
        membership: lookup.membership,
        method: AuthMethod::Bearer {
            token: lookup.token,
        },
    })
}
