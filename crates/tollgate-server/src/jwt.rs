//! Compact JWS with ES256 only: encoding, and strict parsing and verification.
//!
//! The algorithm is pinned: a header whose `alg` is anything but `ES256`
//! (`none`, `HS256`, `RS256`...) is refused before any key is touched.
//! Base64url must be unpadded and canonical; signatures are exactly 64 bytes.
//! Claim rules (issuer, expiry, revocation) belong to the caller.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys::{Key, KeyRing};

/// Tokens longer than this are refused unparsed.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Why a compact JWS was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts, or a part is not the JSON it must be.
    Malformed,
    /// The header names an algorithm other than ES256.
    Algorithm(String),
    /// No key of the ring verifies the signature.
    BadSignature,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Malformed => f.write_str("the token is not a well-formed JWT"),
            JwtError::Algorithm(alg) => {
                write!(f, "the token must be signed with ES256, not {alg:?}")
            }
            JwtError::BadSignature => f.write_str("the token's signature is not valid"),
        }
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

#[derive(serde::Deserialize)]
struct ParsedHeader {
    alg: String,
    kid: Option<String>,
}

/// Signs `claims` with `key`; the header carries `kid`.
pub fn encode(key: &Key, kid: &str, claims: &impl Serialize) -> String {
    let header = serde_json::to_vec(&Header {
        alg: "ES256",
        typ: "JWT",
        kid,
    })
    .unwrap_or_default();
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let mut token = String::with_capacity(512);
    token.push_str(&URL_SAFE_NO_PAD.encode(header));
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

/// A token whose signature was checked, with its header `kid` and its claims.
#[derive(Debug, Clone)]
pub struct Verified<C> {
    pub kid: String,
    pub claims: C,
}

/// Parses, pins the algorithm, verifies the signature against `keys`, then
/// decodes the claims. Nothing of the payload is trusted before the signature holds.
pub async fn decode<C: DeserializeOwned>(
    token: &str,
    keys: &KeyRing,
) -> Result<Verified<C>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: ParsedHeader =
        serde_json::from_slice(&b64(header_b64)?).map_err(|_| JwtError::Malformed)?;
    if header.alg != "ES256" {
        return Err(JwtError::Algorithm(header.alg.chars().take(16).collect()));
    }
    let kid = header.kid.ok_or(JwtError::Malformed)?;
    let signature = b64(signature_b64)?;
    if signature.len() != 64 {
        return Err(JwtError::BadSignature);
    }
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    keys.verifying_key(signing_input.as_bytes(), &signature)
        .await
        .ok_or(JwtError::BadSignature)?;
    let claims = serde_json::from_slice(&b64(payload_b64)?).map_err(|_| JwtError::Malformed)?;
    Ok(Verified { kid, claims })
}

/// Strict base64url: no padding, no stray characters, canonical trailing bits.
fn b64(part: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)
}
