//! The Auth API's access tokens as a service: generate, list, find and
//! delete a member's tokens in their contract.
//!
//! A token is written durably before its JWT is handed out, and a delete is
//! durable before it is acknowledged. A token generated with Bearer
//! authentication never outlives the token that generated it.

use std::fmt;
use std::sync::Arc;

use tollgate_api::account::AuthTokenId;
use tollgate_api::auth::{Criteria, Ttl};
use tollgate_api::parse::truncate;

use serde_json::json;

use super::access_tokens::AccessTokens;
use super::member::Member;
use crate::audit::Event;
use crate::clock::{Clock, rfc3339};
use crate::ops::metrics::{Metrics, TokenKind};
use crate::store::{AuthTokenRecord, Store, StoreError};

/// Why an access token operation failed.
#[derive(Debug)]
pub enum AuthTokenError {
    /// No such token of this member in this contract.
    NotFound(AuthTokenId),
    /// `criteria=CURRENT` without a Bearer token to delete.
    CurrentNeedsBearer,
    Store(StoreError),
}

impl fmt::Display for AuthTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthTokenError::NotFound(id) => write!(
                f,
                "no token with id {:?} exists for you in this contract",
                truncate(id.as_str())
            ),
            AuthTokenError::CurrentNeedsBearer => f.write_str(
                "criteria CURRENT deletes the token that authenticated the request: authenticate with Bearer",
            ),
            AuthTokenError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for AuthTokenError {
    fn from(e: StoreError) -> Self {
        AuthTokenError::Store(e)
    }
}

/// A member's access tokens.
pub struct AuthTokens {
    store: Store,
    clock: Arc<dyn Clock>,
    access_tokens: Arc<AccessTokens>,
    metrics: Arc<Metrics>,
}

impl AuthTokens {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        access_tokens: Arc<AccessTokens>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            clock,
            access_tokens,
            metrics,
        }
    }

    /// A new token for `by` in their contract, valid `ttl` (capped by the
    /// Bearer token that asks, if one does); answers its record and JWT.
    pub async fn generate(
        &self,
        by: &Member,
        ttl: Ttl,
    ) -> Result<(AuthTokenRecord, String), AuthTokenError> {
        let now = self.clock.now();
        let not_after = by.bearer_token().map(|token| token.expires_at);
        let (record, jwt) =
            self.access_tokens
                .issue(&by.user_id, &by.membership, ttl.seconds(), not_after, now);
        let event = Event::by_member(
            by,
            now,
            "auth_token.generated",
            ("auth_token", record.id.as_str()),
            json!({"expirationDate": rfc3339(record.expires_at)}),
        );
        self.store.insert_auth_token(&record, &event).await?;
        self.metrics.issued(TokenKind::AccessToken, 1);
        Ok((record, jwt))
    }

    /// The member's tokens in their contract, oldest first.
    pub async fn list(&self, by: &Member) -> Result<Vec<AuthTokenRecord>, AuthTokenError> {
        Ok(self
            .store
            .list_auth_tokens(&by.user_id, by.contract())
            .await?)
    }

    /// One of the member's tokens in their contract.
    pub async fn find(
        &self,
        by: &Member,
        id: &AuthTokenId,
    ) -> Result<AuthTokenRecord, AuthTokenError> {
        // A client reading its own token: authentication just read that row.
        if let Some(token) = by.bearer_token()
            && token.id == *id
        {
            return Ok(token.clone());
        }
        self.store
            .find_auth_token(&by.user_id, by.contract(), id)
            .await?
            .ok_or_else(|| AuthTokenError::NotFound(id.clone()))
    }

    /// Deletes one of the member's tokens; it is refused from the next request on.
    pub async fn delete(&self, by: &Member, id: &AuthTokenId) -> Result<(), AuthTokenError> {
        let event = self.deleted(by, id.as_str(), json!({}));
        if self
            .store
            .delete_auth_token(&by.user_id, by.contract(), id, &event)
            .await?
        {
            self.metrics.revoked(TokenKind::AccessToken, 1);
            Ok(())
        } else {
            Err(AuthTokenError::NotFound(id.clone()))
        }
    }

    /// Deletes all, the expired, or the current token of the member.
    pub async fn delete_by(&self, by: &Member, criteria: Criteria) -> Result<(), AuthTokenError> {
        let (user, contract) = (&by.user_id, by.contract());
        let deleted = match criteria {
            Criteria::All => {
                let event = self.deleted(by, "*", json!({"criteria": "ALL"}));
                self.store
                    .delete_all_auth_tokens(user, contract, &event)
                    .await?
            }
            Criteria::Expired => {
                let event = self.deleted(by, "*", json!({"criteria": "EXPIRED"}));
                self.store
                    .delete_expired_auth_tokens(user, contract, self.clock.now(), &event)
                    .await?
            }
            Criteria::Current => {
                let token = by
                    .bearer_token()
                    .ok_or(AuthTokenError::CurrentNeedsBearer)?;
                let event = self.deleted(by, token.id.as_str(), json!({"criteria": "CURRENT"}));
                u64::from(
                    self.store
                        .delete_auth_token(user, contract, &token.id, &event)
                        .await?,
                )
            }
        };
        self.metrics.revoked(TokenKind::AccessToken, deleted);
        Ok(())
    }

    /// The event of deleting `id` (`*`: several tokens at once).
    fn deleted(
        &self,
        by: &Member,
        id: &str,
        detail: serde_json::Value,
    ) -> crate::store::AuditEvent {
        Event::by_member(
            by,
            self.clock.now(),
            "auth_token.deleted",
            ("auth_token", id),
            detail,
        )
    }
}
