//! A real CNCF Distribution registry (Debian's `docker-registry`) whose
//! token service is the test's Tollgate, and skopeo to log in, push and pull.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::{REGISTRY_ISSUER, TestApp};

/// Fails the test with an install hint when `tool` is not on PATH.
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{tool} is missing: install it with `apt-get install -y docker-registry skopeo` (as .ci/run does)"
    );
}

/// A Distribution registry whose token service is the test's Tollgate.
pub struct Distribution {
    child: Child,
    pub address: String,
    dir: TempDir,
}

impl Distribution {
    /// Where the registry keeps its data (its filesystem storage's root).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts a registry that announces `service` and trusts the app's keys.
    pub async fn start(app: &TestApp, service: &str) -> Distribution {
        Self::start_at(app, service, "", free_address()).await
    }

    /// Like [`Self::start`], at `address`, sending its event notifications
    /// to `events_url` with the `Authorization` header `authorization`.
    pub async fn start_notifying(
        app: &TestApp,
        service: &str,
        address: String,
        events_url: &str,
        authorization: &str,
    ) -> Distribution {
        let notifications = format!(
            "notifications:\n  endpoints:\n    - name: tollgate\n      url: {events_url}\n      \
             headers:\n        Authorization: [\"{authorization}\"]\n      timeout: 2s\n      \
             threshold: 3\n      backoff: 1s\n"
        );
        Self::start_at(app, service, &notifications, address).await
    }

    /// A registry at `address` with `extra` appended to its configuration.
    async fn start_at(app: &TestApp, service: &str, extra: &str, address: String) -> Distribution {
        let dir = tempfile::tempdir().unwrap();
        let bundle = app
            .get("/registry/certs.pem")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let certs = dir.path().join("certs.pem");
        std::fs::write(&certs, bundle).unwrap();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n\
             http:\n  addr: {address}\nauth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {certs}\n{extra}",
            data = dir.path().join("data").display(),
            realm = app.url("/registry/token"),
            issuer = REGISTRY_ISSUER,
            certs = certs.display(),
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry starts");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // The registry answers 401 on /v2/ once it serves.
            if let Ok(response) = client.get(format!("http://{address}/v2/")).send().await
                && response.status() == StatusCode::UNAUTHORIZED
            {
                break;
            }
            assert!(Instant::now() < deadline, "docker-registry did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Distribution {
            child,
            address,
            dir,
        }
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address with a port free right now.
pub fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// Runs skopeo; answers its combined output on failure.
pub async fn skopeo(args: Vec<String>) -> Result<(), String> {
    let output = tokio::process::Command::new("skopeo")
        .args(&args)
        .output()
        .await
        .expect("skopeo runs");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "skopeo {}: {}",
            args.first().cloned().unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// `skopeo login` (what `docker login` does: a token request with no scope).
pub async fn login(
    registry: &Distribution,
    user: &str,
    password: &str,
    authfile: &Path,
) -> Result<(), String> {
    skopeo(vec![
        "login".into(),
        "--tls-verify=false".into(),
        "--authfile".into(),
        authfile.display().to_string(),
        "-u".into(),
        user.into(),
        "-p".into(),
        password.into(),
        registry.address.clone(),
    ])
    .await
}

/// `skopeo copy` of the image layout to `repository:v1`.
pub async fn push(
    image: &Path,
    registry: &Distribution,
    repository: &str,
    creds: &str,
) -> Result<(), String> {
    push_tag(image, registry, repository, "v1", creds).await
}

/// `skopeo copy` of the image layout to `repository:tag`.
pub async fn push_tag(
    image: &Path,
    registry: &Distribution,
    repository: &str,
    tag: &str,
    creds: &str,
) -> Result<(), String> {
    skopeo(vec![
        "copy".into(),
        "--dest-tls-verify=false".into(),
        "--dest-creds".into(),
        creds.into(),
        format!("oci:{}:v1", image.display()),
        format!("docker://{}/{repository}:{tag}", registry.address),
    ])
    .await
}

/// `skopeo copy` of `repository:v1` into an image layout.
pub async fn pull(
    registry: &Distribution,
    repository: &str,
    creds: &str,
    into: &Path,
) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(into);
    skopeo(vec![
        "copy".into(),
        "--src-tls-verify=false".into(),
        "--src-creds".into(),
        creds.into(),
        format!("docker://{}/{repository}:v1", registry.address),
        format!("oci:{}:v1", into.display()),
    ])
    .await
}

/// Writes a one-layer OCI image layout (uncompressed tar layer) into `dir`.
pub fn write_oci_image(dir: &Path) -> PathBuf {
    write_oci_image_holding(dir, b"hello from tollgate\n")
}

/// Like [`write_oci_image`], its one file holding `contents` (another
/// image, with another digest).
pub fn write_oci_image_holding(dir: &Path, contents: &[u8]) -> PathBuf {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let digest = format!("{:x}", Sha256::digest(bytes));
        std::fs::write(blobs.join(&digest), bytes).unwrap();
        (format!("sha256:{digest}"), bytes.len())
    };
    let (layer, layer_size) = put(&tar_with_one_file("hello.txt", contents));
    let config = json!({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": [layer]}});
    let (config, config_size) = put(config.to_string().as_bytes());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": layer_size}]
    });
    let (manifest, manifest_size) = put(manifest.to_string().as_bytes());
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest, "size": manifest_size,
        "annotations": {"org.opencontainers.image.ref.name": "v1"}
    }]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    dir.to_path_buf()
}

/// A POSIX ustar archive holding one regular file.
fn tar_with_one_file(name: &str, contents: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    header[100..107].copy_from_slice(b"0000644");
    header[108..115].copy_from_slice(b"0000000");
    header[116..123].copy_from_slice(b"0000000");
    header[124..135].copy_from_slice(format!("{:011o}", contents.len()).as_bytes());
    header[136..147].copy_from_slice(b"00000000000");
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let checksum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..155].copy_from_slice(format!("{checksum:06o}\0").as_bytes());
    let mut archive = header.to_vec();
    archive.extend_from_slice(contents);
    archive.resize(archive.len().div_ceil(512) * 512 + 1024, 0);
    archive
}
