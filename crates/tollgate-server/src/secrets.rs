//! Secrets this service generates, and their digests.
//!
//! Generated secrets come from the operating system's CSPRNG. A registry
//! token password carries 256 random bits and is stored only as its SHA-256
//! digest; a presented password is compared with the stored digest in
//! constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// `bytes` random bytes, base64url without padding.
pub fn random_secret(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A new registry token password: 256 random bits, 43 characters.
pub fn registry_token_password() -> String {
    random_secret(32)
}

/// Lower-case hex SHA-256 of a secret.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// What a refresh token carries of the credential it was issued for: a
/// one-way fingerprint of the password's stored digest (domain-separated,
/// so it is never the digest itself). A new password, or a token re-created
/// under the same id, has another fingerprint, which ends every refresh
/// token issued before.
pub fn credential_fingerprint(password_digest: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"tollgate refresh token credential\0");
    hasher.update(password_digest.as_bytes());
    hex(&hasher.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_random_and_digests_are_hex() {
        let a = registry_token_password();
        let b = registry_token_password();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        let d = digest(&a);
        assert_eq!(d.len(), 64);
        assert!(
            d.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
