//! Query-string parameters as plain strings, parsed by each handler into
//! domain types so every refusal names the offending parameter.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use super::error::ApiError;

/// The decoded `name=value` pairs of the query string, in order.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The query string of `uri`, or `None` if it does not decode.
    pub fn from_uri(uri: &axum::http::Uri) -> Option<Self> {
        Query::<Vec<(String, String)>>::try_from_uri(uri)
            .ok()
            .map(|Query(pairs)| Self(pairs))
    }

    /// Every value given for `name`, in order.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::bad_request("the query string is not valid URL-encoded UTF-8")
            })?;
        Ok(QueryParams(pairs))
    }
}
