//! Accounts: creating, listing, deleting them and setting their passwords,
//! and the first owner account of an empty store. `tollgate admin user`
//! and the service's first start go through [`Accounts`], never the store.
//!
//! Passwords are hashed in [`super::passwords`]. This module never logs or
//! returns a password it did not generate.

use std::fmt;
use std::sync::Arc;

use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use tollgate_api::account::{Email, Privilege, Role, UserId};
use tollgate_api::auth::ContractNumber;

use super::passwords::hash_password;
use crate::audit::Event;
use crate::clock::Clock;
use crate::store::{Account, AuditEvent, Membership, NewUser, Store, StoreError};

/// A generated account password: 192 random bits, URL-safe.
pub fn generate_secret() -> String {
    crate::secrets::random_secret(24)
}

/// A request to create an account, as an operator typed it.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    pub email: String,
    pub password: String,
    pub contracts: Vec<i32>,
    pub role: Role,
    pub privileges: Vec<String>,
}

/// Why an account could not be created or changed.
#[derive(Debug)]
pub enum AccountError {
    Invalid(String),
    EmailTaken(Email),
    Unknown(String),
    Store(StoreError),
    Hash(anyhow::Error),
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountError::Invalid(m) => f.write_str(m),
            AccountError::EmailTaken(e) => write!(f, "an account with e-mail {e} already exists"),
            AccountError::Unknown(e) => write!(f, "no account with e-mail {e}"),
            AccountError::Store(e) => e.fmt(f),
            AccountError::Hash(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AccountError {}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        AccountError::Store(e)
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
    pub email: Email,
    pub contract: i32,
    pub generated_password: Option<String>,
}

/// The accounts of a store.
pub struct Accounts {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Accounts {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Validates and creates an account; answers its new user id.
    pub async fn create(&self, spec: &AccountSpec) -> Result<UserId, AccountError> {
        let email = Email::parse(&spec.email).map_err(|e| AccountError::Invalid(e.to_string()))?;
        if spec.password.is_empty() {
            return Err(AccountError::Invalid(
                "the password must not be empty".into(),
            ));
        }
        if spec.contracts.is_empty() {
            return Err(AccountError::Invalid(
                "an account needs at least one contract".into(),
            ));
        }
        let mut contracts = spec
            .contracts
            .iter()
            .map(|c| {
                ContractNumber::new(*c).map_err(|_| {
                    AccountError::Invalid(format!(
                        "contract numbers are positive 32-bit integers, got {c}"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        contracts.sort_unstable();
        contracts.dedup();
        let privileges = spec
            .privileges
            .iter()
            .map(|p| p.parse::<Privilege>().map_err(AccountError::Invalid))
            .collect::<Result<Vec<_>, _>>()?;
        let id = UserId::from(uuid::Uuid::new_v4().to_string());
        let now = self.clock.now();
        let names: Vec<&str> = privileges.iter().map(|p| p.as_str()).collect();
        let detail =
            json!({"email": email.as_str(), "role": spec.role.as_str(), "privileges": names});
        let events = self.events(&contracts, now, "account.created", &id, detail);
        let user = NewUser {
            id: id.clone(),
            email: email.clone(),
            password_hash: hash_password(&spec.password).map_err(AccountError::Hash)?,
            memberships: contracts
                .into_iter()
                .map(|contract| Membership {
                    contract,
                    role: spec.role,
                    privileges: privileges.clone(),
                })
                .collect(),
            created_at: now,
        };
        match self.store.create_user(&user, &events).await {
            Ok(()) => Ok(id),
            Err(StoreError::Conflict) => Err(AccountError::EmailTaken(email)),
            Err(e) => Err(e.into()),
        }
    }

    /// Every account with its memberships, ordered by e-mail.
    pub async fn list(&self) -> Result<Vec<Account>, AccountError> {
        Ok(self.store.list_accounts().await?)
    }

    /// Deletes an account with its memberships and tokens; answers its e-mail.
    pub async fn delete(&self, email: &str) -> Result<Email, AccountError> {
        let (email, events) = self.changing(email, "account.deleted", json!({})).await?;
        if self.store.delete_user(&email, &events).await? {
            Ok(email)
        } else {
            Err(AccountError::Unknown(email.to_string()))
        }
    }

    /// Sets an account's password; it applies at once on every node (a
    /// remembered Basic password counts only while the stored hash is the same).
    pub async fn set_password(&self, email: &str, password: &str) -> Result<Email, AccountError> {
        if password.is_empty() {
            return Err(AccountError::Invalid(
                "the password must not be empty".into(),
            ));
        }
        let (email, events) = self
            .changing(email, "account.password_changed", json!({}))
            .await?;
        let hash = hash_password(password).map_err(AccountError::Hash)?;
        if self.store.set_password_hash(&email, &hash, &events).await? {
            Ok(email)
        } else {
            Err(AccountError::Unknown(email.to_string()))
        }
    }

    /// Creates one owner account in one new contract when the store has no account.
    pub async fn bootstrap_owner(
        &self,
        wanted: &BootstrapAdmin,
    ) -> anyhow::Result<Option<CreatedAdmin>> {
        if self.store.has_users().await? {
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
            privileges: vec![Privilege::AccessAndManageRegistries.as_str().to_owned()],
        };
        match self.create(&spec).await {
            Ok(_) => Ok(Some(CreatedAdmin {
                email: Email::parse(&spec.email)?,
                contract,
                generated_password,
            })),
            // Another node bootstrapped the same account a moment earlier.
            Err(AccountError::EmailTaken(_)) => Ok(None),
            Err(e) => Err(anyhow::anyhow!(
                "cannot create the first owner account: {e}"
            )),
        }
    }

    /// The account a change is about, and the events recording it in each
    /// of the account's contracts.
    async fn changing(
        &self,
        email: &str,
        action: &str,
        detail: Value,
    ) -> Result<(Email, Vec<AuditEvent>), AccountError> {
        let unknown = || AccountError::Unknown(Email::normalise(email));
        let email = Email::parse(email).map_err(|_| unknown())?;
        let account = self
            .store
            .account_by_email(email.as_str())
            .await?
            .ok_or_else(unknown)?;
        let contracts: Vec<ContractNumber> =
            account.memberships.iter().map(|m| m.contract).collect();
        let mut detail = detail;
        if let Value::Object(fields) = &mut detail {
            fields.insert("email".into(), json!(email.as_str()));
        }
        let events = self.events(
            &contracts,
            self.clock.now(),
            action,
            &account.user.id,
            detail,
        );
        Ok((email, events))
    }

    /// One event of an operator's change to an account, per contract.
    fn events(
        &self,
        contracts: &[ContractNumber],
        at: i64,
        action: &str,
        id: &UserId,
        detail: Value,
    ) -> Vec<AuditEvent> {
        contracts
            .iter()
            .map(|c| {
                Event::by_operator(
                    Some(*c),
                    at,
                    action,
                    ("account", id.as_str()),
                    detail.clone(),
                )
            })
            .collect()
    }
}

/// An eight-digit contract number, as IONOS contract numbers look.
fn random_contract_number() -> i32 {
    10_000_000 + (OsRng.next_u32() % 90_000_000) as i32
}
