//! The JWTs of the registry token service, signed with the registry key ring.
//!
//! An access token carries the granted `access` for one `service` (a
//! registry's hostname) and lives `--registry-token-ttl` seconds, never past
//! the registry token's own expiry date. Signing is the costliest step of a
//! login, so a login repeating the same grant within [`REUSE_SECONDS`] gets
//! the JWT signed for the first one: its credentials, status, expiry and
//! address were all checked again first, and the JWT grants exactly what a
//! fresh one would, expiring a few seconds sooner. A rotated signing key, a
//! changed expiry date or different scopes never reuse an earlier JWT.
//! A refresh token names the registry token and the credential it was issued
//! for; both are re-checked on every use, so it dies with that credential.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::access::Access;
use crate::cache::ExpiringCache;
use crate::clock::Clock;
use crate::jwt;
use crate::keys::KeyRing;
use crate::secrets;
use crate::store::LoginToken;

/// How long a signed access token is handed out again for the same grant.
pub const REUSE_SECONDS: i64 = 10;

/// How many recent grants are remembered for reuse.
const REUSE_CAPACITY: usize = 10_000;

/// The claims of a registry access token, as Distribution reads them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    pub access: Vec<Access>,
}

/// The claims of a refresh token: who may get more access tokens, for which service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// Always `refresh`: keeps access tokens from being replayed as refresh tokens.
    pub token_use: String,
    /// The registry token's id, to re-check it on every use.
    pub tid: String,
    /// The fingerprint of the credential it was issued for
    /// ([`secrets::credential_fingerprint`]): a refresh token dies with it.
    pub cred: String,
}

/// The longest a token Tollgate issues to itself lives: each is made
/// for one call.
const SELF_TOKEN_SECONDS: i64 = 60;

/// The subject of the tokens Tollgate issues to itself: a `:` makes it
/// no registry token's name.
pub const SELF_SUBJECT: &str = "tollgate:self";

/// How long a refresh token lives (it is re-checked against the registry token on use).
pub const REFRESH_LIFETIME_SECONDS: i64 = 30 * 24 * 3600;

/// An access token as handed out.
#[derive(Debug)]
pub struct IssuedAccess {
    /// The signed JWT, already encoded as a JSON string: answers embed it
    /// as it is, instead of escaping the same JWT on every reuse.
    pub jwt_json: Box<RawValue>,
    /// Unix seconds.
    pub issued_at: i64,
    pub expires_at: i64,
}

/// Signs registry JWTs with the registry key ring.
pub struct RegistryTokenIssuer {
    pub keys: KeyRing,
    pub issuer: String,
    pub lifetime_seconds: i64,
    /// Access tokens signed in the last [`REUSE_SECONDS`], by grant.
    recent: ExpiringCache<[u8; 32], Arc<IssuedAccess>>,
}

impl RegistryTokenIssuer {
    pub fn new(
        keys: KeyRing,
        issuer: String,
        lifetime_seconds: i64,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keys,
            issuer,
            lifetime_seconds,
            recent: ExpiringCache::new(REUSE_CAPACITY, REUSE_SECONDS, clock),
        }
    }

    /// An access token for the proven registry `token` at `service`
    /// granting `access`: a fresh one, or one signed for the same grant
    /// less than [`REUSE_SECONDS`] ago.
    pub fn access_token(
        &self,
        token: &LoginToken,
        service: &str,
        access: Vec<Access>,
        now: i64,
    ) -> Arc<IssuedAccess> {
        let key = self.keys.active();
        let grant = grant_digest(token, service, &access, key.id());
        if let Some(recent) = self.recent.get(&grant)
            && recent.issued_at <= now
            && now - recent.issued_at < REUSE_SECONDS
        {
            return recent;
        }
        let lifetime_end = now + self.lifetime_seconds;
        let expires_at = token
            .settings
            .expires_at
            .map_or(lifetime_end, |at| at.min(lifetime_end));
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: token.name.to_string(),
            aud: service.to_owned(),
            exp: expires_at,
            nbf: now,
            iat: now,
            jti: secrets::random_secret(16),
            access,
        };
        let jwt = jwt::encode(&key, key.libtrust_id(), &claims);
        let issued = Arc::new(IssuedAccess {
            jwt_json: serde_json::value::to_raw_value(&jwt).unwrap_or_default(),
            issued_at: now,
            expires_at,
        });
        self.recent.insert(grant, issued.clone());
        issued
    }

    /// An access token Tollgate issues to itself, to call the HTTP API of
    /// the registry at `service` (deleting repositories, resynchronising):
    /// its subject, [`SELF_SUBJECT`], is no registry token's name, and the
    /// registry's notifications of these calls are not counted.
    pub fn own_access_token(&self, service: &str, access: Vec<Access>, now: i64) -> String {
        let key = self.keys.active();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: SELF_SUBJECT.to_owned(),
            aud: service.to_owned(),
            exp: now + self.lifetime_seconds.min(SELF_TOKEN_SECONDS),
            nbf: now,
            iat: now,
            jti: secrets::random_secret(16),
            access,
        };
        jwt::encode(&key, key.libtrust_id(), &claims)
    }

    /// A refresh token for the proven registry token at `service`.
    pub fn refresh_token(&self, token: &LoginToken, service: &str, now: i64) -> String {
        let lifetime = token
            .settings
            .expires_at
            .map_or(REFRESH_LIFETIME_SECONDS, |at| {
                (at - now).clamp(0, REFRESH_LIFETIME_SECONDS)
            });
        let claims = RefreshClaims {
            iss: self.issuer.clone(),
            sub: token.name.to_string(),
            aud: service.to_owned(),
            exp: now + lifetime,
            iat: now,
            jti: secrets::random_secret(16),
            token_use: "refresh".into(),
            tid: token.id.to_string(),
            cred: secrets::credential_fingerprint(&token.password_digest),
        };
        let key = self.keys.active();
        jwt::encode(&key, key.libtrust_id(), &claims)
    }

    /// Verifies a refresh token for `service`; answers its claims.
    pub async fn check_refresh_token(
        &self,
        refresh: &str,
        service: &str,
        now: i64,
    ) -> Option<RefreshClaims> {
        let verified = jwt::decode::<RefreshClaims>(refresh, &self.keys)
            .await
            .ok()?;
        let claims = verified.claims;
        (claims.token_use == "refresh"
            && claims.iss == self.issuer
            && claims.aud == service
            && claims.exp > now)
            .then_some(claims)
    }
}

/// Everything an access token's content depends on, digested: the
/// registry token (id, name, expiry date), the service, the granted access
/// and the signing key. Each field is length-prefixed, so no two grants
/// share a digest by concatenation.
fn grant_digest(token: &LoginToken, service: &str, access: &[Access], key_id: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(token.id.as_str().as_bytes());
    field(token.name.as_str().as_bytes());
    field(&token.settings.expires_at.unwrap_or(i64::MAX).to_be_bytes());
    field(service.as_bytes());
    field(key_id.as_bytes());
    for entry in access {
        field(entry.type_.as_bytes());
        field(entry.name.as_bytes());
        for action in &entry.actions {
            field(action.as_bytes());
        }
        field(b"");
    }
    hasher.finalize().into()
}
