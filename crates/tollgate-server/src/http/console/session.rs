//! `/console/session`: signing in to the console (`POST`, an account's
//! e-mail and password), reading the session (`GET`, how a reloaded page
//! learns who it is and its CSRF token), switching contracts (`PUT`) and
//! signing out (`DELETE`, which ends the session on the server).
//!
//! Signing in goes through the authentication gate like a Basic login
//! (throttled, audited), only from the console's own page; an account in
//! several contracts starts in the first one and picks or switches in the
//! console. Signing in again ends the session the browser held before.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tollgate_api::auth::ContractNumber;

use super::cookie;
use crate::auth::AuthMethod;
use crate::auth::Member;
use crate::auth::console_sessions::{ConsoleSessionError, StartedSession, csrf_token};
use crate::auth::gate::AccountPassword;
use crate::clock::rfc3339;
use crate::http::AppState;
use crate::http::client::ClientAddress;
use crate::http::ionos::caller::Caller;
use crate::http::ionos::error::ApiError;
use crate::http::ionos::json::JsonBody;

/// Where the session is read, started, switched and ended.
pub(super) const SESSION_PATH: &str = "/console/session";

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        SESSION_PATH,
        get(read).post(sign_in).put(switch).delete(sign_out),
    )
}

/// `POST /console/session`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignIn {
    email: String,
    password: String,
    /// For an account in several contracts; the first one when left out.
    #[serde(default)]
    contract: Option<i64>,
}

/// `PUT /console/session`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Switch {
    contract: i64,
}

/// Who the console acts as: the answer to every session request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    email: String,
    contract: i32,
    role: &'static str,
    privileges: Vec<&'static str>,
    /// Every contract the account belongs to, to switch between.
    contracts: Vec<i32>,
    /// When the session ends unless it is used (it is renewed while in use).
    expires_at: String,
    /// To send as `X-CSRF-Token` with every API request.
    csrf_token: String,
}

async fn sign_in(
    State(state): State<Arc<AppState>>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    JsonBody(input): JsonBody<SignIn>,
) -> Result<Response, ApiError> {
    refuse_other_sites(&headers)?;
    let contract = input.contract.map(contract_number).transpose()?;
    let credential = AccountPassword {
        email: &input.email,
        password: &input.password,
        contract,
        first_if_several: true,
    };
    let member = state
        .gate
        .authenticate(credential, client)
        .await
        .map_err(|refusal| ApiError::from(refusal).to_console())?;
    let previous = super::session_secret(&headers, state.secure_cookies);
    let started = state.console_sessions.start(&member, previous).await?;
    started_answer(&state, &member, started, StatusCode::CREATED).await
}

/// A sign-in sent from another site's page (`Sec-Fetch-Site`, which
/// browsers set and pages cannot) is refused: no page elsewhere can sign a
/// visitor in to an account of its choosing. Older browsers that do not
/// send the header still cannot: the body must be `application/json`,
/// which a form of another site cannot send without Tollgate's consent.
fn refuse_other_sites(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        None | Some(b"same-origin") | Some(b"none") => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            "signing in to the console is only possible from the console's own page",
        )
        .to_console()),
    }
}

async fn read(
    State(state): State<Arc<AppState>>,
    Caller(member): Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (AuthMethod::Console { session }, Some(secret)) = (
        &member.method,
        super::session_secret(&headers, state.secure_cookies),
    ) else {
        return Err(ApiError::bad_request(
            "this is the web console's own session: sign in to the console first",
        ));
    };
    let view = view(&state, &member, session.expires_at, secret).await?;
    Ok(Json(view).into_response())
}

async fn switch(
    State(state): State<Arc<AppState>>,
    Caller(member): Caller,
    JsonBody(input): JsonBody<Switch>,
) -> Result<Response, ApiError> {
    let contract = contract_number(input.contract)?;
    let started = state.console_sessions.switch(&member, contract).await?;
    let member = Member {
        membership: started.membership.clone(),
        ..member
    };
    started_answer(&state, &member, started, StatusCode::OK).await
}

async fn sign_out(
    State(state): State<Arc<AppState>>,
    Caller(member): Caller,
) -> Result<Response, ApiError> {
    state.console_sessions.end(&member).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, cookie::clear(state.secure_cookies))],
    )
        .into_response())
}

/// A session just started or switched: its view, and the cookie.
async fn started_answer(
    state: &AppState,
    member: &Member,
    started: StartedSession,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let view = view(state, member, started.record.expires_at, &started.secret).await?;
    Ok((
        status,
        [(
            header::SET_COOKIE,
            cookie::set(&started.secret, state.secure_cookies),
        )],
        Json(view),
    )
        .into_response())
}

async fn view(
    state: &AppState,
    member: &Member,
    expires_at: i64,
    secret: &str,
) -> Result<SessionView, ApiError> {
    let contracts = state.console_sessions.memberships(member).await?;
    Ok(SessionView {
        email: member.email.to_string(),
        contract: member.contract().get(),
        role: member.membership.role.as_str(),
        privileges: member
            .membership
            .privileges
            .iter()
            .map(|p| p.as_str())
            .collect(),
        contracts: contracts.iter().map(|m| m.contract.get()).collect(),
        expires_at: rfc3339(expires_at),
        csrf_token: csrf_token(secret),
    })
}

fn contract_number(value: i64) -> Result<ContractNumber, ApiError> {
    i32::try_from(value)
        .ok()
        .and_then(|v| ContractNumber::new(v).ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid value at contract: {value} is no contract number (a positive 32-bit integer)"
            ))
        })
}

impl From<ConsoleSessionError> for ApiError {
    fn from(error: ConsoleSessionError) -> Self {
        match error {
            ConsoleSessionError::NotAMember(_) => ApiError::forbidden(error.to_string()),
            ConsoleSessionError::NotASession => ApiError::bad_request(error.to_string()),
            ConsoleSessionError::Ended => ApiError::unauthorized(error.to_string()).to_console(),
            ConsoleSessionError::Store(e) => e.into(),
        }
    }
}
