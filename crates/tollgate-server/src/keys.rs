//! Signing keys: generation, storage, selection, rotation, and publication
//! as a JWKS (Auth API) or a certificate bundle (registries).
//!
//! Keys are ECDSA P-256 (ES256) and live in the store, so every restart and
//! every node signs and verifies with the same keys. Each key has two ids:
//! its RFC 7638 JWK thumbprint (the store's id, the JWKS `kid`) and its
//! libtrust key id (the `kid` Distribution matches against `rootcertbundle`).
//!
//! Lifecycle: *next* keys are published but do not sign; the *current* key
//! is the most recently activated one and signs; *retired* keys only verify,
//! and are deleted once nothing they signed can still be live. Rotation is
//! by hand (`tollgate admin keys rotate`) or on a schedule
//! (`--key-rotation-days`).
//! A node reloads its keys periodically and whenever a signature matches
//! none of them (at most every few seconds), so rotations and keys added by
//! other nodes are picked up without a restart.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey, signature::Signer};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rand_core::OsRng;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, UnparsedPublicKey,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use crate::clock::Clock;
use crate::store::{KeyRotation, SigningKeyRecord, Store};

/// The purpose of the keys that sign Auth API tokens.
pub const AUTH_KEYS: &str = "auth";

/// The purpose of the keys that sign registry tokens (with a published next key).
pub const REGISTRY_KEYS: &str = "registry";

/// How often a node may reload keys because of an unknown signature (seconds).
const RELOAD_INTERVAL: i64 = 5;

/// How long the self-signed certificate of a key is valid.
const CERTIFICATE_YEARS: u64 = 20;

/// One ES256 key pair with its ids, public JWK and certificate.
///
/// Signing and verification on request paths use ring (assembly, precomputed
/// tables: several times faster); the RustCrypto key derives the ids and the
/// certificate at load time and signs if ring's random source ever fails.
pub struct Key {
    id: String,
    libtrust_id: String,
    signing: SigningKey,
    fast_signing: EcdsaKeyPair,
    fast_verifying: UnparsedPublicKey<Vec<u8>>,
    jwk: Value,
    certificate_pem: String,
    activated_at: Option<i64>,
    retired_at: Option<i64>,
}

impl Key {
    /// A fresh key as a record to store.
    fn generate_record(
        purpose: &str,
        now: i64,
        activated: bool,
    ) -> anyhow::Result<SigningKeyRecord> {
        let signing = SigningKey::random(&mut OsRng);
        let pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| anyhow::anyhow!("cannot encode a new signing key: {e}"))?;
        Ok(SigningKeyRecord {
            id: jwk_thumbprint(signing.verifying_key()).1,
            purpose: purpose.to_owned(),
            private_key_pem: pem.to_string(),
            created_at: now,
            activated_at: activated.then_some(now),
            retired_at: None,
        })
    }

    fn from_record(record: &SigningKeyRecord) -> anyhow::Result<Key> {
        let signing = SigningKey::from_pkcs8_pem(&record.private_key_pem).map_err(|e| {
            anyhow::anyhow!("signing key {} in the store is unreadable: {e}", record.id)
        })?;
        let verifying = *signing.verifying_key();
        let (jwk, id) = jwk_thumbprint(&verifying);
        let libtrust_id = libtrust_key_id(&verifying)?;
        let certificate_pem = self_signed_certificate(&signing, &libtrust_id, record.created_at)?;
        let pkcs8 = signing
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("cannot encode signing key {}: {e}", record.id))?;
        let fast_signing = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8.as_bytes(),
            &SystemRandom::new(),
        )
        .map_err(|e| anyhow::anyhow!("signing key {} is not a usable P-256 key: {e}", record.id))?;
        let fast_verifying = UnparsedPublicKey::new(
            &ECDSA_P256_SHA256_FIXED,
            verifying.to_encoded_point(false).as_bytes().to_vec(),
        );
        Ok(Key {
            id,
            libtrust_id,
            signing,
            fast_signing,
            fast_verifying,
            jwk,
            certificate_pem,
            activated_at: record.activated_at,
            retired_at: record.retired_at,
        })
    }

    /// The JWK thumbprint: the store's id and the JWKS `kid`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The libtrust key id Distribution derives from the certificate's key.
    pub fn libtrust_id(&self) -> &str {
        &self.libtrust_id
    }

    /// Signs with ES256 (SHA-256, 64-byte `r || s`).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        match self.fast_signing.sign(&SystemRandom::new(), message) {
            Ok(signature) if signature.as_ref().len() == 64 => {
                out.copy_from_slice(signature.as_ref())
            }
            _ => {
                let signature: Signature = self.signing.sign(message);
                out.copy_from_slice(&signature.to_bytes());
            }
        }
        out
    }

    /// Verifies a 64-byte `r || s` ES256 signature.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        signature.len() == 64 && self.fast_verifying.verify(message, signature).is_ok()
    }

    fn is_current_candidate(&self) -> bool {
        self.activated_at.is_some() && self.retired_at.is_none()
    }
}

/// The public JWK (with `kid`, `alg`, `use`) and its RFC 7638 thumbprint.
fn jwk_thumbprint(key: &VerifyingKey) -> (Value, String) {
    // Uncompressed SEC1: 0x04 || x (32 bytes) || y (32 bytes).
    let point = key.to_encoded_point(false);
    let (x, y) = point.as_bytes()[1..].split_at(32);
    let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
    // RFC 7638: the members in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let id = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": id, "alg": "ES256", "use": "sig"});
    (jwk, id)
}

/// libtrust's key id: SHA-256 of the DER SubjectPublicKeyInfo, first 30
/// bytes, base32 (RFC 4648, unpadded), in twelve groups of four joined by `:`.
fn libtrust_key_id(key: &VerifyingKey) -> anyhow::Result<String> {
    let der = key
        .to_public_key_der()
        .map_err(|e| anyhow::anyhow!("cannot encode a public key: {e}"))?;
    let digest = Sha256::digest(der.as_bytes());
    let encoded = base32(&digest[..30]);
    let groups: Vec<&str> = (0..encoded.len())
        .step_by(4)
        .map(|i| &encoded[i..i + 4])
        .collect();
    Ok(groups.join(":"))
}

/// RFC 4648 base32 without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A self-signed certificate for the key, deterministic for a given key and
/// creation time, for registries' `rootcertbundle`.
fn self_signed_certificate(
    signing: &SigningKey,
    libtrust_id: &str,
    created_at: i64,
) -> anyhow::Result<String> {
    let fail = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("cannot build the certificate of key {libtrust_id}: {e}")
    };
    let not_before = UNIX_EPOCH + Duration::from_secs(created_at.max(0) as u64);
    let not_after = not_before + Duration::from_secs(CERTIFICATE_YEARS * 365 * 24 * 3600);
    let validity = Validity {
        not_before: Time::try_from(not_before).map_err(|e| fail(&e))?,
        not_after: Time::try_from(not_after).map_err(|e| fail(&e))?,
    };
    let subject: Name = format!("CN=tollgate token signer {}", libtrust_id.replace(':', ""))
        .parse()
        .map_err(|e| fail(&e))?;
    let spki =
        SubjectPublicKeyInfoOwned::from_key(*signing.verifying_key()).map_err(|e| fail(&e))?;
    let serial =
        SerialNumber::new(&Sha256::digest(libtrust_id.as_bytes())[..16]).map_err(|e| fail(&e))?;
    let builder = CertificateBuilder::new(Profile::Root, serial, validity, subject, spki, signing)
        .map_err(|e| fail(&e))?;
    let certificate = builder
        .build::<p256::ecdsa::DerSignature>()
        .map_err(|e| fail(&e))?;
    certificate.to_pem(LineEnding::LF).map_err(|e| fail(&e))
}

/// The keys of one purpose, shared by every request.
pub struct KeyRing {
    store: Store,
    purpose: &'static str,
    keys: RwLock<Arc<Vec<Arc<Key>>>>,
    clock: Arc<dyn Clock>,
    /// When the keys were last read, by `clock`.
    last_reload: Mutex<i64>,
}

impl KeyRing {
    /// Loads the purpose's keys, creating a current key on an empty store and,
    /// when `with_next`, a published next key too.
    pub async fn load_or_create(
        store: &Store,
        purpose: &'static str,
        with_next: bool,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<KeyRing> {
        let now = clock.now();
        let records = store.signing_keys(purpose).await?;
        if !records
            .iter()
            .any(|r| r.activated_at.is_some() && r.retired_at.is_none())
        {
            store
                .insert_signing_key(&Key::generate_record(purpose, now, true)?)
                .await?;
        }
        if with_next && !records.iter().any(|r| r.activated_at.is_none()) {
            store
                .insert_signing_key(&Key::generate_record(purpose, now, false)?)
                .await?;
        }
        let keys = Self::read(store, purpose).await?;
        Ok(KeyRing {
            store: store.clone(),
            purpose,
            keys: RwLock::new(Arc::new(keys)),
            clock,
            last_reload: Mutex::new(now),
        })
    }

    /// Reads the purpose's keys; never answers a set without a current key.
    async fn read(store: &Store, purpose: &str) -> anyhow::Result<Vec<Arc<Key>>> {
        let keys = store
            .signing_keys(purpose)
            .await?
            .iter()
            .map(|r| Key::from_record(r).map(Arc::new))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(
            keys.iter().any(|k| k.is_current_candidate()),
            "the store holds no current {purpose} signing key"
        );
        Ok(keys)
    }

    /// Re-reads the keys from the store (after a rotation, say).
    pub async fn reload(&self) -> anyhow::Result<()> {
        let keys = Self::read(&self.store, self.purpose).await?;
        if let Ok(mut slot) = self.keys.write() {
            *slot = Arc::new(keys);
        }
        Ok(())
    }

    fn snapshot(&self) -> Arc<Vec<Arc<Key>>> {
        match self.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key that signs: the most recently activated one that is not
    /// retired (ties broken by id, so that every node agrees).
    pub fn active(&self) -> Arc<Key> {
        let keys = self.snapshot();
        let current = keys
            .iter()
            .filter(|k| k.is_current_candidate())
            .max_by(|a, b| (a.activated_at, &a.id).cmp(&(b.activated_at, &b.id)));
        // `read` guarantees a current key, so the fallback is never taken.
        current.unwrap_or(&keys[0]).clone()
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
        match self.reload().await {
            Ok(()) => find(&self.snapshot()),
            Err(e) => {
                tracing::warn!("cannot reload {} signing keys: {e}", self.purpose);
                None
            }
        }
    }

    fn may_reload(&self) -> bool {
        let Ok(mut last) = self.last_reload.lock() else {
            return false;
        };
        let now = self.clock.now();
        if now - *last < RELOAD_INTERVAL {
            return false;
        }
        *last = now;
        true
    }

    /// Rotates this purpose's keys if the current one is `days` old (by
    /// this node or another: the store rotates once), then reloads them.
    /// True when this call rotated.
    pub async fn rotate_if_older_than(&self, days: u32) -> anyhow::Result<bool> {
        let now = self.clock.now();
        let rotated = rotate_if_due(
            &self.store,
            self.purpose,
            now - i64::from(days) * 86_400,
            now,
        )
        .await?;
        if rotated {
            self.reload().await?;
        }
        Ok(rotated)
    }

    /// The purpose of these keys ([`AUTH_KEYS`] or [`REGISTRY_KEYS`]).
    pub fn purpose(&self) -> &'static str {
        self.purpose
    }

    /// `{"keys": [JWK, ...]}` of every key: the current one, a published
    /// next one, and retired ones, which are kept only while what they
    /// signed may still be live.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.snapshot().iter().map(|k| k.jwk.clone()).collect();
        json!({ "keys": keys })
    }

    /// The PEM certificates of the current and next keys, current first.
    pub fn certificate_bundle(&self) -> String {
        let keys = self.snapshot();
        let mut published: Vec<&Arc<Key>> =
            keys.iter().filter(|k| k.retired_at.is_none()).collect();
        published.sort_by_key(|k| (k.activated_at.is_none(), k.activated_at, k.id.clone()));
        published
            .iter()
            .map(|k| k.certificate_pem.as_str())
            .collect()
    }
}

/// The libtrust key id of a stored key (for listings).
pub fn libtrust_id_of_record(record: &SigningKeyRecord) -> anyhow::Result<String> {
    Ok(Key::from_record(record)?.libtrust_id)
}

/// How long after it retires a key of `purpose` may still verify a live
/// credential: the longest lifetime of what it signs (a year for access
/// tokens, an hour for registry JWTs).
fn verifies_for_after_retiring(purpose: &str) -> i64 {
    match purpose {
        AUTH_KEYS => i64::from(tollgate_api::auth::Ttl::MAX),
        _ => MAX_REGISTRY_TOKEN_TTL,
    }
}

/// The longest lifetime of a registry JWT, in seconds.
pub const MAX_REGISTRY_TOKEN_TTL: i64 = 3600;

/// Rotates one purpose's keys now (by hand): see [`rotate_if_due`].
pub async fn rotate(store: &Store, purpose: &str, now: i64) -> anyhow::Result<()> {
    rotate_if_due(store, purpose, now, now).await?;
    Ok(())
}

/// Rotates one purpose's keys if its current key was activated at or
/// before `due`: the next key becomes current (registries given the
/// certificate bundle already trust it), the current key retires and
/// verifies what it signed until that can no longer be live, and a new
/// next key is published (for registry keys). Nodes rotating at once
/// rotate once. Running nodes pick the change up on their next reload.
pub async fn rotate_if_due(
    store: &Store,
    purpose: &str,
    due: i64,
    now: i64,
) -> anyhow::Result<bool> {
    let spare = Key::generate_record(purpose, now, false)?;
    let next = match purpose {
        REGISTRY_KEYS => Some(Key::generate_record(purpose, now, false)?),
        _ => None,
    };
    Ok(store
        .rotate_signing_keys(&KeyRotation {
            purpose,
            now,
            due,
            spare: &spare,
            new_next: next.as_ref(),
            forget_retired_before: now - verifies_for_after_retiring(purpose),
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(activated: bool) -> Key {
        Key::from_record(&Key::generate_record(AUTH_KEYS, 1_795_700_700, activated).unwrap())
            .unwrap()
    }

    #[test]
    fn signatures_verify_only_with_their_key_and_message() {
        let (a, b) = (key(true), key(true));
        let sig = a.sign(b"message");
        assert!(a.verify(b"message", &sig));
        assert!(!a.verify(b"other", &sig));
        assert!(!b.verify(b"message", &sig));
        assert!(!a.verify(b"message", &sig[..63]));
    }

    #[test]
    fn ids_have_the_documented_shapes() {
        let key = key(false);
        assert_eq!(key.id.len(), 43);
        assert_eq!(key.jwk["alg"], "ES256");
        let groups: Vec<&str> = key.libtrust_id.split(':').collect();
        assert_eq!(groups.len(), 12);
        assert!(groups.iter().all(|g| {
            g.len() == 4
                && g.bytes()
                    .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c))
        }));
    }

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"fo"), "MZXQ");
        assert_eq!(base32(b"foo"), "MZXW6");
        assert_eq!(base32(b"foob"), "MZXW6YQ");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn certificates_are_deterministic_pem() {
        let record = Key::generate_record(REGISTRY_KEYS, 1_795_700_700, true).unwrap();
        let a = Key::from_record(&record).unwrap();
        let b = Key::from_record(&record).unwrap();
        assert!(a.certificate_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(a.certificate_pem, b.certificate_pem);
    }
}
