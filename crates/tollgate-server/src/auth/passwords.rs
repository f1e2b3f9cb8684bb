//! Human passwords: argon2id hashing, and the check every Basic request runs.
//!
//! Hashes use the argon2 crate's OWASP-recommended parameters (19 MiB, two
//! passes). Verification is bounded: at most one argon2id computation per
//! core runs at once, each in a memory buffer kept for reuse, so a burst of
//! logins (or of password guesses) costs CPU time, never hundreds of
//! megabytes of memory. An unknown account is verified against a dummy hash,
//! so response time does not reveal which e-mails exist.
//! This module never logs or returns a password.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::cache::ExpiringCache;
use crate::clock::Clock;
use crate::store::UserRecord;

/// Hashes a password with argon2id and a fresh random salt (PHC string).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// Verifies a password against a stored hash, or against a dummy hash when
/// the account does not exist (so both cases cost the same), computing in
/// `memory`, which grows to the size the hash asks for.
pub fn verify_password(stored_hash: Option<&str>, password: &str, memory: &mut Vec<Block>) -> bool {
    let hash = stored_hash.unwrap_or_else(|| dummy_hash());
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    recompute_matches(&parsed, password.as_bytes(), memory).unwrap_or(false)
        && stored_hash.is_some()
}

/// Recomputes `hash` for `password` with the hash's own algorithm, version,
/// parameters and salt, and compares the outputs in constant time.
fn recompute_matches(
    hash: &PasswordHash<'_>,
    password: &[u8],
    memory: &mut Vec<Block>,
) -> Option<bool> {
    let expected = hash.hash?;
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(hash).ok()?;
    let mut salt = [0u8; 64];
    let salt = hash.salt?.decode_b64(&mut salt).ok()?;
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut output = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut output, &mut memory[..])
        .ok()?;
    Some(output.ct_eq(expected.as_bytes()).into())
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&crate::secrets::random_secret(24)).unwrap_or_default())
}

/// How long a verified password is remembered (seconds), and how many are.
const VERIFIED_PASSWORD_TTL: i64 = 60;
const VERIFIED_PASSWORD_CAPACITY: usize = 10_000;

/// Verifies passwords, remembering correct ones briefly so that a client
/// repeating its Basic credentials does not pay argon2id on every request.
///
/// The cache key is a keyed SHA-256 of e-mail and password (the key is
/// random per process and never leaves it); the value is the argon2id hash
/// the password was verified against. A hit counts only if the account's
/// stored hash is still that hash, so a changed password or a deleted
/// account is refused at once, on every node. A wrong password never hits
/// and always pays the full verification.
pub struct PasswordCheck {
    key: [u8; 32],
    verified: ExpiringCache<[u8; 32], String>,
    /// One permit per argon2id computation allowed at once. A computation
    /// holds its permit until it ends, even when the request that started
    /// it is gone (a client that disconnects cannot free its share early).
    permits: Arc<Semaphore>,
    /// Buffers of finished computations, reused by the next ones.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    /// Computations running now, and the most ever seen at once.
    running: Arc<Concurrency>,
}

/// A count of computations running at once, with its high-water mark.
#[derive(Debug, Default)]
struct Concurrency {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// One computation counted in [`Concurrency`] until it is dropped.
struct Running(Arc<Concurrency>);

impl Running {
    fn enter(concurrency: Arc<Concurrency>) -> Self {
        let now = concurrency.now.fetch_add(1, Ordering::SeqCst) + 1;
        concurrency.peak.fetch_max(now, Ordering::SeqCst);
        Running(concurrency)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PasswordCheck {
    /// A check that remembers correct passwords by `clock`, and runs at most
    /// one argon2id computation per core at once.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            key,
            verified: ExpiringCache::new(VERIFIED_PASSWORD_CAPACITY, VERIFIED_PASSWORD_TTL, clock),
            permits: Arc::new(Semaphore::new(cores)),
            memory: Arc::new(Mutex::new(Vec::new())),
            running: Arc::default(),
        }
    }

    /// Whether `password` is the password of `user` (`None`: unknown account,
    /// verified against a dummy hash so that both cost the same).
    pub async fn verify(&self, email: &str, user: Option<&UserRecord>, password: &str) -> bool {
        let cache_key = self.cache_key(email, password);
        if self.remembered(&cache_key, user) {
            return true;
        }
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return false;
        };
        // Requests that queued behind the first one with the same
        // credentials find its result here instead of recomputing it.
        if self.remembered(&cache_key, user) {
            return true;
        }
        let stored_hash = user.map(|u| u.password_hash.clone());
        let candidate = password.to_owned();
        let hash_for_check = stored_hash.clone();
        let buffers = self.memory.clone();
        let running = self.running.clone();
        // argon2id is CPU-heavy: keep it off the async workers. The permit
        // and the buffer travel with the computation and come back when it
        // ends, whether or not this request is still waiting for it.
        let outcome = tokio::task::spawn_blocking(move || {
            let counted = Running::enter(running);
            let mut memory = buffers
                .lock()
                .ok()
                .and_then(|mut m| m.pop())
                .unwrap_or_default();
            let valid = verify_password(hash_for_check.as_deref(), &candidate, &mut memory);
            if let Ok(mut buffers) = buffers.lock() {
                buffers.push(memory);
            }
            // Counted out before the permit lets the next one in.
            drop(counted);
            drop(permit);
            valid
        })
        .await;
        let valid = outcome.unwrap_or(false);
        match (valid, stored_hash) {
            (true, Some(hash)) => self.verified.insert(cache_key, hash),
            _ => self.verified.remove(&cache_key),
        }
        valid
    }

    /// The most argon2id computations that ever ran at once in this
    /// process: never more than the bound (one per core).
    pub fn peak_concurrent_verifications(&self) -> usize {
        self.running.peak.load(Ordering::SeqCst)
    }

    /// The argon2id computations running now.
    pub fn running_verifications(&self) -> usize {
        self.running.now.load(Ordering::SeqCst)
    }

    fn remembered(&self, cache_key: &[u8; 32], user: Option<&UserRecord>) -> bool {
        user.is_some_and(|user| {
            self.verified.get(cache_key).as_deref() == Some(user.password_hash.as_str())
        })
    }

    fn cache_key(&self, email: &str, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update((email.len() as u64).to_be_bytes());
        hasher.update(email.as_bytes());
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_wrong_passwords_fail() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let mut memory = Vec::new();
        assert!(verify_password(Some(&hash), "correct horse", &mut memory));
        assert!(!verify_password(Some(&hash), "wrong", &mut memory));
        assert!(!verify_password(None, "correct horse", &mut memory));
        assert!(!verify_password(Some("not a phc string"), "x", &mut memory));
    }

    #[test]
    fn hashes_with_other_parameters_verify_in_reused_memory() {
        let params = Params::new(8 * 1024, 3, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let small = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
        let default = hash_password("pw").unwrap();
        let mut memory = Vec::new();
        assert!(verify_password(Some(&default), "pw", &mut memory));
        assert!(verify_password(Some(&small), "pw", &mut memory));
        assert!(!verify_password(Some(&small), "pW", &mut memory));
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default())
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password(Some(&argon2i), "pw", &mut memory));
    }
}
