//! How the IONOS answers address resources: `href`s, the `Location` of a
//! created resource, pagination links, and the `metadata` of a resource.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tollgate_api::registry::{Metadata, PaginationLinks, RegistryResponse, TokenResponse};

use tollgate_api::registry_rules as rules;

use super::error::ApiError;
use crate::clock::rfc3339;
use crate::http::query::QueryParams;
use crate::store::Stamps;

/// What a query value keeps unencoded: RFC 3986's unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `base?k=v&...`, percent-encoding the values.
pub fn with_query(base: &str, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// `offset` (default 0) and `limit` (default 100, at most
/// [`rules::MAX_LIMIT`]) of an offset-paged list.
pub fn offset_and_limit(query: &QueryParams) -> Result<(u64, u64), ApiError> {
    let offset = match query.get("offset") {
        Some(raw) => rules::parse_offset(raw)?,
        None => 0,
    };
    let limit = match query.get("limit") {
        Some(raw) => rules::parse_limit(raw)?,
        None => 100,
    };
    Ok((offset, limit))
}

/// The links of an offset-paged collection: this page, the one before
/// (none on the first) and the one after (none on the last); `page` writes
/// the URL of the page at an offset.
pub fn offset_page_links(
    offset: u64,
    limit: u64,
    count: u64,
    total: u64,
    page: impl Fn(u64) -> String,
) -> PaginationLinks {
    PaginationLinks {
        self_: page(offset),
        previous: if offset > 0 {
            page(offset.saturating_sub(limit))
        } else {
            String::new()
        },
        next: if offset + count < total {
            page(offset + limit)
        } else {
            String::new()
        },
    }
}

/// `ApiResourceMetadata` of a row in `state`.
pub fn metadata(stamps: &Stamps, state: &str) -> Metadata {
    Metadata {
        created_by: stamps.created_by.clone(),
        created_by_user_id: stamps.created_by_user_id.clone(),
        created_date: rfc3339(stamps.created_at),
        last_modified_by: stamps.modified_by.clone(),
        last_modified_by_user_id: stamps.modified_by_user_id.clone(),
        last_modified_date: stamps.modified_at.map(rfc3339),
        state: state.to_owned(),
    }
}

/// A resource that knows its own URL.
pub trait HasHref {
    fn href(&self) -> &str;
}

impl HasHref for RegistryResponse {
    fn href(&self) -> &str {
        &self.href
    }
}

impl HasHref for TokenResponse {
    fn href(&self) -> &str {
        &self.href
    }
}

/// 201 with a `Location` header pointing at the new resource.
pub fn created<T: serde::Serialize + HasHref>(body: T) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(body.href()) {
        headers.insert(header::LOCATION, location);
    }
    (StatusCode::CREATED, headers, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            with_query(
                "/r",
                &[("filter.name", "a b/c~d".into()), ("limit", "5".into())]
            ),
            "/r?filter.name=a%20b%2Fc~d&limit=5"
        );
    }
}
