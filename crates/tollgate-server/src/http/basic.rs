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

/// Decoded Basic credentials: `name:password`, split at the first colon
/// (the password may hold colons), kept in the one decoded buffer.
pub struct BasicCredentials {
    decoded: String,
    colon: usize,
}

impl BasicCredentials {
    pub fn name(&self) -> &str {
        &self.decoded[..self.colon]
    }

    pub fn password(&self) -> &str {
        &self.decoded[self.colon + 1..]
    }
}

/// The credentials in base64 `name:password`; `None` unless it is valid
/// base64 of UTF-8 with a colon.
pub fn decode(encoded: &str) -> Option<BasicCredentials> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let colon = decoded.find(':')?;
    Some(BasicCredentials { decoded, colon })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(encoded: &str) -> Option<(String, String)> {
        super::decode(encoded).map(|c| (c.name().to_owned(), c.password().to_owned()))
    }

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
