//! The one gate every credential passes through.
//!
//! Seven kinds of login reach the service: an account's e-mail and password
//! (Basic), an access token (Bearer) and a web console session's cookie on
//! the IONOS APIs; a registry's event notifications; a registry
//! token's name and password on `/registry/token`, as Docker's Basic `GET`
//! or the OAuth2 password form; and a refresh token. Each is a
//! [`Credential`], and [`Authenticator::authenticate`] is the only way to
//! turn one into a proof, so what every login must do is written once, in
//! one order: count it; for a password, check the throttle (a 429 without
//! looking at the password, held a moment so a guesser's connections idle);
//! verify; then note a wrong password in the
//! throttle, a refusal in the audit trail (queued, off the request path,
//! with the delay it starts), and a token's use in [`TokenUseRecorder`]. The HTTP extractors only parse headers
//! and forms into credentials and render the refusals.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use tollgate_api::account::Email;
use tollgate_api::auth::ContractNumber;

use super::access_tokens::{AccessTokens, BearerError};
use super::console_sessions::{self, SessionRefusal};
use super::last_use::TokenUseRecorder;
use super::member::{AuthMethod, Member};
use super::passwords::PasswordCheck;
use super::throttle::{Guessable, RetryAfter, Throttle};
use crate::audit::{AuditTrail, RefusedLogin, RefusedSubject};
use crate::clock::Clock;
use crate::jwt::JwtError;
use crate::ops::metrics::Metrics;
use crate::ops::striped::StripedCounter;
use crate::registry::events::{self, Notifier};
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
    /// A web console session's cookie on the IONOS APIs.
    ConsoleSession,
    /// A registry's event notifications, `POST /registry/events`.
    RegistryNotifications,
}

impl LoginKind {
    pub const ALL: [LoginKind; 7] = [
        LoginKind::Basic,
        LoginKind::Bearer,
        LoginKind::RegistryBasic,
        LoginKind::RegistryPassword,
        LoginKind::RegistryRefresh,
        LoginKind::ConsoleSession,
        LoginKind::RegistryNotifications,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// The kind as the audit trail names it.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginKind::Basic => "basic",
            LoginKind::Bearer => "bearer",
            LoginKind::RegistryBasic => "registry_basic",
            LoginKind::RegistryPassword => "registry_password",
            LoginKind::RegistryRefresh => "registry_refresh",
            LoginKind::ConsoleSession => "console_session",
            LoginKind::RegistryNotifications => "registry_notifications",
        }
    }
}

/// Something presented as proof of who is calling.
pub trait Credential: Send {
    /// What a verified credential proves.
    type Proof;
    /// Why it was refused.
    type Refusal;

    fn kind(&self) -> LoginKind;

    /// What guesses are counted against, for a credential with a password
    /// a person chose or could guess; `None` for signed tokens.
    fn guessable(&self) -> Option<Guessable<'_>>;

    /// Who the credential claims to be, for the audit trail (asked only
    /// when it is refused).
    fn claimed(&self, gate: &Authenticator) -> RefusedSubject;

    /// Checks the credential; the gate calls this, nothing else does.
    fn verify(
        &self,
        gate: &Authenticator,
        client: IpAddr,
    ) -> impl Future<Output = Result<Self::Proof, Self::Refusal>> + Send;

    /// The refusal of a throttled attempt.
    fn throttled(retry: RetryAfter) -> Self::Refusal;

    /// Why a login was refused, for the audit trail; `None` when it is
    /// no refused login (an incomplete request, the store out of reach).
    fn reason(refusal: &Self::Refusal) -> Option<&'static str>;

    /// Whether the refusal is a wrong guess, which the throttle counts.
    fn wrong_guess(refusal: &Self::Refusal) -> bool;

    /// Notes the use of the token the proof names, if it names one.
    fn used(proof: &Self::Proof, last_use: &TokenUseRecorder, client: IpAddr);
}

/// What the gate checks credentials with, and what it notes.
pub struct GateParts {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub passwords: Arc<PasswordCheck>,
    pub access_tokens: Arc<AccessTokens>,
    pub registry_logins: RegistryLogins,
    pub throttle: Throttle,
    pub last_use: Arc<TokenUseRecorder>,
    pub trail: Arc<AuditTrail>,
    /// Counts refused logins by reason.
    pub metrics: Arc<Metrics>,
}

/// Checks every credential, in one order, for every kind of login.
pub struct Authenticator {
    parts: GateParts,
    attempts: [StripedCounter; LoginKind::ALL.len()],
}

impl Authenticator {
    pub fn new(parts: GateParts) -> Self {
        Self {
            parts,
            attempts: Default::default(),
        }
    }

    /// Verifies `credential`, presented from `client`.
    pub async fn authenticate<C: Credential>(
        &self,
        credential: C,
        client: IpAddr,
    ) -> Result<C::Proof, C::Refusal> {
        let kind = credential.kind();
        self.attempts[kind.index()].add(1);
        let throttle = &self.parts.throttle;
        let guessable = credential.guessable();
        // Hashed only while the throttle tracks someone, or to count a failure.
        let watched = guessable
            .filter(|_| throttle.watching())
            .map(|guessable| throttle.subject(guessable));
        let subject = |guessable| watched.unwrap_or_else(|| throttle.subject(guessable));
        if let Some(subject) = watched
            && let Err(retry) = throttle.check(subject, client)
        {
            throttle.hold(retry).await;
            return Err(C::throttled(retry));
        }
        let outcome = credential.verify(self, client).await;
        match &outcome {
            Ok(proof) => {
                if let Some(guessable) = guessable
                    && throttle.watching()
                {
                    throttle.succeeded(subject(guessable), client);
                }
                C::used(proof, &self.parts.last_use, client);
            }
            Err(refusal) => {
                let throttled_for = match guessable {
                    Some(guessable) if C::wrong_guess(refusal) => {
                        throttle.failed(subject(guessable), client)
                    }
                    _ => None,
                };
                if let Some(reason) = C::reason(refusal) {
                    self.parts.metrics.login_refused(kind.as_str(), reason);
                    self.parts.trail.refused_login(RefusedLogin {
                        at: self.parts.clock.now(),
                        kind: kind.as_str(),
                        subject: credential.claimed(self),
                        address: client,
                        reason,
                        throttled_for: throttled_for.map(|retry| retry.0),
                    });
                }
            }
        }
        outcome
    }

    /// How many logins of `kind` reached the gate since the start.
    pub fn attempts(&self, kind: LoginKind) -> u64 {
        self.attempts[kind.index()].total()
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
    /// The console session ended, was signed out, or never was.
    SessionEnded,
    /// Too many wrong passwords: not checked, try again later.
    Throttled(RetryAfter),
    Store(StoreError),
}

impl MemberRefusal {
    /// Why, for the audit trail; `None` for what is no refused login, and
    /// for a throttled attempt (recorded with the failure that started
    /// its delay).
    fn reason(&self) -> Option<&'static str> {
        Some(match self {
            MemberRefusal::WrongPassword => "wrong e-mail or password",
            MemberRefusal::Token(BearerError::Jwt(JwtError::BadSignature)) => {
                "access token with a bad signature"
            }
            MemberRefusal::Token(BearerError::Jwt(_)) => "malformed access token",
            MemberRefusal::Token(BearerError::WrongIssuer) => "access token of another issuer",
            MemberRefusal::Token(BearerError::Expired) => "access token expired",
            MemberRefusal::Token(BearerError::NotYetValid) => "access token not valid yet",
            MemberRefusal::Token(BearerError::Revoked) => "access token deleted or unknown",
            MemberRefusal::NotAMember(_) => "not a member of the contract named",
            MemberRefusal::NoContract => "a member of no contract",
            MemberRefusal::TokenForAnotherContract { .. } => "access token of another contract",
            MemberRefusal::SessionEnded => "console session ended or unknown",
            MemberRefusal::ContractRequired(_)
            | MemberRefusal::Throttled(_)
            | MemberRefusal::Token(BearerError::Store(_))
            | MemberRefusal::Store(_) => return None,
        })
    }
}

/// An account's e-mail and password, for the contract named (if any).
/// (No `Debug`: it holds a secret.)
#[derive(Clone, Copy)]
pub struct AccountPassword<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub contract: Option<ContractNumber>,
    /// With no contract named, an account in several acts in the first
    /// (the console, which lets it switch) instead of being refused.
    pub first_if_several: bool,
}

impl Credential for AccountPassword<'_> {
    type Proof = Member;
    type Refusal = MemberRefusal;

    fn kind(&self) -> LoginKind {
        LoginKind::Basic
    }

    fn guessable(&self) -> Option<Guessable<'_>> {
        Some(Guessable::Email(self.email))
    }

    fn claimed(&self, _: &Authenticator) -> RefusedSubject {
        RefusedSubject::Account {
            email: Email::normalise(self.email),
        }
    }

    fn throttled(retry: RetryAfter) -> MemberRefusal {
        MemberRefusal::Throttled(retry)
    }

    fn reason(refusal: &MemberRefusal) -> Option<&'static str> {
        refusal.reason()
    }

    fn wrong_guess(refusal: &MemberRefusal) -> bool {
        matches!(refusal, MemberRefusal::WrongPassword)
    }

    fn used(_: &Member, _: &TokenUseRecorder, _: IpAddr) {}

    async fn verify(&self, gate: &Authenticator, client: IpAddr) -> Result<Member, MemberRefusal> {
        let email = Email::normalise(self.email);
        let account = gate
            .parts
            .store
            .account_by_email(&email)
            .await
            .map_err(MemberRefusal::Store)?;
        let user = account.as_ref().map(|a| &a.user);
        let valid = gate
            .parts
            .passwords
            .verify(&email, user, self.password)
            .await;
        let Some(Account { user, memberships }) = account.filter(|_| valid) else {
            return Err(MemberRefusal::WrongPassword);
        };
        let membership = choose_contract(memberships, self.contract, self.first_if_several)?;
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
    first_if_several: bool,
) -> Result<Membership, MemberRefusal> {
    match requested {
        Some(wanted) => memberships
            .into_iter()
            .find(|m| m.contract == wanted)
            .ok_or(MemberRefusal::NotAMember(wanted)),
        None if memberships.len() > 1 && !first_if_several => Err(MemberRefusal::ContractRequired(
            memberships.iter().map(|m| m.contract).collect(),
        )),
        None => memberships
            .into_iter()
            .next()
            .ok_or(MemberRefusal::NoContract),
    }
}

/// An access token, for the contract named (if any: it must be its own).
/// (No `Debug`: it holds a secret.)
#[derive(Clone, Copy)]
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

    fn guessable(&self) -> Option<Guessable<'_>> {
        None
    }

    fn claimed(&self, _: &Authenticator) -> RefusedSubject {
        RefusedSubject::AccessToken
    }

    fn throttled(retry: RetryAfter) -> MemberRefusal {
        MemberRefusal::Throttled(retry)
    }

    fn reason(refusal: &MemberRefusal) -> Option<&'static str> {
        refusal.reason()
    }

    fn wrong_guess(_: &MemberRefusal) -> bool {
        false
    }

    fn used(member: &Member, last_use: &TokenUseRecorder, client: IpAddr) {
        if let Some(token) = member.bearer_token() {
            last_use.auth_token(&token.id, client);
        }
    }

    async fn verify(&self, gate: &Authenticator, client: IpAddr) -> Result<Member, MemberRefusal> {
        let lookup = gate
            .parts
            .access_tokens
            .authenticate(&gate.parts.store, self.token, gate.parts.clock.now())
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

/// The secret a web console session's cookie holds.
/// (No `Debug`: it holds a secret.)
#[derive(Clone, Copy)]
pub struct ConsoleSession<'a> {
    pub secret: &'a str,
}

impl Credential for ConsoleSession<'_> {
    type Proof = Member;
    type Refusal = MemberRefusal;

    fn kind(&self) -> LoginKind {
        LoginKind::ConsoleSession
    }

    fn guessable(&self) -> Option<Guessable<'_>> {
        None
    }

    fn claimed(&self, _: &Authenticator) -> RefusedSubject {
        RefusedSubject::ConsoleSession
    }

    fn throttled(retry: RetryAfter) -> MemberRefusal {
        MemberRefusal::Throttled(retry)
    }

    fn reason(refusal: &MemberRefusal) -> Option<&'static str> {
        refusal.reason()
    }

    fn wrong_guess(_: &MemberRefusal) -> bool {
        false
    }

    fn used(_: &Member, _: &TokenUseRecorder, _: IpAddr) {}

    async fn verify(&self, gate: &Authenticator, client: IpAddr) -> Result<Member, MemberRefusal> {
        let found =
            console_sessions::authenticate(&gate.parts.store, self.secret, gate.parts.clock.now())
                .await
                .map_err(|refusal| match refusal {
                    SessionRefusal::Ended => MemberRefusal::SessionEnded,
                    SessionRefusal::Store(e) => MemberRefusal::Store(e),
                })?;
        Ok(Member {
            user_id: found.session.user_id.clone(),
            email: found.email,
            membership: found.membership,
            method: AuthMethod::Console {
                session: found.session,
            },
            address: client,
        })
    }
}

/// A registry's event notifications: the registry they claim to come
/// from (the Basic user name) and its notifications secret.
/// (No `Debug`: it holds a secret.)
#[derive(Clone, Copy)]
pub struct RegistryNotifications<'a> {
    pub registry: &'a str,
    pub secret: &'a str,
}

impl Credential for RegistryNotifications<'_> {
    type Proof = Notifier;
    type Refusal = Denied;

    fn kind(&self) -> LoginKind {
        LoginKind::RegistryNotifications
    }

    /// Not throttled, like a signed token: the secret is 256 random bits
    /// that Tollgate made, which no guesser can find by trying.
    fn guessable(&self) -> Option<Guessable<'_>> {
        None
    }

    fn claimed(&self, _: &Authenticator) -> RefusedSubject {
        RefusedSubject::RegistryNotifications {
            registry: self.registry.chars().take(64).collect(),
            claimed: "(event notifications)".to_owned(),
        }
    }

    fn throttled(retry: RetryAfter) -> Denied {
        Denied::Throttled(retry)
    }

    fn reason(refusal: &Denied) -> Option<&'static str> {
        refusal.audited_reason()
    }

    fn wrong_guess(_: &Denied) -> bool {
        false
    }

    fn used(_: &Notifier, _: &TokenUseRecorder, _: IpAddr) {}

    async fn verify(&self, gate: &Authenticator, _: IpAddr) -> Result<Notifier, Denied> {
        events::authenticate_notifier(&gate.parts.store, self.registry, self.secret).await
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
/// (No `Debug`: it holds a secret.)
#[derive(Clone, Copy)]
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

    fn guessable(&self) -> Option<Guessable<'_>> {
        Some(Guessable::RegistryToken {
            service: self.service,
            username: self.username,
        })
    }

    fn claimed(&self, gate: &Authenticator) -> RefusedSubject {
        RefusedSubject::RegistryToken {
            registry: gate
                .parts
                .registry_logins
                .registry_name(self.service)
                .to_owned(),
            name: self.username.to_owned(),
        }
    }

    fn throttled(retry: RetryAfter) -> Denied {
        Denied::Throttled(retry)
    }

    fn reason(refusal: &Denied) -> Option<&'static str> {
        refusal.audited_reason()
    }

    fn wrong_guess(refusal: &Denied) -> bool {
        matches!(refusal, Denied::BadCredentials)
    }

    fn used(token: &LoginToken, last_use: &TokenUseRecorder, client: IpAddr) {
        last_use.registry_token(token.contract, &token.registry_id, &token.id, client);
    }

    async fn verify(&self, gate: &Authenticator, client: IpAddr) -> Result<LoginToken, Denied> {
        gate.parts
            .registry_logins
            .with_password(
                self.service,
                self.username,
                self.password,
                client,
                gate.parts.clock.now(),
            )
            .await
    }
}

/// A refresh token, for a registry (`service`).
/// (No `Debug`: it holds a secret.)
#[derive(Clone, Copy)]
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

    fn guessable(&self) -> Option<Guessable<'_>> {
        None
    }

    fn claimed(&self, gate: &Authenticator) -> RefusedSubject {
        RefusedSubject::RegistryToken {
            registry: gate
                .parts
                .registry_logins
                .registry_name(self.service)
                .to_owned(),
            name: "(refresh token)".to_owned(),
        }
    }

    fn throttled(retry: RetryAfter) -> Denied {
        Denied::Throttled(retry)
    }

    fn reason(refusal: &Denied) -> Option<&'static str> {
        refusal.audited_reason()
    }

    fn wrong_guess(_: &Denied) -> bool {
        false
    }

    fn used(token: &LoginToken, last_use: &TokenUseRecorder, client: IpAddr) {
        last_use.registry_token(token.contract, &token.registry_id, &token.id, client);
    }

    async fn verify(&self, gate: &Authenticator, client: IpAddr) -> Result<LoginToken, Denied> {
        gate.parts
            .registry_logins
            .with_refresh_token(self.service, self.token, client, gate.parts.clock.now())
            .await
    }
}
