//! Auth API access tokens: what a token says, how it is issued, and the
//! rules a Bearer token must pass on every request.
//!
//! A token is an ES256 JWT whose header `kid` and claim `jti` are the token
//! id. It is accepted only while its signature holds, its issuer is ours,
//! it has not expired, and its row still exists in the store (deleting the
//! row revokes it, on every node, at the next request). A verified signature
//! is remembered for a few minutes, so a repeated token costs a SHA-256 and
//! the store lookup instead of an ECDSA verification.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tollgate_api::account::{AuthTokenId, Role, UserId};
use tollgate_api::auth::ContractNumber;

use crate::cache::ExpiringCache;
use crate::clock::Clock;
use crate::jwt::{self, JwtError, Verified};
use crate::keys::KeyRing;
use crate::store::{AuthTokenRecord, BearerLookup, Membership, Store, StoreError};

/// Clock skew tolerated on `nbf` and `iat` between nodes.
const LEEWAY_SECONDS: i64 = 60;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub identity: Identity,
}

/// Who the token speaks for, as IONOS tokens carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub contract_number: ContractNumber,
    pub role: Role,
    pub user_id: String,
}

/// Why a Bearer token was refused.
#[derive(Debug)]
pub enum BearerError {
    Jwt(JwtError),
    WrongIssuer,
    Expired,
    NotYetValid,
    /// Deleted, never issued here, or its owner left the contract.
    Revoked,
    Store(StoreError),
}

impl std::fmt::Display for BearerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BearerError::Jwt(e) => e.fmt(f),
            BearerError::WrongIssuer => f.write_str("the token was not issued by this service"),
            BearerError::Expired => f.write_str("the token has expired; generate a new one"),
            BearerError::NotYetValid => f.write_str("the token is not valid yet"),
            BearerError::Revoked => f.write_str("the token was deleted or is unknown"),
            BearerError::Store(e) => e.fmt(f),
        }
    }
}

/// How many verified signatures are remembered, and for how long (seconds).
const VERIFIED_CAPACITY: usize = 20_000;
const VERIFIED_TTL: i64 = 300;

/// Issues and checks access tokens with the Auth API keys.
pub struct AccessTokens {
    keys: KeyRing,
    issuer: String,
    /// Signatures already verified, by SHA-256 of the whole token: a repeat
    /// skips the ECDSA verification, never the claim and revocation checks.
    verified: ExpiringCache<[u8; 32], Arc<Verified<Claims>>>,
}

impl AccessTokens {
    pub fn new(keys: KeyRing, issuer: String, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys,
            issuer,
            verified: ExpiringCache::new(VERIFIED_CAPACITY, VERIFIED_TTL, clock),
        }
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Mints a token for `user_id` in `membership`'s contract, valid `ttl`
    /// seconds but never past `not_after` (the expiry of the token that
    /// asked for it, so a short-lived token cannot mint a long-lived one).
    /// The caller must store the record before handing out the JWT.
    pub fn issue(
        &self,
        user_id: &UserId,
        membership: &Membership,
        ttl: u32,
        not_after: Option<i64>,
        now: i64,
    ) -> (AuthTokenRecord, String) {
        let key = self.keys.active();
        let id = uuid::Uuid::now_v7().to_string();
        let lifetime_end = now + i64::from(ttl);
        let expires_at = not_after.map_or(lifetime_end, |end| end.min(lifetime_end));
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: user_id.to_string(),
            iat: now,
            nbf: now,
            exp: expires_at,
            jti: id.clone(),
            identity: Identity {
                contract_number: membership.contract,
                role: membership.role,
                user_id: user_id.to_string(),
            },
        };
        let jwt = jwt::encode(&key, &id, &claims);
        let record = AuthTokenRecord {
            id: AuthTokenId::from(id),
            user_id: user_id.clone(),
            contract: membership.contract,
            signing_key_id: key.id().to_owned(),
            created_at: now,
            expires_at,
            last_use: Default::default(),
        };
        (record, jwt)
    }

    /// Checks a presented token completely: signature, issuer, time, and that
    /// it still exists. Answers the stored token with its owner's membership.
    pub async fn authenticate(
        &self,
        store: &Store,
        token: &str,
        now: i64,
    ) -> Result<BearerLookup, BearerError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let verified = match self.verified.get(&digest) {
            Some(verified) => verified,
            None => {
                let verified = Arc::new(
                    jwt::decode::<Claims>(token, &self.keys)
                        .await
                        .map_err(BearerError::Jwt)?,
                );
                self.verified.insert(digest, verified.clone());
                verified
            }
        };
        let claims = &verified.claims;
        if claims.iss != self.issuer {
            return Err(BearerError::WrongIssuer);
        }
        if claims.jti != verified.kid {
            return Err(BearerError::Jwt(JwtError::Malformed));
        }
        if claims.exp <= now {
            return Err(BearerError::Expired);
        }
        if claims.nbf > now + LEEWAY_SECONDS || claims.iat > now + LEEWAY_SECONDS {
            return Err(BearerError::NotYetValid);
        }
        let lookup = store
            .bearer_lookup(&verified.kid)
            .await
            .map_err(BearerError::Store)?
            .ok_or(BearerError::Revoked)?;
        if lookup.token.user_id.as_str() != claims.sub
            || lookup.token.contract != claims.identity.contract_number
        {
            return Err(BearerError::Revoked);
        }
        if lookup.token.expires_at <= now {
            return Err(BearerError::Expired);
        }
        Ok(lookup)
    }
}
