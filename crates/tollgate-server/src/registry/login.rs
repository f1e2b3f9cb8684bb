//! Registry logins: when a registry token's credentials prove it, and when
//! it may be used. The authentication gate calls these for the three
//! registry login kinds (Docker's Basic `GET`, the OAuth2 password form, a
//! refresh token); nothing else does.
//!
//! A login costs one indexed lookup (registry name and token), one SHA-256
//! and two constant-time comparisons (the password, and the password before
//! a rotation while its grace period lasts), whether or not the registry and
//! the token exist, so neither the answer nor its timing tells which
//! registries exist.
//! Status, expiry and the registry's `apiSubnetAllowList` are checked on
//! every login, so a change applies to the next request on every node.

use std::net::IpAddr;
use std::sync::Arc;

use subtle::ConstantTimeEq;
use tollgate_api::registry_rules::{self as rules, RegistryName, TokenStatus};

use super::jwt::RegistryTokenIssuer;
use crate::auth::throttle::RetryAfter;
use crate::secrets;
use crate::store::{LoginToken, Store, StoreError};

/// Why a login was refused. Every variant answers the same 401 to the
/// client, except a service that cannot be a registry of this service; the
/// variant is only logged.
#[derive(Debug)]
pub enum Denied {
    /// Not `<registry name>.<registry domain>`: no store lookup can tell
    /// anything about it.
    UnknownService,
    /// A wrong password, an unknown token, or an unknown registry: all look
    /// the same, so that registry names cannot be probed.
    BadCredentials,
    /// A refresh token that is not one of ours, expired, or for another service.
    InvalidRefresh,
    /// A refresh token issued for a credential that no longer exists in
    /// that form (deleted, re-created under the same id, or its password
    /// changed).
    StaleRefresh,
    Disabled,
    Expired,
    AddressNotAllowed,
    /// Too many wrong passwords: not checked, try again later.
    Throttled(RetryAfter),
    Store(StoreError),
}

impl Denied {
    /// What is logged of a refusal (never sent to the client).
    pub fn reason(&self) -> &'static str {
        match self {
            Denied::UnknownService => "not a registry of this service",
            Denied::BadCredentials => "wrong username or password, or no such registry",
            Denied::InvalidRefresh => "refresh token invalid, expired or for another service",
            Denied::StaleRefresh => {
                "refresh token of a credential that was deleted, re-created or given a new password"
            }
            Denied::Disabled => "token disabled",
            Denied::Expired => "token expired",
            Denied::AddressNotAllowed => "client address outside the registry's apiSubnetAllowList",
            Denied::Throttled(_) => "throttled: too many wrong passwords",
            Denied::Store(_) => "the store could not be read",
        }
    }

    /// Why, for the audit trail: `None` for a request that named no
    /// registry of this service or met a store out of reach.
    pub fn audited_reason(&self) -> Option<&'static str> {
        match self {
            Denied::UnknownService | Denied::Store(_) | Denied::Throttled(_) => None,
            other => Some(other.reason()),
        }
    }
}

/// The digest compared when the username is unknown, so both cases cost the same.
const NO_SUCH_DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Checks registry logins against the store.
pub struct RegistryLogins {
    store: Store,
    /// Registries are `<name>.<domain>`.
    domain: String,
    /// Verifies refresh tokens.
    issuer: Arc<RegistryTokenIssuer>,
}

impl RegistryLogins {
    pub fn new(store: Store, domain: String, issuer: Arc<RegistryTokenIssuer>) -> Self {
        Self {
            store,
            domain,
            issuer,
        }
    }

    /// A registry token's name and password for `service` (a registry
    /// hostname), used now from `client`.
    pub async fn with_password(
        &self,
        service: &str,
        username: &str,
        password: &str,
        client: IpAddr,
        now: i64,
    ) -> Result<LoginToken, Denied> {
        let registry_name = self.registry_name_of(service)?;
        let found = self
            .store
            .registry_token_for_login(registry_name, username)
            .await
            .map_err(Denied::Store)?;
        let presented = secrets::digest(password);
        let (current, previous) = match &found {
            Some(token) => (
                token.password_digest.as_str(),
                token
                    .previous_password
                    .as_ref()
                    .filter(|(_, until)| *until > now)
                    .map_or(NO_SUCH_DIGEST, |(digest, _)| digest.as_str()),
            ),
            None => (NO_SUCH_DIGEST, NO_SUCH_DIGEST),
        };
        // Both comparisons always run, in constant time: the timing tells
        // nothing about which password matched, or whether one exists.
        let matches_current = presented.as_bytes().ct_eq(current.as_bytes());
        let matches_previous = presented.as_bytes().ct_eq(previous.as_bytes());
        let matches: bool = (matches_current | matches_previous).into();
        let token = found.filter(|_| matches).ok_or(Denied::BadCredentials)?;
        usable(token, client, now)
    }

    /// A refresh token for `service`: it must verify, and the registry
    /// token it names must still exist with the same name and the same
    /// password (so a refresh token dies with its credential), be
    /// enabled, unexpired, and used from an allowed address.
    pub async fn with_refresh_token(
        &self,
        service: &str,
        refresh: &str,
        client: IpAddr,
        now: i64,
    ) -> Result<LoginToken, Denied> {
        let registry_name = self.registry_name_of(service)?;
        let claims = self
            .issuer
            .check_refresh_token(refresh, service, now)
            .await
            .ok_or(Denied::InvalidRefresh)?;
        let token = self
            .store
            .registry_token_by_id_for_login(registry_name, &claims.tid)
            .await
            .map_err(Denied::Store)?
            .ok_or(Denied::BadCredentials)?;
        let fingerprint = secrets::credential_fingerprint(&token.password_digest);
        let same_credential: bool = fingerprint.as_bytes().ct_eq(claims.cred.as_bytes()).into();
        if !same_credential || token.name.as_str() != claims.sub {
            return Err(Denied::StaleRefresh);
        }
        usable(token, client, now)
    }

    /// The registry a service names, for the audit trail: its name, or
    /// the service as given when it is no registry of this service.
    pub fn registry_name<'a>(&self, service: &'a str) -> &'a str {
        self.registry_name_of(service).unwrap_or(service)
    }

    /// The registry name in a service (`<name>.<domain>`), if it is one a
    /// registry could have.
    fn registry_name_of<'a>(&self, service: &'a str) -> Result<&'a str, Denied> {
        service
            .strip_suffix(self.domain.as_str())
            .and_then(|rest| rest.strip_suffix('.'))
            .filter(|name| RegistryName::is_valid(name))
            .ok_or(Denied::UnknownService)
    }
}

/// Status, expiry and the registry's allow list, at `now`, from `client`.
fn usable(token: LoginToken, client: IpAddr, now: i64) -> Result<LoginToken, Denied> {
    if token.settings.status != TokenStatus::Enabled {
        return Err(Denied::Disabled);
    }
    if token.settings.expires_at.is_some_and(|at| at <= now) {
        return Err(Denied::Expired);
    }
    if !rules::allows(&token.allow_list, client) {
        return Err(Denied::AddressNotAllowed);
    }
    Ok(token)
}
