//! The console's session cookie: `HttpOnly` (no script reads it),
//! `SameSite=Strict` (no other site's page sends it), `Path=/` (the APIs
//! are called with it), no expiry (it goes with the browser; the server
//! ends the session earlier), and, when Tollgate is reached over HTTPS,
//! `Secure` with the `__Host-` prefix, which also pins it to this host.

use axum::http::{HeaderMap, HeaderValue, header};

/// The cookie's name over plain HTTP.
const PLAIN_NAME: &str = "tollgate_session";

/// The cookie's name over HTTPS.
const SECURE_NAME: &str = "__Host-tollgate_session";

/// The session secret the request's cookies carry, if any: under this
/// deployment's cookie name only (over HTTPS the `__Host-` one, which no
/// other host and no plain-HTTP answer can set), exactly once, and 43
/// base64url characters, as [`crate::secrets::random_secret`] makes them.
pub(crate) fn session_secret(headers: &HeaderMap, secure: bool) -> Option<&str> {
    let wanted = name(secure);
    let mut values = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == wanted)
        .map(|(_, value)| value);
    let value = values.next()?;
    let well_formed = value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (well_formed && values.next().is_none()).then_some(value)
}

/// `Set-Cookie` for a new session.
pub(super) fn set(secret: &str, secure: bool) -> HeaderValue {
    header_value(&format!(
        "{}={secret}; Path=/; HttpOnly; SameSite=Strict{}",
        name(secure),
        if secure { "; Secure" } else { "" }
    ))
}

/// `Set-Cookie` that removes the session cookie.
pub(super) fn clear(secure: bool) -> HeaderValue {
    header_value(&format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        name(secure),
        if secure { "; Secure" } else { "" }
    ))
}

fn name(secure: bool) -> &'static str {
    if secure { SECURE_NAME } else { PLAIN_NAME }
}

/// The cookie's text is ASCII made here (the secret is base64url).
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_secret_is_found_among_other_cookies() {
        let secret = "a".repeat(43);
        let headers = with_cookie(&format!("theme=dark; tollgate_session={secret}; x=1"));
        assert_eq!(session_secret(&headers, false), Some(secret.as_str()));
        let headers = with_cookie(&format!("__Host-tollgate_session={secret}"));
        assert_eq!(session_secret(&headers, true), Some(secret.as_str()));
    }

    #[test]
    fn anything_else_is_no_secret() {
        let secret = "a".repeat(43);
        for cookie in [
            "tollgate_session=",
            "tollgate_session=short",
            &format!("tollgate_session={}", "a".repeat(44)),
            &format!("tollgate_session={}%", "a".repeat(42)),
            &format!("other_session={secret}"),
            // Twice: one of them was planted.
            &format!(
                "tollgate_session={secret}; tollgate_session={}",
                "b".repeat(43)
            ),
        ] {
            assert_eq!(
                session_secret(&with_cookie(cookie), false),
                None,
                "{cookie}"
            );
        }
        assert_eq!(session_secret(&HeaderMap::new(), false), None);
        // Over HTTPS only the __Host- cookie counts, which no other host can set.
        let plain = with_cookie(&format!("tollgate_session={secret}"));
        assert_eq!(session_secret(&plain, true), None);
        let secure = with_cookie(&format!("__Host-tollgate_session={secret}"));
        assert_eq!(session_secret(&secure, false), None);
    }

    #[test]
    fn the_cookie_is_http_only_and_strict_and_secure_over_https() {
        let plain = set("s", false);
        assert_eq!(
            plain,
            "tollgate_session=s; Path=/; HttpOnly; SameSite=Strict"
        );
        let secure = set("s", true);
        assert_eq!(
            secure,
            "__Host-tollgate_session=s; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(clear(false).to_str().unwrap().contains("Max-Age=0"));
    }
}
