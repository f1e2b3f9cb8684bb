//! JSON request bodies: size-limited, present (400 when empty), sent as
//! `application/json` (415 otherwise, also without a `Content-Type`), a
//! JSON object at the top (as every struct inside, see
//! `tollgate_api::strict`), and refused with a message that names the
//! offending field (`properties.scopes[0].actions`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use tollgate_api::strict::Object;

use super::error::ApiError;
use crate::http::limits::Overrun;

/// A body parsed as `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// A body parsed as `T`, or `T::default()` when the request has no body.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match read(request, state).await? {
            Some(body) => Ok(JsonBody(body)),
            None => Err(ApiError::bad_request("a JSON request body is required")),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Ok(OptionalJsonBody(
            read(request, state).await?.unwrap_or_default(),
        ))
    }
}

/// The body as `T`; `None` when there is none.
async fn read<S: Send + Sync, T: DeserializeOwned>(
    request: Request,
    state: &S,
) -> Result<Option<T>, ApiError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_media_type);
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    format!(
                        "the request body is larger than {} bytes",
                        crate::http::BODY_LIMIT_BYTES
                    ),
                )
            } else if let Some(overrun) = Overrun::in_body_error(&rejection) {
                ApiError::from(overrun)
            } else {
                ApiError::bad_request("the request body could not be read")
            }
        })?;
    if bytes.is_empty() {
        return Ok(None);
    }
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the body as JSON with the header Content-Type: application/json",
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(deserializer)
        .map(|Object(body)| Some(body))
        .map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let detail = inner.to_string();
            if inner.is_syntax() || inner.is_eof() {
                ApiError::bad_request(format!("the request body is not valid JSON: {detail}"))
            } else if path == "." {
                ApiError::bad_request(format!(
                    "the request body does not match the expected model: {detail}"
                ))
            } else {
                ApiError::bad_request(format!("invalid value at {path}: {detail}"))
            }
        })
}

/// `application/json`, with parameters such as `; charset=utf-8` or not,
/// in any case; not `application/jsonx` nor any other type.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_application_json_is_json() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            " application/json ;charset=UTF-8",
        ] {
            assert!(is_json_media_type(ok), "{ok}");
        }
        for not in [
            "application/jsonx",
            "text/json",
            "",
            "application/json-patch+json",
        ] {
            assert!(!is_json_media_type(not), "{not}");
        }
    }
}
