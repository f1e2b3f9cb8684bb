//! Tollgate as a client of a registry's own HTTP API (Distribution's
//! `/v2/`), with access tokens it issues to itself
//! ([`RegistryTokenIssuer::own_access_token`]): the catalog, a
//! repository's tags, a manifest (its digest, and the blobs and manifests
//! it references), a blob's size, and deleting a manifest.
//! Where each registry's API is, the operator says
//! (`tollgate admin registry-connect`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LINK};
use serde::Deserialize;

use super::access::Access;
use super::events::valid_digest;
use super::jwt::RegistryTokenIssuer;
use crate::clock::Clock;
use crate::store::ConnectedRegistry;

/// Every manifest type asked for: without the OCI ones Distribution
/// answers 404 for an OCI manifest, without schema 2 it rewrites one.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// The largest catalog page asked for (Distribution's default maximum).
const CATALOG_PAGE: usize = 1000;

/// The most repositories a catalog is read to (a registry that pages for
/// ever is refused, not followed).
const MAX_CATALOG: usize = 100_000;

/// One registry's API: where it is, and the service it announces.
#[derive(Debug, Clone)]
pub struct RegistryAddress {
    /// E.g. `https://registry.example.com:5000`, without a trailing slash.
    pub url: String,
    /// `<name>.<registry domain>`: the audience of the tokens it accepts.
    pub service: String,
}

impl RegistryAddress {
    /// Where a connected registry's API is, and the service it announces
    /// (`<name>.<domain>`).
    pub fn of(registry: &ConnectedRegistry, domain: &str) -> Self {
        Self {
            url: registry.api_url.trim_end_matches('/').to_owned(),
            service: format!("{}.{domain}", registry.name),
        }
    }
}

/// The most of a manifest read (Distribution's own limit is 4 MiB); of a
/// larger one only the digest, type and size are taken.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// A manifest as the registry serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    /// The blobs it references that the registry stores (config and
    /// layers; not foreign layers, which name URLs elsewhere), by digest.
    /// Their sizes are the pusher's word, not the registry's.
    pub blobs: Vec<String>,
    /// The manifests an index references (the images of each platform).
    pub manifests: Vec<String>,
}

/// What of a manifest's JSON is read: the descriptors it holds.
#[derive(Deserialize, Default)]
struct ManifestBody {
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Descriptor {
    digest: String,
    /// Where a foreign layer is; the registry does not store those.
    #[serde(default)]
    urls: Vec<String>,
}

impl Descriptor {
    /// The digest of a blob the registry stores, if this names one.
    fn stored_blob(&self) -> Option<String> {
        (self.urls.is_empty() && valid_digest(&self.digest)).then(|| self.digest.clone())
    }
}

/// Why a call to a registry's API failed.
#[derive(Debug)]
pub struct RegistryApiError(pub String);

impl std::fmt::Display for RegistryApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the registry's API failed: {}", self.0)
    }
}

/// Calls registries' APIs.
pub struct RegistryApi {
    http: reqwest::Client,
    issuer: Arc<RegistryTokenIssuer>,
    clock: Arc<dyn Clock>,
}

#[derive(Deserialize)]
struct Catalog {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Tags {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl RegistryApi {
    pub fn new(issuer: Arc<RegistryTokenIssuer>, clock: Arc<dyn Clock>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent("tollgate")
            .build()
            .unwrap_or_default();
        Self {
            http,
            issuer,
            clock,
        }
    }

    /// Every repository the registry lists (its catalog, page by page).
    pub async fn catalog(&self, at: &RegistryAddress) -> Result<Vec<String>, RegistryApiError> {
        let token = self.token(at, "registry", "catalog", &["*"]);
        let mut names = Vec::new();
        let mut next = Some(format!("{}/v2/_catalog?n={CATALOG_PAGE}", at.url));
        while let Some(url) = next.take() {
            let response = found(self.http.get(&url).bearer_auth(&token), &url)
                .await?
                .ok_or_else(|| RegistryApiError(format!("{url} answered 404 Not Found")))?;
            next = next_page(&at.url, response.headers().get(LINK)).filter(|n| *n != url);
            let page: Catalog = response
                .json()
                .await
                .map_err(|e| RegistryApiError(format!("catalog: {e}")))?;
            let repositories = page.repositories.unwrap_or_default();
            if repositories.is_empty() {
                break;
            }
            names.extend(repositories);
            if names.len() > MAX_CATALOG {
                return Err(RegistryApiError(format!(
                    "the catalog lists more than {MAX_CATALOG} repositories"
                )));
            }
        }
        Ok(names)
    }

    /// The repository's tags (none when it has none, or is unknown).
    pub async fn tags(
        &self,
        at: &RegistryAddress,
        repository: &str,
    ) -> Result<Vec<String>, RegistryApiError> {
        let token = self.token(at, "repository", repository, &["pull"]);
        let url = format!("{}/v2/{repository}/tags/list", at.url);
        let Some(response) = found(self.http.get(&url).bearer_auth(&token), &url).await? else {
            return Ok(Vec::new());
        };
        let tags: Tags = response
            .json()
            .await
            .map_err(|e| RegistryApiError(format!("{url}: {e}")))?;
        Ok(tags.tags.unwrap_or_default())
    }

    /// The manifest a tag or digest names, if the registry has it.
    pub async fn manifest(
        &self,
        at: &RegistryAddress,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryApiError> {
        let token = self.token(at, "repository", repository, &["pull"]);
        let url = format!("{}/v2/{repository}/manifests/{reference}", at.url);
        let request = self.http.get(&url).bearer_auth(&token);
        let Some(mut response) = found(request.header(ACCEPT, MANIFEST_ACCEPT), &url).await? else {
            return Ok(None);
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let digest = header("docker-content-digest")
            .ok_or_else(|| RegistryApiError(format!("{url}: no Docker-Content-Digest")))?;
        let media_type = header(CONTENT_TYPE.as_str()).unwrap_or_default();
        let declared: Option<i64> = header(CONTENT_LENGTH.as_str()).and_then(|v| v.parse().ok());
        let mut body = Vec::new();
        let mut whole = true;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| RegistryApiError(format!("{url}: {e}")))?
        {
            if body.len() + chunk.len() > MAX_MANIFEST_BYTES {
                whole = false;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        // A manifest too large to read still exists and has its size; it
        // just references nothing counted here.
        let (blobs, manifests) = if whole {
            references(&body)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Some(Manifest {
            digest,
            media_type,
            size: declared.unwrap_or(body.len() as i64),
            blobs,
            manifests,
        }))
    }

    /// The size of a blob as the registry stores it, if it does (through
    /// `repository`, which must reference it).
    pub async fn blob_size(
        &self,
        at: &RegistryAddress,
        repository: &str,
        digest: &str,
    ) -> Result<Option<i64>, RegistryApiError> {
        let token = self.token(at, "repository", repository, &["pull"]);
        let url = format!("{}/v2/{repository}/blobs/{digest}", at.url);
        let Some(response) = found(self.http.head(&url).bearer_auth(&token), &url).await? else {
            return Ok(None);
        };
        let size = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| RegistryApiError(format!("{url}: no Content-Length")))?;
        Ok(Some(size))
    }

    /// Deletes a manifest by digest (its tags go with it); a manifest
    /// already gone is no error.
    pub async fn delete_manifest(
        &self,
        at: &RegistryAddress,
        repository: &str,
        digest: &str,
    ) -> Result<(), RegistryApiError> {
        let token = self.token(at, "repository", repository, &["delete"]);
        let url = format!("{}/v2/{repository}/manifests/{digest}", at.url);
        // A manifest already gone (404) is no error.
        found(self.http.delete(&url).bearer_auth(&token), &url)
            .await
            .map(|_| ())
    }

    fn token(&self, at: &RegistryAddress, type_: &str, name: &str, actions: &[&str]) -> String {
        let access = vec![Access {
            type_: type_.to_owned(),
            name: name.to_owned(),
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        }];
        self.issuer
            .own_access_token(&at.service, access, self.clock.now())
    }
}

/// The blobs and the manifests a manifest's JSON references (none, if it
/// cannot be read).
fn references(body: &[u8]) -> (Vec<String>, Vec<String>) {
    let read: ManifestBody = serde_json::from_slice(body).unwrap_or_default();
    let blobs = read
        .config
        .iter()
        .chain(&read.layers)
        .filter_map(Descriptor::stored_blob)
        .collect();
    let manifests = read
        .manifests
        .iter()
        .filter_map(Descriptor::stored_blob)
        .collect();
    (blobs, manifests)
}

/// The answer to `request` (to `url`): `None` if the registry answers
/// 404, an error if it cannot be reached or answers another failure.
async fn found(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<Option<reqwest::Response>, RegistryApiError> {
    let response = request
        .send()
        .await
        .map_err(|e| RegistryApiError(format!("{url}: {e}")))?;
    if response.status() == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    ok(response, url).map(Some)
}

/// The response, if its status is a success.
fn ok(response: reqwest::Response, url: &str) -> Result<reqwest::Response, RegistryApiError> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(RegistryApiError(format!(
            "{url} answered {}",
            response.status()
        )))
    }
}

/// The next catalog page from a `Link: </v2/_catalog?last=..&n=..>; rel="next"` header.
fn next_page(base: &str, link: Option<&reqwest::header::HeaderValue>) -> Option<String> {
    let link = link?.to_str().ok()?;
    let start = link.find('<')? + 1;
    let end = link[start..].find('>')? + start;
    let target = &link[start..end];
    // Only a path on the same registry: the token goes with the request.
    (link[end..].contains("rel=\"next\"") && target.starts_with('/') && !target.starts_with("//"))
        .then(|| format!("{base}{target}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_references_the_blobs_the_registry_stores() {
        let config = format!("sha256:{}", "c".repeat(64));
        let layer = format!("sha256:{}", "a".repeat(64));
        let foreign = format!("sha256:{}", "f".repeat(64));
        let image = serde_json::json!({
            "config": {"digest": config, "size": 100},
            "layers": [
                {"digest": layer, "size": 2000},
                {"digest": foreign, "size": 9, "urls": ["https://elsewhere/layer"]},
                {"digest": "not a digest", "size": 1}
            ]
        });
        let (blobs, manifests) = references(image.to_string().as_bytes());
        assert_eq!(blobs, [config, layer]);
        assert!(manifests.is_empty());
        let child = format!("sha256:{}", "1".repeat(64));
        let index = serde_json::json!({"manifests": [{"digest": child, "size": 500}]});
        assert_eq!(
            references(index.to_string().as_bytes()),
            (vec![], vec![child])
        );
        assert_eq!(references(b"not json"), (vec![], vec![]));
    }

    #[test]
    fn the_next_catalog_page_is_read_from_the_link_header() {
        let link = reqwest::header::HeaderValue::from_static(
            "</v2/_catalog?last=team%2Fapp&n=1000>; rel=\"next\"",
        );
        assert_eq!(
            next_page("http://r:5000", Some(&link)).as_deref(),
            Some("http://r:5000/v2/_catalog?last=team%2Fapp&n=1000")
        );
        assert_eq!(next_page("http://r:5000", None), None);
        let elsewhere =
            reqwest::header::HeaderValue::from_static("<http://evil/v2/_catalog>; rel=\"next\"");
        assert_eq!(next_page("http://r:5000", Some(&elsewhere)), None);
    }
}
