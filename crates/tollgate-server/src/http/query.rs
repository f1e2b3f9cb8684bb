//! Query-string parameters as plain strings, parsed by each handler into
//! domain types so every refusal names the offending parameter.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use percent_encoding::percent_decode_str;

use super::ionos::error::ApiError;

/// The decoded `name=value` pairs of the query string, in order.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The query string of `uri` (`application/x-www-form-urlencoded`), or
    /// `None` if a name or value is not percent-encoded UTF-8.
    pub fn from_uri(uri: &axum::http::Uri) -> Option<Self> {
        let query = uri.query().unwrap_or_default();
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                Some((decode(name)?, decode(value)?))
            })
            .collect::<Option<Vec<_>>>()
            .map(Self)
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

/// As the IONOS surfaces extract it: a query string that does not decode is
/// a 400 with the IONOS body (the token service reads its own, see `docker`).
impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        QueryParams::from_uri(&parts.uri)
            .ok_or_else(|| ApiError::bad_request("the query string is not valid URL-encoded UTF-8"))
    }
}

/// One form-urlencoded component: `+` is a space, `%XX` a byte, and the
/// bytes must be UTF-8.
fn decode(component: &str) -> Option<String> {
    let spaced;
    let component = if component.contains('+') {
        spaced = component.replace('+', " ");
        spaced.as_str()
    } else {
        component
    };
    percent_decode_str(component)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Option<Vec<(String, String)>> {
        let uri: axum::http::Uri = format!("/p?{query}").parse().unwrap();
        QueryParams::from_uri(&uri).map(|params| params.0)
    }

    #[test]
    fn pairs_decode_like_html_forms() {
        let pairs = parse("scope=repository%3Ateam%2Fapp%3Apull&scope=a+b&flag&=v&&k=").unwrap();
        let expected = [
            ("scope", "repository:team/app:pull"),
            ("scope", "a b"),
            ("flag", ""),
            ("", "v"),
            ("k", ""),
        ];
        assert_eq!(pairs.len(), expected.len());
        for ((name, value), (want_name, want_value)) in pairs.iter().zip(expected) {
            assert_eq!((name.as_str(), value.as_str()), (want_name, want_value));
        }
        assert_eq!(parse("x=%E2%9C%93").unwrap()[0].1, "\u{2713}");
        assert!(parse("x=%FF").is_none(), "invalid UTF-8 is refused");
        assert!(parse("x=%C3").is_none());
    }
}
