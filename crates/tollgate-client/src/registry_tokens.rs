//! The Container Registry API's registry tokens
//! (`/containerregistries/registries/{registryId}/tokens`).

use futures_util::stream::Stream;
use reqwest::Method;
use tollgate_api::registry::{
    PatchTokenInput, PostTokenInput, RotateTokenInput, TokenResponse, TokensResponse,
};

use crate::pages::every_page;
use crate::registries::registry_path;
use crate::transport::segment;
use crate::{Client, Error};

impl Client {
    /// `registries_tokens_get` (`GET .../registries/{registryId}/tokens`):
    /// one page of a registry's tokens; set the page on the builder.
    pub fn registries_tokens_get(&self, registry_id: &str) -> RegistriesTokensGet<'_> {
        RegistriesTokensGet {
            client: self,
            registry_id: registry_id.to_owned(),
            offset: None,
            limit: None,
        }
    }

    /// Every token of a registry, walking all pages.
    pub fn registries_tokens_get_all(
        &self,
        registry_id: &str,
    ) -> impl Stream<Item = Result<TokenResponse, Error>> + '_ {
        self.registries_tokens_get(registry_id).all()
    }

    /// `registries_tokens_find_by_id` (`GET .../tokens/{tokenId}`).
    pub async fn registries_tokens_find_by_id(
        &self,
        registry_id: &str,
        token_id: &str,
    ) -> Result<TokenResponse, Error> {
        self.call(Method::GET, token_path(registry_id, token_id))
            .answer()
            .await
    }

    /// `registries_tokens_post` (`POST .../tokens`): creates a token; its
    /// password is in this answer only.
    pub async fn registries_tokens_post(
        &self,
        registry_id: &str,
        input: &PostTokenInput,
    ) -> Result<TokenResponse, Error> {
        self.call(
            Method::POST,
            format!("{}/tokens", registry_path(registry_id)),
        )
        .json(input)?
        .answer()
        .await
    }

    /// `registries_tokens_put` (`PUT .../tokens/{tokenId}`): creates the
    /// token under this id, or replaces its settings.
    pub async fn registries_tokens_put(
        &self,
        registry_id: &str,
        token_id: &str,
        input: &PostTokenInput,
    ) -> Result<TokenResponse, Error> {
        self.call(Method::PUT, token_path(registry_id, token_id))
            .json(input)?
            .answer()
            .await
    }

    /// `registries_tokens_patch` (`PATCH .../tokens/{tokenId}`): changes
    /// the fields set in `input` (expiry, scopes, status).
    pub async fn registries_tokens_patch(
        &self,
        registry_id: &str,
        token_id: &str,
        input: &PatchTokenInput,
    ) -> Result<TokenResponse, Error> {
        self.call(Method::PATCH, token_path(registry_id, token_id))
            .json(input)?
            .answer()
            .await
    }

    /// `registries_tokens_delete` (`DELETE .../tokens/{tokenId}`).
    pub async fn registries_tokens_delete(
        &self,
        registry_id: &str,
        token_id: &str,
    ) -> Result<(), Error> {
        self.call(Method::DELETE, token_path(registry_id, token_id))
            .done()
            .await
    }

    /// Tollgate's extension `POST .../tokens/{tokenId}/rotate` (IONOS Cloud
    /// has no such operation): a new password, shown in this answer only;
    /// the previous one keeps working for `grace_period_seconds`.
    pub async fn registries_tokens_rotate(
        &self,
        registry_id: &str,
        token_id: &str,
        grace_period_seconds: Option<i64>,
    ) -> Result<TokenResponse, Error> {
        let body = RotateTokenInput {
            grace_period_seconds,
        };
        self.call(
            Method::POST,
            format!("{}/rotate", token_path(registry_id, token_id)),
        )
        .json(&body)?
        .answer()
        .await
    }
}

fn token_path(registry_id: &str, token_id: &str) -> String {
    format!(
        "{}/tokens/{}",
        registry_path(registry_id),
        segment(token_id)
    )
}

/// `registries_tokens_get` with its optional parameters.
#[must_use = "a request does nothing until it is sent"]
pub struct RegistriesTokensGet<'a> {
    client: &'a Client,
    registry_id: String,
    offset: Option<u64>,
    limit: Option<u32>,
}

impl<'a> RegistriesTokensGet<'a> {
    /// Start at this position of the whole list (default 0).
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// At most this many per page (server default 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<TokensResponse, Error> {
        self.client
            .call(
                Method::GET,
                format!("{}/tokens", registry_path(&self.registry_id)),
            )
            .query("offset", self.offset)
            .query("limit", self.limit)
            .answer()
            .await
    }

    /// Every token from the offset on, walking the following pages.
    pub fn all(self) -> impl Stream<Item = Result<TokenResponse, Error>> + 'a {
        let (client, registry_id, limit) = (self.client, self.registry_id, self.limit);
        every_page(self.offset.unwrap_or(0), move |offset: u64| {
            let page = RegistriesTokensGet {
                client,
                registry_id: registry_id.clone(),
                offset: Some(offset),
                limit,
            };
            async move {
                let page = page.send().await?;
                let next = offset + page.items.len() as u64;
                let more = !page.items.is_empty() && (next as i64) < page.total;
                Ok::<_, Error>((page.items, more.then_some(next)))
            }
        })
    }
}
