//! How a [`crate::Client`] reaches the APIs and proves who it is.

use std::time::Duration;

use tollgate_api::auth::ContractNumber;

use crate::Error;

/// The IONOS Cloud API host, used when nothing else is said.
pub const DEFAULT_API_URL: &str = "https://api.ionos.com";

/// The credential sent with every request.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Bearer TOKEN`: an access token (a JWT).
    Token(String),
    /// `Authorization: Basic`: an account's e-mail and password.
    Basic {
        /// The account's e-mail.
        username: String,
        /// Its password.
        password: String,
    },
    /// No `Authorization` header (only public endpoints answer).
    None,
}

impl std::fmt::Debug for Credentials {
    // Never prints a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(..)"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ..)"),
            Credentials::None => f.write_str("None"),
        }
    }
}

/// Where the APIs are, who calls them, and how patiently.
#[derive(Debug, Clone)]
pub struct Configuration {
    /// The host, e.g. `https://api.ionos.com` or `http://127.0.0.1:8080`;
    /// the APIs' paths (`/auth/v1`, `/containerregistries`) are appended.
    pub base_url: String,
    /// The credential sent with every request.
    pub credentials: Credentials,
    /// Sent as `X-Contract-Number` with every request, when set: needed by
    /// accounts in several contracts that log in with a password.
    pub contract: Option<ContractNumber>,
    /// How long one attempt at a request may take in all.
    pub timeout: Duration,
    /// How many times a request safe to repeat is retried after a 429 or 503.
    pub max_retries: u32,
    /// The longest wait before a retry, whatever `Retry-After` asks for.
    pub max_retry_wait: Duration,
    /// PEM certificates trusted besides the system's (a private CA, or a
    /// self-signed Tollgate).
    pub root_certificates: Vec<Vec<u8>>,
}

impl Configuration {
    /// A configuration for the host at `base_url`, with no credential.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: normalise_base_url(&base_url.into()),
            credentials: Credentials::None,
            contract: None,
            timeout: Duration::from_secs(30),
            max_retries: 3,
            max_retry_wait: Duration::from_secs(60),
            root_certificates: Vec::new(),
        }
    }

    /// Like the official SDKs: the host from `IONOS_API_URL` (default
    /// [`DEFAULT_API_URL`]); `IONOS_TOKEN` as a Bearer token when set,
    /// otherwise `IONOS_USERNAME` and `IONOS_PASSWORD` for Basic.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let configuration =
            Self::new(var("IONOS_API_URL").unwrap_or_else(|| DEFAULT_API_URL.into()));
        match (
            var("IONOS_TOKEN"),
            var("IONOS_USERNAME"),
            var("IONOS_PASSWORD"),
        ) {
            (Some(token), _, _) => configuration.token(token),
            (None, Some(username), Some(password)) => configuration.basic_auth(username, password),
            _ => configuration,
        }
    }

    /// Authenticate with an access token (`Bearer`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.credentials = Credentials::Token(token.into());
        self
    }

    /// Authenticate with an e-mail and password (`Basic`).
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Credentials::Basic {
            username: username.into(),
            password: password.into(),
        };
        self
    }

    /// Act in `contract` (`X-Contract-Number`); refuses a number that is not positive.
    pub fn contract(mut self, contract: i32) -> Result<Self, Error> {
        self.contract = Some(
            ContractNumber::new(contract)
                .map_err(|e| Error::Usage(format!("contract number: {e}")))?,
        );
        Ok(self)
    }

    /// How long one attempt may take in all (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries after a 429 or 503 for requests safe to repeat (default 3; 0 turns them off).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Trust this PEM certificate too.
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }
}

/// The host without a trailing `/` or an API's own path, so that
/// `https://api.ionos.com/auth/v1` and `https://api.ionos.com` both work.
fn normalise_base_url(url: &str) -> String {
    let mut url = url.trim().trim_end_matches('/');
    for api_path in ["/auth/v1", "/containerregistries"] {
        if let Some(host) = url.strip_suffix(api_path) {
            url = host;
        }
    }
    url.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_is_the_host_whatever_api_path_it_ends_in() {
        for given in [
            "https://api.ionos.com",
            "https://api.ionos.com/",
            "https://api.ionos.com/auth/v1",
            "https://api.ionos.com/containerregistries/",
        ] {
            assert_eq!(Configuration::new(given).base_url, "https://api.ionos.com");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let configuration = Configuration::new("http://x").basic_auth("a@example.com", "hunter2");
        let shown = format!("{configuration:?}");
        assert!(shown.contains("a@example.com") && !shown.contains("hunter2"));
        let shown = format!("{:?}", Configuration::new("http://x").token("eyJsecret"));
        assert!(!shown.contains("eyJsecret"));
    }

    #[test]
    fn contract_numbers_must_be_positive() {
        assert!(Configuration::new("http://x").contract(0).is_err());
        assert!(Configuration::new("http://x").contract(31_000_001).is_ok());
    }
}
