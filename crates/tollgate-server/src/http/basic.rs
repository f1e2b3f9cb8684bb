//! Basic credentials (`Authorization: Basic base64(name:password)`), read
//! the same way for every surface; each surface words its own refusal.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The scheme and the credentials of an `Authorization` value
/// (`Basic abc=` -> `("Basic", "abc=")`), the credentials trimmed.
pub fn split_authorization(value: &str) -> Option<(&str, &str)> {
    value
        .split_once(' ')
        .map(|(scheme, credentials)| (scheme, credentials.trim()))
}

/// The name and password in base64 `name:password` (the password may hold
/// colons); `None` unless it is valid base64 of UTF-8 with a colon.
pub fn decode(encoded: &str) -> Option<(String, String)> {
    let decoded = STANDARD.decode(encoded).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (name, password) = decoded.split_once(':')?;
    Some((name.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_decode_or_are_refused() {
        assert_eq!(
            decode(&STANDARD.encode("ci:pa:ss")),
            Some(("ci".into(), "pa:ss".into()))
        );
        assert_eq!(decode("!!!"), None);
        assert_eq!(decode(&STANDARD.encode("no colon")), None);
        assert_eq!(decode(&STANDARD.encode([0xff, 0xfe, b':'])), None);
        assert_eq!(split_authorization("Basic  abc "), Some(("Basic", "abc")));
        assert_eq!(split_authorization("Basic"), None);
    }
}
