//! The one gate every credential passes through.
//!
//! Five kinds of login reach the service: an account's e-mail and password
//! (Basic) and an access token (Bearer) on the IONOS APIs; a registry
//! token's name and password on `/registry/token`, as Docker's Basic `GET`
//! or the OAuth2 password form; and a refresh token. Each is a
//! [`Credential`], and [`Authenticator::authenticate`] is the only way to
//! turn one into a proof, so whatever every login must do (counting it
//! now; throttling, last use and the audit trail as they arrive) is written
//! once, here, in one order. The HTTP extractors only parse headers and
//! forms into credentials and render the refusals.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tollgate_api::account::Email;
use tollgate_api::auth::ContractNumber;

use super::access_tokens::{AccessTokens, BearerError};
use super::member::{AuthMethod, Member};
use super::passwords::PasswordCheck;
use crate::clock::Clock;
use crate::registry::login::{Denied, RegistryLogins};
use crate::store::{Account, LoginToken, Membership, Store, StoreError};

/// The kinds of login, as the gate counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    /// An account's e-mail and password on the IONOS APIs.
    Basic,
    /// An access token on the IONOS APIs.
    Bearer,
    /// A registry token's name and password, `GET /registry/token`.
    RegistryBasic,
    /// A registry token's name and password, the OAuth2 `POST` form.
    RegistryPassword,
    /// A refresh token, the OAuth2 `POST` form.
    RegistryRefresh,
}

impl LoginKind {
    pub const ALL: [LoginKind; 5] = [
        LoginKind::Basic,
        LoginKind::Bearer,
        LoginKind::RegistryBasic,
        LoginKind::RegistryPassword,
        LoginKind::RegistryRefresh,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Something presented as proof of who is calling.
pub trait Credential: Send {
    /// What a verified credential proves.
    type Proof;
    /// Why it was refused.
    type Refusal;

    fn kind(&self) -> LoginKind;

    /// Checks the credential; the gate calls this, nothing else does.
    fn verify(
        self,
        gate: &Authenticator,
        client: IpAddr,
    ) -> impl Future<Output = Result<Self::Proof, Self::Refusal>> + Send;
}

/// Checks every credential, in one order, for every kind of login.
pub struct Authenticator {
    store: Store,
    clock: Arc<dyn Clock>,
    passwords: Arc<PasswordCheck>,
    access_tokens: Arc<AccessTokens>,
    registry_logins: RegistryLogins,
    attempts: [AtomicU64; LoginKind::ALL.len()],
}

impl Authenticator {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        passwords: Arc<PasswordCheck>,
        access_tokens: Arc<AccessTokens>,
        registry_logins: RegistryLogins,
    ) -> Self {
        Self {
            store,
            clock,
            passwords,
            access_tokens,
            registry_logins,
            attempts: Default::default(),
        }
    }

    /// Verifies `credential`, presented from `client`.
    pub async fn authenticate<C: Credential>(
        &self,
        credential: C,
        client: IpAddr,
    ) -> Result<C::Proof, C::Refusal> {
        self.attempts[credential.kind().index()].fetch_add(1, Ordering::Relaxed);
        credential.verify(self, client).await
    }

    /// How many logins of `kind` reached the gate since the start.
    pub fn attempts(&self, kind: LoginKind) -> u64 {
        self.attempts[kind.index()].load(Ordering::Relaxed)
    }
}

/// Why an account was not let in; the IONOS surface renders each.
#[derive(Debug)]
pub enum MemberRefusal {
    /// Unknown e-mail or wrong password (the same answer, the same work).
    WrongPassword,
    /// The access token was refused.
    Token(BearerError),
    /// A Basic caller with several contracts named none.
    ContractRequired(Vec<ContractNumber>),
    /// The caller is no member of the contract named.
    NotAMember(ContractNumber),
    /// The account is a member of no contract at all.
    NoContract,
    /// A Bearer token used for another contract than its own.
    TokenForAnotherContract {
        issued_for: ContractNumber,
        requested: ContractNumber,
    },
    Store(StoreError),
}

/// An account's e-mail and password, for the contract named (if any).
#[derive(Debug, Clone, Copy)]
pub struct AccountPassword<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub contract: Option<ContractNumber>,
}

impl Credential for AccountPassword<'_> {
    type Proof = Member;
    type Refusal = MemberRefusal;

    fn kind(&self) -> LoginKind {
        LoginKind::Basic
    }

    async fn verify(self, gate: &Authenticator, client: IpAddr) -> Result<Member, MemberRefusal> {
        let email = Email::normalise(self.email);
        let account = gate
            .store
            .account_by_email(&email)
            .await
            .map_err(MemberRefusal::Store)?;
        let user = account.as_ref().map(|a| &a.user);
        let valid = gate.passwords.verify(&email, user, self.password).await;
        let Some(Account { user, memberships }) = account.filter(|_| valid) else {
            return Err(MemberRefusal::WrongPassword);
        };
        let membership = choose_contract(memberships, self.contract)?;
        Ok(Member {
            user_id: user.id,
            email: user.email,
            membership,
            method: AuthMethod::Basic,
            address: client,
        })
    }
}

/// Settles the contract of a Basic caller.
fn choose_contract(
    memberships: Vec<Membership>,
    requested: Option<ContractNumber>,
) -> Result<Membership, MemberRefusal> {
    match requested {
        Some(wanted) => memberships
            .into_iter()
            .find(|m| m.contract == wanted)
            .ok_or(MemberRefusal::NotAMember(wanted)),
        None if memberships.len() > 1 => Err(MemberRefusal::ContractRequired(
            memberships.iter().map(|m| m.contract).collect(),
        )),
        None => memberships
            .into_iter()
            .next()
            .ok_or(MemberRefusal::NoContract),
    }
}

/// An access token, for the contract named (if any: it must be its own).
#[derive(Debug, Clone, Copy)]
pub struct AccessToken<'a> {
    pub token: &'a str,
    pub contract: Option<ContractNumber>,
}

impl Credential for AccessToken<'_> {
    type Proof = Member;
    type Refusal = MemberRefusal;

    fn kind(&self) -> LoginKind {
        LoginKind::Bearer
    }

    async fn verify(self, gate: &Authenticator, client: IpAddr) -> Result<Member, MemberRefusal> {
        let lookup = gate
            .access_tokens
            .authenticate(&gate.store, self.token, gate.clock.now())
            .await
            .map_err(|e| match e {
                BearerError::Store(e) => MemberRefusal::Store(e),
                other => MemberRefusal::Token(other),
            })?;
        if let Some(requested) = self.contract
            && requested != lookup.token.contract
        {
            return Err(MemberRefusal::TokenForAnotherContract {
                issued_for: lookup.token.contract,
                requested,
            });
        }
        Ok(Member {
            user_id: lookup.token.user_id.clone(),
            email: lookup.email,
            membership: lookup.membership,
            method: AuthMethod::Bearer {
                token: lookup.token,
            },
            address: client,
        })
    }
}

/// How a registry token's name and password arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryChannel {
    /// Basic credentials on `GET /registry/token` (`docker login`).
    Basic,
    /// `grant_type=password` in the OAuth2 form `POST`.
    OAuth2,
}

/// A registry token's name and password, for a registry (`service`).
#[derive(Debug, Clone, Copy)]
pub struct RegistryPassword<'a> {
    pub service: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub channel: RegistryChannel,
}

impl Credential for RegistryPassword<'_> {
    type Proof = LoginToken;
    type Refusal = Denied;

    fn kind(&self) -> LoginKind {
        match self.channel {
            RegistryChannel::Basic => LoginKind::RegistryBasic,
            RegistryChannel::OAuth2 => LoginKind::RegistryPassword,
        }
    }

    async fn verify(self, gate: &Authenticator, client: IpAddr) -> Result<LoginToken, Denied> {
        gate.registry_logins
            .with_password(
                self.service,
                self.username,
                self.password,
                client,
                gate.clock.now(),
            )
            .await
    }
}

/// A refresh token, for a registry (`service`).
#[derive(Debug, Clone, Copy)]
pub struct RefreshToken<'a> {
    pub service: &'a str,
    pub token: &'a str,
}

impl Credential for RefreshToken<'_> {
    type Proof = LoginToken;
    type Refusal = Denied;

    fn kind(&self) -> LoginKind {
        LoginKind::RegistryRefresh
    }

    async fn verify(self, gate: &Authenticator, client: IpAddr) -> Result<LoginToken, Denied> {
        gate.registry_logins
            .with_refresh_token(self.service, self.token, client, gate.clock.now())
            .await
    }
}
