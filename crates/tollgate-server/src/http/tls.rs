//! HTTPS: the certificate and key (PEM files) served with rustls, re-read
//! when the files change, so a renewed certificate is served without a
//! restart.
//!
//! The files are checked every few seconds. A change is taken only when
//! the pair loads and matches (a certificate written before its key is
//! taken once the key is written too); until then the previous pair is
//! served.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// How often the files are checked for a change.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Where the certificate chain and its private key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's certificate first.
    pub certificate: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// When the files were last written, and their sizes: what a change shows in.
type Stamp = [(Option<SystemTime>, u64); 2];

/// The certificate being served, and the files it came from.
#[derive(Debug)]
pub struct ReloadingCertificate {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    served: RwLock<Arc<CertifiedKey>>,
    /// The files as last read, whether or not they could be used.
    examined: Mutex<Stamp>,
}

impl ReloadingCertificate {
    /// Loads the files, or says what is wrong with them.
    pub fn load(files: TlsFiles) -> anyhow::Result<Arc<Self>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let stamp = stamp(&files);
        let key = certified_key(&files, &provider)?;
        Ok(Arc::new(Self {
            files,
            provider,
            served: RwLock::new(key),
            examined: Mutex::new(stamp),
        }))
    }

    /// The acceptor that presents this certificate (HTTP/1.1 only).
    pub fn acceptor(self: &Arc<Self>) -> anyhow::Result<TlsAcceptor> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow::anyhow!("cannot set up TLS: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    /// Re-reads the files if they changed since they were last read;
    /// true when a new certificate is now served.
    pub fn reload_if_changed(&self) -> bool {
        let now = stamp(&self.files);
        {
            let mut examined = self.examined.lock().unwrap_or_else(|e| e.into_inner());
            if *examined == now {
                return false;
            }
            *examined = now;
        }
        match certified_key(&self.files, &self.provider) {
            Ok(key) => {
                *self.served.write().unwrap_or_else(|e| e.into_inner()) = key;
                tracing::info!(
                    "serving the certificate re-read from {}",
                    self.files.certificate.display()
                );
                true
            }
            Err(e) => {
                tracing::warn!("keeping the certificate served until now: {e}");
                false
            }
        }
    }

    /// Checks the files every few seconds, for as long as the service runs.
    pub async fn reload_periodically(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(CHECK_EVERY);
        loop {
            ticks.tick().await;
            let certificate = self.clone();
            let _ = tokio::task::spawn_blocking(move || certificate.reload_if_changed()).await;
        }
    }

    fn served(&self) -> Arc<CertifiedKey> {
        self.served
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.served())
    }
}

fn stamp(files: &TlsFiles) -> Stamp {
    let of = |path: &Path| match std::fs::metadata(path) {
        Ok(meta) => (meta.modified().ok(), meta.len()),
        Err(_) => (None, 0),
    };
    [of(&files.certificate), of(&files.key)]
}

/// The pair from the files, checked to belong together.
fn certified_key(files: &TlsFiles, provider: &CryptoProvider) -> anyhow::Result<Arc<CertifiedKey>> {
    let certificate = files.certificate.display();
    let chain = CertificateDer::pem_file_iter(&files.certificate)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("cannot read the TLS certificate {certificate}: {e}"))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "the TLS certificate file {certificate} holds no PEM certificate"
    );
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the TLS private key {}: {e}",
            files.key.display()
        )
    })?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| anyhow::anyhow!("cannot use the TLS private key: {e}"))?;
    let pair = CertifiedKey::new(chain, signing);
    pair.keys_match().map_err(|e| {
        anyhow::anyhow!("the TLS private key does not belong to the certificate {certificate}: {e}")
    })?;
    Ok(Arc::new(pair))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (TlsFiles, Vec<u8>) {
        let made = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        let files = TlsFiles {
            certificate: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.certificate, made.cert.pem()).unwrap();
        std::fs::write(&files.key, made.key_pair.serialize_pem()).unwrap();
        (files, made.cert.der().to_vec())
    }

    fn served_der(certificate: &ReloadingCertificate) -> Vec<u8> {
        certificate.served().end_entity_cert().unwrap().to_vec()
    }

    #[test]
    fn a_changed_pair_is_served_and_a_broken_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let (files, first) = write_pair(dir.path(), "first.example");
        let certificate = ReloadingCertificate::load(files.clone()).unwrap();
        assert_eq!(served_der(&certificate), first);
        assert!(!certificate.reload_if_changed(), "nothing changed");

        std::thread::sleep(Duration::from_millis(20));
        let (_, second) = write_pair(dir.path(), "second.example.org");
        assert!(certificate.reload_if_changed());
        assert_eq!(served_der(&certificate), second);

        std::thread::sleep(Duration::from_millis(20));
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&files.key, other.serialize_pem()).unwrap();
        assert!(
            !certificate.reload_if_changed(),
            "a key of another certificate"
        );
        assert_eq!(served_der(&certificate), second);
    }

    #[test]
    fn unreadable_files_are_refused_with_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles {
            certificate: dir.path().join("missing.pem"),
            key: dir.path().join("key.pem"),
        };
        let error = ReloadingCertificate::load(files).unwrap_err().to_string();
        assert!(error.contains("missing.pem"), "{error}");
    }
}
