//! The one error type of the IONOS surface, rendered as the IONOS error body,
//! and how every domain error becomes one.
//!
//! Every failure a handler or extractor meets becomes an [`ApiError`] with
//! the right status, a stable `errorCode` and a message a person can act on.
//! Internal details are logged, never sent; secrets are never in either.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tollgate_api::auth::CONTRACT_HEADER;
use tollgate_api::error::ErrorBody;
use tollgate_api::parse::ParseError;

use crate::audit::AuditError;
use crate::auth::gate::MemberRefusal;
use crate::auth::tokens::AuthTokenError;
use crate::registry::{NotAManager, RegistryError, RegistryTokenError};
use crate::store::StoreError;

/// The challenge sent with a 401.
pub const CHALLENGE: &str = r#"Basic realm="tollgate", Bearer realm="tollgate""#;

/// The challenge of a 401 to the web console's own requests: a browser
/// answers a Basic challenge to a script's request with a password
/// prompt of its own, which the console must not trigger.
pub const CONSOLE_CHALLENGE: &str = r#"Bearer realm="tollgate""#;

/// An error answer: status, `errorCode`, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After` of a 429 or 503).
    pub retry_after: Option<i64>,
    /// `WWW-Authenticate` of a 401.
    pub challenge: &'static str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            challenge: CHALLENGE,
        }
    }

    /// This error, as answered to the web console (see [`CONSOLE_CHALLENGE`]).
    pub fn to_console(self) -> Self {
        Self {
            challenge: CONSOLE_CHALLENGE,
            ..self
        }
    }

    /// Too many wrong passwords: 429 with `Retry-After`.
    pub fn throttled(retry_after: i64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                format!(
                    "too many wrong passwords for this account from your address: try again in {retry_after} seconds"
                ),
            )
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid-request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// A failure of ours: logged in full, answered without detail.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {detail}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "the service failed to handle the request; it was logged, try again later",
        )
    }

    /// The store is out of reach or refused a write it should have taken.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::error!("store unavailable: {detail}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service-unavailable",
            "the service cannot reach its database right now; try again later",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ApiError::conflict("the resource already exists"),
            StoreError::MissingParent => {
                ApiError::not_found("the resource this one belongs to no longer exists")
            }
            StoreError::Backend(e) => ApiError::unavailable(e),
        }
    }
}

impl From<ParseError> for ApiError {
    /// A value that does not parse: the message names the field.
    fn from(e: ParseError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

impl From<MemberRefusal> for ApiError {
    fn from(refusal: MemberRefusal) -> Self {
        match refusal {
            MemberRefusal::WrongPassword => {
                ApiError::unauthorized("the e-mail or password is wrong")
            }
            MemberRefusal::Token(e) => ApiError::unauthorized(e.to_string()),
            MemberRefusal::ContractRequired(contracts) => {
                let numbers: Vec<String> = contracts.iter().map(|c| c.to_string()).collect();
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "contract-number-required",
                    format!(
                        "this account belongs to several contracts ({}); choose one with the {CONTRACT_HEADER} header",
                        numbers.join(", ")
                    ),
                )
            }
            MemberRefusal::NotAMember(contract) => {
                ApiError::forbidden(format!("you are not a member of contract {contract}"))
            }
            MemberRefusal::NoContract => {
                ApiError::forbidden("this account is not a member of any contract")
            }
            MemberRefusal::TokenForAnotherContract {
                issued_for,
                requested,
            } => ApiError::forbidden(format!(
                "this token was issued for contract {issued_for}, not {requested}; generate a token for contract {requested}"
            )),
            MemberRefusal::SessionEnded => ApiError::unauthorized(
                "the console session has ended or was signed out: sign in again",
            ),
            MemberRefusal::Throttled(retry) => ApiError::throttled(retry.0),
            MemberRefusal::Store(e) => e.into(),
        }
    }
}

impl From<NotAManager> for ApiError {
    fn from(e: NotAManager) -> Self {
        ApiError::forbidden(e.to_string())
    }
}

impl From<AuthTokenError> for ApiError {
    fn from(e: AuthTokenError) -> Self {
        match e {
            AuthTokenError::NotFound(_) => ApiError::not_found(e.to_string()),
            AuthTokenError::CurrentNeedsBearer => ApiError::bad_request(e.to_string()),
            AuthTokenError::Store(e) => e.into(),
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Forbidden(_) => ApiError::forbidden(e.to_string()),
            AuditError::Store(e) => e.into(),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound(_) => ApiError::not_found(e.to_string()),
            RegistryError::NameUnavailable { .. } => ApiError::conflict(e.to_string()),
            RegistryError::UnknownLocation { .. }
            | RegistryError::NameChanged { .. }
            | RegistryError::LocationChanged { .. } => ApiError::bad_request(e.to_string()),
            RegistryError::Store(e) => e.into(),
        }
    }
}

impl From<RegistryTokenError> for ApiError {
    fn from(e: RegistryTokenError) -> Self {
        match e {
            RegistryTokenError::RegistryNotFound(_) | RegistryTokenError::NotFound(_) => {
                ApiError::not_found(e.to_string())
            }
            RegistryTokenError::NameTaken(_) => ApiError::conflict(e.to_string()),
            RegistryTokenError::NameChanged { .. } => ApiError::bad_request(e.to_string()),
            RegistryTokenError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody::new(self.status.as_u16(), self.code, self.message);
        let response = (self.status, axum::Json(body)).into_response();
        crate::http::with_error_headers(response, self.challenge, self.retry_after)
    }
}
