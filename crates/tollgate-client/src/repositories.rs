//! The Container Registry API's repositories, artifacts and
//! vulnerabilities (API 1.2.1): what a registry holds.

use std::marker::PhantomData;

use futures_util::Stream;
use reqwest::Method;
use serde::de::DeserializeOwned;
use tollgate_api::artifacts::{ArtifactRead, NoVulnerability, ReadList, RepositoryRead};

use crate::pages::every_page;
use crate::registries::registry_path;
use crate::transport::segment;
use crate::{Client, Error};

impl Client {
    /// `registries_repositories_get` (`GET .../registries/{registryId}/repositories`):
    /// one page of the registry's repositories; set the filter, order and
    /// page on the builder.
    pub fn registries_repositories_get(&self, registry_id: &str) -> ListGet<'_, RepositoryRead> {
        ListGet::new(self, format!("{}/repositories", registry_path(registry_id)))
    }

    /// `registries_repositories_find_by_name`
    /// (`GET .../registries/{registryId}/repositories/{repositoryName}`).
    pub async fn registries_repositories_find_by_name(
        &self,
        registry_id: &str,
        repository_name: &str,
    ) -> Result<RepositoryRead, Error> {
        self.call(Method::GET, repository_path(registry_id, repository_name))
            .answer()
            .await
    }

    /// `registries_repositories_delete`: deletes the repository's
    /// manifests from the registry itself, then the repository.
    pub async fn registries_repositories_delete(
        &self,
        registry_id: &str,
        repository_name: &str,
    ) -> Result<(), Error> {
        self.call(
            Method::DELETE,
            repository_path(registry_id, repository_name),
        )
        .done()
        .await
    }

    /// `registries_artifacts_get` (`GET .../registries/{registryId}/artifacts`):
    /// one page of every artifact of the registry.
    pub fn registries_artifacts_get(&self, registry_id: &str) -> ListGet<'_, ArtifactRead> {
        ListGet::new(self, format!("{}/artifacts", registry_path(registry_id)))
    }

    /// `registries_repositories_artifacts_get`: one page of a repository's artifacts.
    pub fn registries_repositories_artifacts_get(
        &self,
        registry_id: &str,
        repository_name: &str,
    ) -> ListGet<'_, ArtifactRead> {
        ListGet::new(
            self,
            format!(
                "{}/artifacts",
                repository_path(registry_id, repository_name)
            ),
        )
    }

    /// `registries_repositories_artifacts_find_by_digest`: one artifact.
    pub async fn registries_repositories_artifacts_find_by_digest(
        &self,
        registry_id: &str,
        repository_name: &str,
        digest: &str,
    ) -> Result<ArtifactRead, Error> {
        self.call(
            Method::GET,
            artifact_path(registry_id, repository_name, digest),
        )
        .answer()
        .await
    }

    /// `registries_repositories_artifacts_vulnerabilities_get`: always an
    /// empty page from Tollgate, which has no vulnerability scanner.
    pub fn registries_repositories_artifacts_vulnerabilities_get(
        &self,
        registry_id: &str,
        repository_name: &str,
        digest: &str,
    ) -> ListGet<'_, NoVulnerability> {
        ListGet::new(
            self,
            format!(
                "{}/vulnerabilities",
                artifact_path(registry_id, repository_name, digest)
            ),
        )
    }
}

fn repository_path(registry_id: &str, repository_name: &str) -> String {
    format!(
        "{}/repositories/{}",
        registry_path(registry_id),
        segment(repository_name)
    )
}

fn artifact_path(registry_id: &str, repository_name: &str, digest: &str) -> String {
    format!(
        "{}/artifacts/{}",
        repository_path(registry_id, repository_name),
        segment(digest)
    )
}

/// A list of repositories, artifacts or vulnerabilities with its optional
/// parameters (those an operation does not take are ignored by the server).
#[must_use = "a request does nothing until it is sent"]
pub struct ListGet<'a, T> {
    client: &'a Client,
    path: String,
    offset: Option<u64>,
    limit: Option<u32>,
    filter_name: Option<String>,
    order_by: Option<String>,
    item: PhantomData<T>,
}

impl<'a, T: DeserializeOwned> ListGet<'a, T> {
    fn new(client: &'a Client, path: String) -> Self {
        Self {
            client,
            path,
            offset: None,
            limit: None,
            filter_name: None,
            order_by: None,
            item: PhantomData,
        }
    }

    /// Start at this position of the whole list (default 0).
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// At most this many per page (server default 100, at most 1000).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Only names containing this (`filter.name`, repositories only).
    pub fn filter_name(mut self, name: impl Into<String>) -> Self {
        self.filter_name = Some(name.into());
        self
    }

    /// The order (`orderBy`), e.g. `-pullCount`, `name`.
    pub fn order_by(mut self, order: impl Into<String>) -> Self {
        self.order_by = Some(order.into());
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<ReadList<T>, Error> {
        self.client
            .call(Method::GET, self.path)
            .query("offset", self.offset)
            .query("limit", self.limit)
            .query("filter.name", self.filter_name)
            .query("orderBy", self.order_by)
            .answer()
            .await
    }

    /// Every item from the offset on, walking the following pages (as
    /// long as a page links to a next one).
    pub fn all(self) -> impl Stream<Item = Result<T, Error>> + 'a
    where
        T: 'a,
    {
        let first = self.offset.unwrap_or(0);
        every_page(first, move |offset: u64| {
            let page = ListGet {
                client: self.client,
                path: self.path.clone(),
                offset: Some(offset),
                limit: self.limit,
                filter_name: self.filter_name.clone(),
                order_by: self.order_by.clone(),
                item: PhantomData,
            };
            async move {
                let page = page.send().await?;
                let next = offset + page.items.len() as u64;
                let more = !page.items.is_empty() && page.links.next.is_some();
                Ok::<_, Error>((page.items, more.then_some(next)))
            }
        })
    }
}
