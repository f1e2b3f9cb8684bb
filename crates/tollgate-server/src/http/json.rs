//! JSON request bodies: size-limited, type-checked, and refused with a
//! message that names the offending field (`properties.scopes[0].actions`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A body parsed as `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(content_type) = content_type
            && !content_type
                .to_ascii_lowercase()
                .starts_with("application/json")
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload-too-large",
                        format!(
                            "the request body is larger than {} bytes",
                            super::BODY_LIMIT_BYTES
                        ),
                    )
                } else {
                    ApiError::bad_request("the request body could not be read")
                }
            })?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request("a JSON request body is required"));
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(deserializer)
            .map(JsonBody)
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
}
