//! The official IONOS Container Registry Python SDK, unchanged, against Tollgate.
//!
//! The harness installs `ionoscloud-container-registry` (pinned in
//! `tests/conformance/requirements.txt`) into its own virtual environment
//! under the target directory, once, then runs the SDK test script against a
//! fresh service. It needs `python3` and access to PyPI on first run.

use std::path::{Path, PathBuf};

use crate::support::*;

const REQUIREMENTS: &str = include_str!("../conformance/requirements.txt");

/// Runs `tests/conformance/<script>` (a unittest module) with the official
/// SDK and `env`; fails the test unless every test in it passed.
pub async fn run_sdk_script(script: &str, env: &[(&str, &str)]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(script);
    let output = tokio::process::Command::new(sdk_python())
        .arg(&script)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("the SDK script runs");
    let report = String::from_utf8_lossy(&output.stderr);
    println!("{report}");
    assert!(
        output.status.success(),
        "the official SDK disagrees with Tollgate ({}):\n{report}",
        script.display()
    );
    assert!(
        report.contains("\nOK"),
        "the script ran its tests:\n{report}"
    );
}

/// The virtual environment's Python, installing the SDK if it is missing or stale.
fn sdk_python() -> PathBuf {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/requirements.txt");
    crate::support::python::venv_python("container-registry-sdk-venv", REQUIREMENTS, &file)
}

#[tokio::test(flavor = "multi_thread")]
async fn official_python_sdk_conforms() {
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
    run_sdk_script(
        "container_registry_sdk.py",
        &[
            ("TOLLGATE_URL", app.base.as_str()),
            ("REGISTRY_DOMAIN", REGISTRY_DOMAIN),
            ("OWNER_EMAIL", OWNER_EMAIL),
            ("OWNER_PASSWORD", OWNER_PASSWORD),
            ("PLAIN_EMAIL", "plain@example.com"),
            ("PLAIN_PASSWORD", "plain password"),
            ("OTHER_EMAIL", "other@example.com"),
            ("OTHER_PASSWORD", "other password"),
        ],
    )
    .await;
}
