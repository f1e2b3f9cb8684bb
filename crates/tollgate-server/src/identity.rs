//! Accounts: roles, privileges, password hashing and the first owner account.
//!
//! Human passwords are hashed with argon2id (the crate's OWASP-recommended
//! parameters). Verification of an unknown account still pays one argon2id
//! verification, so response time does not reveal which e-mails exist.
//! This module never logs or returns a password it did not generate.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand_core::{OsRng, RngCore};

use sha2::{Digest, Sha256};

use crate::cache::ExpiringCache;
use crate::store::{Membership, NewUser, Store, StoreError, UserRecord};

/// A member's role in a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(format!("unknown role {other:?}: use owner, admin or user")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The privilege that lets a plain user manage container registries.
pub const MANAGE_REGISTRIES: &str = "accessAndManageRegistries";

/// Every privilege this service knows.
pub const PRIVILEGES: &[&str] = &[MANAGE_REGISTRIES];

/// Lower-cases and trims an e-mail so that lookups are case-insensitive.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks the minimal shape of an e-mail address used as a login name.
pub fn validate_email(email: &str) -> Result<(), String> {
    let ok = email.len() <= 254
        && !email.contains([':', ' ', '\t', '\r', '\n'])
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{email:?} is not an e-mail address usable as a login (name@domain, no colon or spaces)"
        ))
    }
}

/// Hashes a password with argon2id and a fresh random salt (PHC string).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// Verifies a password against a stored hash, or against a dummy hash when
/// the account does not exist, so both cases cost the same.
pub fn verify_password(stored_hash: Option<&str>, password: &str) -> bool {
    let hash = stored_hash.unwrap_or_else(|| dummy_hash());
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let valid = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    valid && stored_hash.is_some()
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&generate_secret()).unwrap_or_default())
}

/// How long a verified password is remembered, and how many are.
const VERIFIED_PASSWORD_TTL: std::time::Duration = std::time::Duration::from_secs(60);
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
}

impl Default for PasswordCheck {
    fn default() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Self {
            key,
            verified: ExpiringCache::new(VERIFIED_PASSWORD_CAPACITY, VERIFIED_PASSWORD_TTL),
        }
    }
}

impl PasswordCheck {
    /// Whether `password` is the password of `user` (`None`: unknown account,
    /// verified against a dummy hash so that both cost the same).
    pub async fn verify(&self, email: &str, user: Option<&UserRecord>, password: &str) -> bool {
        let cache_key = self.cache_key(email, password);
        if let Some(user) = user
            && self.verified.get(&cache_key).as_deref() == Some(user.password_hash.as_str())
        {
            return true;
        }
        let stored_hash = user.map(|u| u.password_hash.clone());
        let candidate = password.to_owned();
        let hash_for_check = stored_hash.clone();
        // argon2id is CPU-heavy: keep it off the async workers.
        let valid = tokio::task::spawn_blocking(move || {
            verify_password(hash_for_check.as_deref(), &candidate)
        })
        .await
        .unwrap_or(false);
        match (valid, stored_hash) {
            (true, Some(hash)) => self.verified.insert(cache_key, hash),
            _ => self.verified.remove(&cache_key),
        }
        valid
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

/// A generated account password: 192 random bits, URL-safe.
pub fn generate_secret() -> String {
    crate::secrets::random_secret(24)
}

/// A request to create an account, before hashing.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    pub email: String,
    pub password: String,
    pub contracts: Vec<i32>,
    pub role: Role,
    pub privileges: Vec<String>,
}

/// Why an account could not be created.
#[derive(Debug)]
pub enum CreateAccountError {
    Invalid(String),
    EmailTaken(String),
    Store(StoreError),
    Hash(anyhow::Error),
}

impl fmt::Display for CreateAccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateAccountError::Invalid(m) => f.write_str(m),
            CreateAccountError::EmailTaken(e) => {
                write!(f, "an account with e-mail {e} already exists")
            }
            CreateAccountError::Store(e) => e.fmt(f),
            CreateAccountError::Hash(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CreateAccountError {}

/// Validates and creates an account; answers its new user id.
pub async fn create_account(
    store: &Store,
    spec: &AccountSpec,
    now: i64,
) -> Result<String, CreateAccountError> {
    let email = normalise_email(&spec.email);
    validate_email(&email).map_err(CreateAccountError::Invalid)?;
    if spec.password.is_empty() {
        return Err(CreateAccountError::Invalid(
            "the password must not be empty".into(),
        ));
    }
    if spec.contracts.is_empty() {
        return Err(CreateAccountError::Invalid(
            "an account needs at least one contract".into(),
        ));
    }
    if let Some(bad) = spec.contracts.iter().find(|c| **c <= 0) {
        return Err(CreateAccountError::Invalid(format!(
            "contract numbers are positive 32-bit integers, got {bad}"
        )));
    }
    if let Some(bad) = spec
        .privileges
        .iter()
        .find(|p| !PRIVILEGES.contains(&p.as_str()))
    {
        return Err(CreateAccountError::Invalid(format!(
            "unknown privilege {bad:?}: known privileges are {}",
            PRIVILEGES.join(", ")
        )));
    }
    let mut contracts = spec.contracts.clone();
    contracts.sort_unstable();
    contracts.dedup();
    let id = uuid::Uuid::new_v4().to_string();
    let user = NewUser {
        id: id.clone(),
        email: email.clone(),
        password_hash: hash_password(&spec.password).map_err(CreateAccountError::Hash)?,
        memberships: contracts
            .into_iter()
            .map(|contract_number| Membership {
                contract_number,
                role: spec.role.as_str().to_owned(),
                privileges: spec.privileges.clone(),
            })
            .collect(),
        created_at: now,
    };
    match store.create_user(&user).await {
        Ok(()) => Ok(id),
        Err(StoreError::Conflict) => Err(CreateAccountError::EmailTaken(email)),
        Err(e) => Err(CreateAccountError::Store(e)),
    }
}

/// What to create on first start, from `TOLLGATE_ADMIN_*` or generated.
#[derive(Debug, Clone, Default)]
pub struct BootstrapAdmin {
    pub email: Option<String>,
    pub password: Option<String>,
    pub contract: Option<i32>,
}

/// The owner account created on first start; the password is set only when
/// it was generated and must be shown to the operator once.
#[derive(Debug, Clone)]
pub struct CreatedAdmin {
    pub email: String,
    pub contract: i32,
    pub generated_password: Option<String>,
}

/// Creates one owner account in one new contract when the store has no account.
pub async fn bootstrap_owner(
    store: &Store,
    wanted: &BootstrapAdmin,
    now: i64,
) -> anyhow::Result<Option<CreatedAdmin>> {
    if store.has_users().await? {
        return Ok(None);
    }
    let email = wanted
        .email
        .clone()
        .unwrap_or_else(|| "admin@tollgate.local".to_owned());
    let generated_password = wanted.password.is_none().then(generate_secret);
    let password = wanted
        .password
        .clone()
        .or_else(|| generated_password.clone())
        .unwrap_or_default();
    let contract = wanted.contract.unwrap_or_else(random_contract_number);
    let spec = AccountSpec {
        email,
        password,
        contracts: vec![contract],
        role: Role::Owner,
        privileges: vec![MANAGE_REGISTRIES.to_owned()],
    };
    match create_account(store, &spec, now).await {
        Ok(_) => Ok(Some(CreatedAdmin {
            email: normalise_email(&spec.email),
            contract,
            generated_password,
        })),
        // Another node bootstrapped the same account a moment earlier.
        Err(CreateAccountError::EmailTaken(_)) => Ok(None),
        Err(e) => Err(anyhow::anyhow!(
            "cannot create the first owner account: {e}"
        )),
    }
}

/// An eight-digit contract number, as IONOS contract numbers look.
fn random_contract_number() -> i32 {
    10_000_000 + (OsRng.next_u32() % 90_000_000) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_wrong_passwords_fail() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(Some(&hash), "correct horse"));
        assert!(!verify_password(Some(&hash), "wrong"));
        assert!(!verify_password(None, "correct horse"));
        assert!(!verify_password(Some("not a phc string"), "x"));
    }

    #[test]
    fn emails_are_case_insensitive_and_checked() {
        assert_eq!(normalise_email(" Ada@Example.COM "), "ada@example.com");
        assert!(validate_email("ada@example.com").is_ok());
        assert!(validate_email("ada").is_err());
        assert!(validate_email("a:b@example.com").is_err());
    }
}
