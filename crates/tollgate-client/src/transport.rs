//! The HTTP exchange every operation goes through: the credential and
//! contract, the timeout, retries of what is safe to repeat, and reading
//! the answer into a wire type or an [`Error`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tollgate_api::auth::{CONTRACT_HEADER, ContractNumber};

use crate::{Configuration, Credentials, Error};

/// A client of both APIs. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    configuration: Arc<Configuration>,
}

impl Client {
    /// A client with `configuration`; fails on an unreadable root certificate.
    pub fn new(configuration: Configuration) -> Result<Client, Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(configuration.timeout)
            .user_agent(concat!("tollgate-client/", env!("CARGO_PKG_VERSION")));
        for pem in &configuration.root_certificates {
            let certificate = reqwest::Certificate::from_pem(pem)
                .map_err(|e| Error::Usage(format!("cannot read a root certificate: {e}")))?;
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Usage(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client {
            http,
            configuration: Arc::new(configuration),
        })
    }

    /// A client configured from the environment ([`Configuration::from_env`]).
    pub fn from_env() -> Result<Client, Error> {
        Self::new(Configuration::from_env())
    }

    /// The settings this client uses.
    pub fn configuration(&self) -> &Configuration {
        &self.configuration
    }

    /// The same client, authenticating with the access token `token`.
    pub fn with_token(&self, token: &str) -> Client {
        self.with(|c| c.credentials = Credentials::Token(token.to_owned()))
    }

    /// The same client, acting in `contract` (`X-Contract-Number`).
    pub fn with_contract(&self, contract: ContractNumber) -> Client {
        self.with(|c| c.contract = Some(contract))
    }

    fn with(&self, change: impl FnOnce(&mut Configuration)) -> Client {
        let mut configuration = (*self.configuration).clone();
        change(&mut configuration);
        Client {
            http: self.http.clone(),
            configuration: Arc::new(configuration),
        }
    }

    /// A request to `path` (below the host, e.g. `/auth/v1/tokens`).
    pub(crate) fn call(&self, method: Method, path: String) -> Call<'_> {
        Call {
            client: self,
            method,
            path,
            query: Vec::new(),
            body: None,
        }
    }
}

/// One request being put together.
pub(crate) struct Call<'a> {
    client: &'a Client,
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

impl Call<'_> {
    pub(crate) fn query(mut self, name: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(value) = value {
            self.query.push((name, value.to_string()));
        }
        self
    }

    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Usage(format!("cannot encode the request body: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Sends, and reads a 2xx answer into `T`.
    pub(crate) async fn answer<T: DeserializeOwned>(self) -> Result<T, Error> {
        let (status, body) = self.send().await?;
        serde_json::from_slice(&body).map_err(|e| Error::Decode {
            status: status.as_u16(),
            detail: e.to_string(),
        })
    }

    /// Sends, and accepts any 2xx answer.
    pub(crate) async fn done(self) -> Result<(), Error> {
        self.send().await.map(|_| ())
    }

    /// Sends the request, retrying after a 429 or 503 when it is safe to
    /// repeat; answers a 2xx status and body, or the refusal as an error.
    pub(crate) async fn send(self) -> Result<(StatusCode, Vec<u8>), Error> {
        let configuration = &self.client.configuration;
        let repeatable = !matches!(self.method, Method::POST | Method::PATCH);
        let url = format!("{}{}", configuration.base_url, self.path);
        let mut attempt = 0;
        loop {
            let mut request = self
                .client
                .http
                .request(self.method.clone(), &url)
                .header(reqwest::header::ACCEPT, "application/json")
                .query(&self.query);
            request = match &configuration.credentials {
                Credentials::Token(token) => request.bearer_auth(token),
                Credentials::Basic { username, password } => {
                    request.basic_auth(username, Some(password))
                }
                Credentials::None => request,
            };
            if let Some(contract) = configuration.contract {
                request = request.header(CONTRACT_HEADER, contract.to_string());
            }
            if let Some(body) = &self.body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = request.send().await.map_err(Error::transport)?;
            let status = response.status();
            let busy = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            );
            if busy && repeatable && attempt < configuration.max_retries {
                let wait = retry_after(response.headers())
                    .unwrap_or_else(|| backoff(attempt))
                    .min(configuration.max_retry_wait);
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            let body = response.bytes().await.map_err(Error::transport)?.to_vec();
            if status.is_success() {
                return Ok((status, body));
            }
            return Err(Error::refused(status.as_u16(), &body));
        }
    }
}

/// Half a second, doubled with every attempt.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500) * 2u32.saturating_pow(attempt.min(10))
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// One path segment, percent-encoded (names may hold any character).
pub(crate) fn segment(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(120);
        headers.insert(RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_doubles() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(2));
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("team/app"), "team%2Fapp");
        assert_eq!(segment("a b"), "a%20b");
        assert_eq!(segment("01a2-x_y.z~"), "01a2-x_y.z~");
    }
}
