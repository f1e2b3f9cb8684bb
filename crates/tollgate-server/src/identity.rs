//! Accounts: roles, privileges, e-mails as login names, and the first owner account.
//!
//! Passwords are hashed and checked in [`crate::passwords`]. This module
//! never logs or returns a password it did not generate.

use std::fmt;
use std::str::FromStr;

use rand_core::{OsRng, RngCore};

use crate::passwords::hash_password;
use crate::store::{Membership, NewUser, Store, StoreError};

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
    fn emails_are_case_insensitive_and_checked() {
        assert_eq!(normalise_email(" Ada@Example.COM "), "ada@example.com");
        assert!(validate_email("ada@example.com").is_ok());
        assert!(validate_email("ada").is_err());
        assert!(validate_email("a:b@example.com").is_err());
    }
}
