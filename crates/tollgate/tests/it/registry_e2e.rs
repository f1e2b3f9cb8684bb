//! End to end: a real CNCF Distribution registry (Debian's `docker-registry`)
//! delegates authentication to Tollgate, and skopeo logs in, pushes and
//! pulls with registry tokens made through the Container Registry API.
//!
//! Needs `docker-registry` and `skopeo` on PATH (`.ci/run` installs them:
//! `apt-get install -y docker-registry skopeo`). A missing tool fails the
//! test with that instruction rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::registries::CR;
use crate::registry_token::{create_token, patch_token, registry_with_token};
use crate::support::*;

fn require(tool: &str) {
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
struct Distribution {
    child: Child,
    address: String,
    _dir: TempDir,
}

impl Distribution {
    async fn start(app: &TestApp, service: &str) -> Distribution {
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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n\
             http:\n  addr: {address}\nauth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {certs}\n",
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
            _dir: dir,
        }
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs skopeo; answers its combined output on failure.
async fn skopeo(args: Vec<String>) -> Result<(), String> {
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
async fn login(
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

async fn push(
    image: &Path,
    registry: &Distribution,
    repository: &str,
    creds: &str,
) -> Result<(), String> {
    skopeo(vec![
        "copy".into(),
        "--dest-tls-verify=false".into(),
        "--dest-creds".into(),
        creds.into(),
        format!("oci:{}:v1", image.display()),
        format!("docker://{}/{repository}:v1", registry.address),
    ])
    .await
}

async fn pull(
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
fn write_oci_image(dir: &Path) -> PathBuf {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let digest = format!("{:x}", Sha256::digest(bytes));
        std::fs::write(blobs.join(&digest), bytes).unwrap();
        (format!("sha256:{digest}"), bytes.len())
    };
    let (layer, layer_size) = put(&tar_with_one_file("hello.txt", b"hello from tollgate\n"));
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

/// Asserts that skopeo failed, and for the expected reason.
#[track_caller]
fn refused(result: Result<(), String>, reason: &str, what: &str) {
    match result {
        Ok(()) => panic!("{what}: skopeo succeeded but must be refused"),
        Err(e) => assert!(
            e.contains(reason),
            "{what}: refused for another reason: {e}"
        ),
    }
}

/// The registry refused an operation the granted access does not cover.
const DENIED: &str = "requested access to the resource is denied";
/// Tollgate refused the credentials at login.
const BAD_LOGIN: &str = "invalid username/password";

/// A new token of the registry; answers its id and `name:password` credentials.
async fn add_token(app: &TestApp, registry: &str, name: &str, scopes: Value) -> (String, String) {
    let (id, password) = create_token(app, registry, name, scopes).await;
    (id, format!("{name}:{password}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_registry_enforces_registry_tokens() {
    require("docker-registry");
    require("skopeo");
    let app = TestApp::spawn().await;
    let work = tempfile::tempdir().unwrap();
    let image = write_oci_image(&work.path().join("image"));
    let pulled = work.path().join("pulled");
    let authfile = work.path().join("auth.json");

    let everything = json!([{"type": "repository", "name": "*", "actions": ["pull", "push"]}]);
    let (registry_a, service_a, full_id, full_password) =
        registry_with_token(&app, "alpha", "full", everything.clone()).await;
    let full = format!("full:{full_password}");
    let (_, pull_only) = add_token(
        &app,
        &registry_a,
        "reader",
        json!([{"type": "repository", "name": "*", "actions": ["pull"]}]),
    )
    .await;
    let (_, team) = add_token(
        &app,
        &registry_a,
        "team",
        json!([{"type": "repository", "name": "team/*", "actions": ["pull", "push"]}]),
    )
    .await;
    let (_, service_b, _, b_password) = registry_with_token(&app, "beta", "full", everything).await;
    let alpha = Distribution::start(&app, &service_a).await;
    let beta = Distribution::start(&app, &service_b).await;

    // A push-and-pull token pushes and pulls.
    push(&image, &alpha, "team/app", &full)
        .await
        .expect("push with push scope");
    push(&image, &alpha, "other/app", &full)
        .await
        .expect("push with push scope");
    pull(&alpha, "team/app", &full, &pulled)
        .await
        .expect("pull with pull scope");
    assert!(pulled.join("index.json").exists());

    // A pull-only token pulls and is refused a push.
    pull(&alpha, "other/app", &pull_only, &pulled)
        .await
        .expect("pull-only token pulls");
    refused(
        push(&image, &alpha, "reader/app", &pull_only).await,
        DENIED,
        "a pull-only token pushing",
    );

    // team/* pushes to team/app and is refused on other/app.
    push(&image, &alpha, "team/app", &team)
        .await
        .expect("team/* pushes to team/app");
    refused(
        push(&image, &alpha, "other/app", &team).await,
        DENIED,
        "team/* must not push to other/app",
    );
    refused(
        pull(&alpha, "other/app", &team, &pulled).await,
        DENIED,
        "team/* must not pull other/app",
    );

    // A token of registry A is refused by registry B, whose own token works.
    refused(
        login(&beta, "full", &full_password, &authfile).await,
        BAD_LOGIN,
        "A's token at B",
    );
    login(&beta, "full", &b_password, &authfile)
        .await
        .expect("B's own token");

    // Disabled: refused at the next login; enabled again: accepted.
    login(&alpha, "full", &full_password, &authfile)
        .await
        .expect("login");
    patch_token(&app, &registry_a, &full_id, json!({"status": "disabled"})).await;
    refused(
        login(&alpha, "full", &full_password, &authfile).await,
        BAD_LOGIN,
        "disabled token",
    );
    refused(
        pull(&alpha, "team/app", &full, &pulled).await,
        BAD_LOGIN,
        "disabled token pulls nothing",
    );
    patch_token(&app, &registry_a, &full_id, json!({"status": "enabled"})).await;
    login(&alpha, "full", &full_password, &authfile)
        .await
        .expect("re-enabled token");

    // Deleted: refused at the next login.
    let (doomed_id, doomed) = add_token(
        &app,
        &registry_a,
        "doomed",
        json!([{"type": "repository", "name": "*", "actions": ["pull"]}]),
    )
    .await;
    pull(&alpha, "team/app", &doomed, &pulled)
        .await
        .expect("before deletion");
    let response = app
        .delete(&format!("{CR}/registries/{registry_a}/tokens/{doomed_id}"))
        .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (user, password) = doomed.split_once(':').unwrap();
    refused(
        login(&alpha, user, password, &authfile).await,
        BAD_LOGIN,
        "deleted token",
    );

    // The registry's apiSubnetAllowList: 0.0.0.0/0 denies all traffic (as
    // the API document defines it); an entry for this host lets it in.
    let allow = |list: Value| {
        let registry = registry_a.clone();
        let app = &app;
        async move {
            let response = app
                .client
                .patch(app.url(&format!("{CR}/registries/{registry}")))
                .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
                .json(&json!({"apiSubnetAllowList": list}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
    };
    allow(json!(["0.0.0.0/0"])).await;
    refused(
        login(&alpha, "full", &full_password, &authfile).await,
        BAD_LOGIN,
        "allow list 0.0.0.0/0 denies all traffic",
    );
    refused(
        pull(&alpha, "team/app", &full, &pulled).await,
        BAD_LOGIN,
        "no pull past a deny-all allow list",
    );
    allow(json!(["0.0.0.0/0", "127.0.0.1"])).await;
    login(&alpha, "full", &full_password, &authfile)
        .await
        .expect("an allow list entry for this host");
    allow(json!([])).await;

    // Expired: accepted before its expiry date, refused after it. Tollgate's
    // clock is moved past the date (last, as later JWTs would be in the future).
    let expiry = app.date_in(120);
    patch_token(&app, &registry_a, &full_id, json!({"expiryDate": expiry})).await;
    login(&alpha, "full", &full_password, &authfile)
        .await
        .expect("before expiry");
    app.clock.advance(121);
    refused(
        login(&alpha, "full", &full_password, &authfile).await,
        BAD_LOGIN,
        "expired token",
    );
}
