//! The Container Registry API's registries, names and locations
//! (`/containerregistries`).

use futures_util::stream::Stream;
use reqwest::Method;
use tollgate_api::registry::{
    LocationsResponse, PatchRegistryInput, PostRegistryInput, RegistriesResponse, RegistryResponse,
};

use crate::pages::every_page;
use crate::transport::segment;
use crate::{Client, Error};

impl Client {
    /// `registries_get` (`GET /containerregistries/registries`): one page
    /// of the contract's registries; set the filter and page on the builder.
    pub fn registries_get(&self) -> RegistriesGet<'_> {
        RegistriesGet {
            client: self,
            filter_name: None,
            limit: None,
            pagination_token: None,
        }
    }

    /// Every registry of the contract, walking all pages.
    pub fn registries_get_all(&self) -> impl Stream<Item = Result<RegistryResponse, Error>> + '_ {
        self.registries_get().all()
    }

    /// `registries_find_by_id` (`GET /containerregistries/registries/{registryId}`).
    pub async fn registries_find_by_id(
        &self,
        registry_id: &str,
    ) -> Result<RegistryResponse, Error> {
        self.call(Method::GET, registry_path(registry_id))
            .answer()
            .await
    }

    /// `registries_post` (`POST /containerregistries/registries`): creates a registry.
    pub async fn registries_post(
        &self,
        input: &PostRegistryInput,
    ) -> Result<RegistryResponse, Error> {
        self.call(Method::POST, "/containerregistries/registries".into())
            .json(input)?
            .answer()
            .await
    }

    /// `registries_put` (`PUT /containerregistries/registries/{registryId}`):
    /// creates the registry under this id, or replaces its settings.
    pub async fn registries_put(
        &self,
        registry_id: &str,
        input: &PostRegistryInput,
    ) -> Result<RegistryResponse, Error> {
        self.call(Method::PUT, registry_path(registry_id))
            .json(input)?
            .answer()
            .await
    }

    /// `registries_patch` (`PATCH /containerregistries/registries/{registryId}`):
    /// changes the fields set in `input`.
    pub async fn registries_patch(
        &self,
        registry_id: &str,
        input: &PatchRegistryInput,
    ) -> Result<RegistryResponse, Error> {
        self.call(Method::PATCH, registry_path(registry_id))
            .json(input)?
            .answer()
            .await
    }

    /// `registries_delete` (`DELETE /containerregistries/registries/{registryId}`):
    /// deletes the registry with its tokens.
    pub async fn registries_delete(&self, registry_id: &str) -> Result<(), Error> {
        self.call(Method::DELETE, registry_path(registry_id))
            .done()
            .await
    }

    /// `names_check_usage` (`HEAD /containerregistries/names/{name}`):
    /// true when a registry already has the name, false when it is free.
    pub async fn names_check_usage(&self, name: &str) -> Result<bool, Error> {
        let path = format!("/containerregistries/names/{}", segment(name));
        match self.call(Method::HEAD, path).done().await {
            Ok(()) => Ok(true),
            Err(Error::Api { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `locations_get` (`GET /containerregistries/locations`): where
    /// registries may be created.
    pub async fn locations_get(&self) -> Result<LocationsResponse, Error> {
        self.call(Method::GET, "/containerregistries/locations".into())
            .answer()
            .await
    }
}

pub(crate) fn registry_path(registry_id: &str) -> String {
    format!("/containerregistries/registries/{}", segment(registry_id))
}

/// `registries_get` with its optional parameters.
#[must_use = "a request does nothing until it is sent"]
pub struct RegistriesGet<'a> {
    client: &'a Client,
    filter_name: Option<String>,
    limit: Option<u32>,
    pagination_token: Option<String>,
}

impl<'a> RegistriesGet<'a> {
    /// Only registries whose name contains this text.
    pub fn filter_name(mut self, name: impl Into<String>) -> Self {
        self.filter_name = Some(name.into());
        self
    }

    /// At most this many per page (server default 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The page after the one whose `pagination.token` this is.
    pub fn pagination_token(mut self, token: impl Into<String>) -> Self {
        self.pagination_token = Some(token.into());
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<RegistriesResponse, Error> {
        self.client
            .call(Method::GET, "/containerregistries/registries".into())
            .query("filter.name", self.filter_name.as_deref())
            .query("limit", self.limit)
            .query("pagination.token", self.pagination_token.as_deref())
            .answer()
            .await
    }

    /// Every registry from this page on, walking the following pages.
    pub fn all(self) -> impl Stream<Item = Result<RegistryResponse, Error>> + 'a {
        let (client, filter_name, limit) = (self.client, self.filter_name, self.limit);
        every_page(self.pagination_token, move |token: Option<String>| {
            let page = RegistriesGet {
                client,
                filter_name: filter_name.clone(),
                limit,
                pagination_token: token,
            };
            async move {
                let page = page.send().await?;
                let next = Some(page.pagination.token).filter(|t| !t.is_empty());
                Ok::<_, Error>((page.items, next.map(Some)))
            }
        })
    }
}
