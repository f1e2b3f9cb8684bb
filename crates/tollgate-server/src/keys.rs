//! Signing keys: generation, storage, selection, and publication as a JWKS.
//!
//! Keys are ECDSA P-256 (ES256). They live in the store, so every restart and
//! every node signs and verifies with the same keys. Each key's id is its
//! RFC 7638 JWK thumbprint. A node that meets a signature none of its keys
//! verifies reloads the key set from the store (at most every few seconds),
//! so keys added by another node are picked up without a restart.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey, signature::Signer, signature::Verifier};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rand_core::OsRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::store::{SigningKeyRecord, Store};

/// The purpose of the keys that sign Auth API tokens.
pub const AUTH_KEYS: &str = "auth";

/// How often a node may reload keys because of an unknown signature.
const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// One ES256 key pair with its id and public JWK.
pub struct Key {
    id: String,
    signing: SigningKey,
    verifying: VerifyingKey,
    jwk: Value,
}

impl Key {
    fn generate() -> Key {
        Key::from_signing(SigningKey::random(&mut OsRng))
    }

    fn from_record(record: &SigningKeyRecord) -> anyhow::Result<Key> {
        let signing = SigningKey::from_pkcs8_pem(&record.private_key_pem).map_err(|e| {
            anyhow::anyhow!("signing key {} in the store is unreadable: {e}", record.id)
        })?;
        Ok(Key::from_signing(signing))
    }

    fn from_signing(signing: SigningKey) -> Key {
        let verifying = *signing.verifying_key();
        // Uncompressed SEC1: 0x04 || x (32 bytes) || y (32 bytes).
        let point = verifying.to_encoded_point(false);
        let (x, y) = point.as_bytes()[1..].split_at(32);
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        // RFC 7638: the members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let id = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": id, "alg": "ES256", "use": "sig"});
        Key {
            id,
            signing,
            verifying,
            jwk,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The public key as a JWK with `kid`, `alg` and `use`.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// Signs with ES256: SHA-256, deterministic nonce, 64-byte `r || s`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let signature: Signature = self.signing.sign(message);
        signature.to_bytes().into()
    }

    /// Verifies a 64-byte `r || s` ES256 signature.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature)
            .map(|sig| self.verifying.verify(message, &sig).is_ok())
            .unwrap_or(false)
    }
}

/// The keys of one purpose, shared by every request.
pub struct KeyRing {
    store: Store,
    purpose: &'static str,
    keys: RwLock<Arc<Vec<Arc<Key>>>>,
    last_reload: Mutex<Instant>,
}

impl KeyRing {
    /// Loads the purpose's keys, creating the first one on an empty store.
    pub async fn load_or_create(
        store: &Store,
        purpose: &'static str,
        now: i64,
    ) -> anyhow::Result<KeyRing> {
        if store.signing_keys(purpose).await?.is_empty() {
            let key = Key::generate();
            let pem = key
                .signing
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| anyhow::anyhow!("cannot encode a new signing key: {e}"))?;
            store
                .insert_signing_key(&SigningKeyRecord {
                    id: key.id.clone(),
                    purpose: purpose.to_owned(),
                    private_key_pem: pem.to_string(),
                    created_at: now,
                })
                .await?;
        }
        let keys = Self::read(store, purpose).await?;
        Ok(KeyRing {
            store: store.clone(),
            purpose,
            keys: RwLock::new(Arc::new(keys)),
            last_reload: Mutex::new(Instant::now()),
        })
    }

    /// Reads the purpose's keys; never answers an empty set.
    async fn read(store: &Store, purpose: &str) -> anyhow::Result<Vec<Arc<Key>>> {
        let keys = store
            .signing_keys(purpose)
            .await?
            .iter()
            .map(|r| Key::from_record(r).map(Arc::new))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!keys.is_empty(), "the store holds no {purpose} signing key");
        Ok(keys)
    }

    fn snapshot(&self) -> Arc<Vec<Arc<Key>>> {
        match self.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key that signs new tokens: the oldest, so that every node agrees.
    pub fn active(&self) -> Arc<Key> {
        // `read` never yields an empty set, so the ring always has a first key.
        self.snapshot()[0].clone()
    }

    /// The key among the ring's that verifies `signature` over `message`.
    /// On a miss it reloads the ring from the store, at most every few seconds.
    pub async fn verifying_key(&self, message: &[u8], signature: &[u8]) -> Option<Arc<Key>> {
        let find = |keys: &[Arc<Key>]| keys.iter().find(|k| k.verify(message, signature)).cloned();
        if let Some(key) = find(&self.snapshot()) {
            return Some(key);
        }
        if !self.may_reload() {
            return None;
        }
        match Self::read(&self.store, self.purpose).await {
            Ok(keys) => {
                let found = find(&keys);
                if let Ok(mut slot) = self.keys.write() {
                    *slot = Arc::new(keys);
                }
                found
            }
            Err(e) => {
                tracing::warn!("cannot reload signing keys: {e}");
                None
            }
        }
    }

    fn may_reload(&self) -> bool {
        let Ok(mut last) = self.last_reload.lock() else {
            return false;
        };
        if last.elapsed() < RELOAD_INTERVAL {
            return false;
        }
        *last = Instant::now();
        true
    }

    /// `{"keys": [JWK, ...]}` for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.snapshot().iter().map(|k| k.jwk.clone()).collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_with_their_key_and_message() {
        let a = Key::generate();
        let b = Key::generate();
        let sig = a.sign(b"message");
        assert!(a.verify(b"message", &sig));
        assert!(!a.verify(b"other", &sig));
        assert!(!b.verify(b"message", &sig));
        assert!(!a.verify(b"message", &sig[..63]));
    }

    #[test]
    fn key_id_is_the_jwk_thumbprint_and_survives_pem() {
        let key = Key::generate();
        assert_eq!(key.id.len(), 43);
        let pem = key.signing.to_pkcs8_pem(LineEnding::LF).unwrap();
        let record = SigningKeyRecord {
            id: key.id.clone(),
            purpose: AUTH_KEYS.into(),
            private_key_pem: pem.to_string(),
            created_at: 0,
        };
        let again = Key::from_record(&record).unwrap();
        assert_eq!(again.id, key.id);
        assert_eq!(again.jwk["alg"], "ES256");
    }
}
