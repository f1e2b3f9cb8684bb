//! The Auth API v1 (`/auth/v1`): access tokens, per contract.

use reqwest::Method;
use tollgate_api::auth::{Criteria, DeleteResponse, Jwt, Token, Tokens};

use crate::transport::segment;
use crate::{Client, Error};

impl Client {
    /// `TokensGenerate` (`GET /auth/v1/tokens/generate`): a new access
    /// token of the caller in the contract; set its lifetime on the builder.
    pub fn tokens_generate(&self) -> TokensGenerate<'_> {
        TokensGenerate {
            client: self,
            ttl: None,
        }
    }

    /// `TokensGet` (`GET /auth/v1/tokens`): the caller's tokens in the
    /// contract, expired ones included.
    pub async fn tokens_get(&self) -> Result<Tokens, Error> {
        self.call(Method::GET, "/auth/v1/tokens".into())
            .answer()
            .await
    }

    /// `TokensFindById` (`GET /auth/v1/tokens/{tokenId}`): one token by its
    /// id, the `kid` in its JWT's header.
    pub async fn tokens_find_by_id(&self, token_id: &str) -> Result<Token, Error> {
        self.call(Method::GET, token_path(token_id)).answer().await
    }

    /// `TokensDeleteById` (`DELETE /auth/v1/tokens/{tokenId}`): revokes one token.
    pub async fn tokens_delete_by_id(&self, token_id: &str) -> Result<DeleteResponse, Error> {
        self.call(Method::DELETE, token_path(token_id))
            .answer()
            .await
    }

    /// `TokensDeleteByCriteria` (`DELETE /auth/v1/tokens?criteria=`):
    /// revokes all the caller's tokens, the expired ones, or (with a
    /// Bearer token) the one in use.
    pub async fn tokens_delete_by_criteria(
        &self,
        criteria: Criteria,
    ) -> Result<DeleteResponse, Error> {
        self.call(Method::DELETE, "/auth/v1/tokens".into())
            .query("criteria", Some(criteria.as_str()))
            .answer()
            .await
    }
}

fn token_path(token_id: &str) -> String {
    format!("/auth/v1/tokens/{}", segment(token_id))
}

/// `TokensGenerate` with its optional parameter.
#[must_use = "a request does nothing until it is sent"]
pub struct TokensGenerate<'a> {
    client: &'a Client,
    ttl: Option<u32>,
}

impl TokensGenerate<'_> {
    /// The token's lifetime in seconds (60 to 31,536,000; the server's
    /// default is one year).
    pub fn ttl(mut self, seconds: u32) -> Self {
        self.ttl = Some(seconds);
        self
    }

    /// Generates the token.
    pub async fn send(self) -> Result<Jwt, Error> {
        self.client
            .call(Method::GET, "/auth/v1/tokens/generate".into())
            .query("ttl", self.ttl)
            .answer()
            .await
    }
}
