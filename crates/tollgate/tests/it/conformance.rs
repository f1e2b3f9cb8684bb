//! The official IONOS Container Registry Python SDK, unchanged, against Tollgate.
//!
//! The harness installs `ionoscloud-container-registry` (pinned in
//! `tests/conformance/requirements.txt`) into its own virtual environment
//! under the target directory, once, then runs the SDK test script against a
//! fresh service. It needs `python3` and access to PyPI on first run.

use std::path::{Path, PathBuf};

use crate::support::*;

const REQUIREMENTS: &str = include_str!("../conformance/requirements.txt");

/// The virtual environment's Python, installing the SDK if it is missing or stale.
pub fn sdk_python() -> PathBuf {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/requirements.txt");
    crate::support::python::venv_python("container-registry-sdk-venv", REQUIREMENTS, &file)
}

#[tokio::test(flavor = "multi_thread")]
async fn official_python_sdk_conforms() {
    let python = sdk_python();
    let app = TestApp::spawn().await;
    app.create_user(
        "plain@example.com",
        "plain password",
        &[OWNER_CONTRACT],
        Role::User,
    )
    .await;
    app.create_user(
        "other@example.com",
        "other password",
        &[OWNER_CONTRACT + 1],
        Role::Owner,
    )
    .await;
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/container_registry_sdk.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("TOLLGATE_URL", &app.base)
        .env("REGISTRY_DOMAIN", REGISTRY_DOMAIN)
        .env("OWNER_EMAIL", OWNER_EMAIL)
        .env("OWNER_PASSWORD", OWNER_PASSWORD)
        .env("PLAIN_EMAIL", "plain@example.com")
        .env("PLAIN_PASSWORD", "plain password")
        .env("OTHER_EMAIL", "other@example.com")
        .env("OTHER_PASSWORD", "other password")
        .output()
        .await
        .expect("the conformance script runs");
    let report = String::from_utf8_lossy(&output.stderr);
    println!("{report}");
    assert!(
        output.status.success(),
        "the official SDK disagrees with Tollgate:\n{report}"
    );
    assert!(
        report.contains("\nOK"),
        "the script ran its tests:\n{report}"
    );
}
