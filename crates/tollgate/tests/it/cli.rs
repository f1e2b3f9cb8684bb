//! The client commands of the `tollgate` binary as a person (or a script)
//! runs them: subprocesses with the official SDKs' environment variables
//! or a stored login, against a real Tollgate.

use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tollgate_api::registry::{PostTokenInput, PostTokenProperties};
use tollgate_client::{Client, Configuration};

use crate::support::*;

/// A terminal session: its own config directory and environment.
struct Terminal {
    home: TempDir,
    env: Vec<(&'static str, String)>,
}

impl Terminal {
    fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    /// As the owner, through `IONOS_API_URL`, `IONOS_USERNAME` and `IONOS_PASSWORD`.
    fn owner(app: &TestApp) -> Self {
        let mut terminal = Self::new();
        terminal.env = vec![
            ("IONOS_API_URL", app.base.clone()),
            ("IONOS_USERNAME", OWNER_EMAIL.into()),
            ("IONOS_PASSWORD", OWNER_PASSWORD.into()),
        ];
        terminal
    }

    fn login_file(&self) -> std::path::PathBuf {
        self.home.path().join("config/tollgate/login.json")
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        command
            .args(args)
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in [
            "IONOS_API_URL",
            "IONOS_USERNAME",
            "IONOS_PASSWORD",
            "IONOS_TOKEN",
        ] {
            command.env_remove(name);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("tollgate runs");
        let input = stdin.unwrap_or_default().to_owned();
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(input.as_bytes());
        });
        child.wait_with_output().unwrap()
    }

    /// Runs, expects exit code 0, answers standard output.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args, None);
        assert!(
            output.status.success(),
            "tollgate {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs, expects `code`, answers standard error.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let output = self.run(args, None);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(
            output.status.code(),
            Some(code),
            "tollgate {args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.starts_with("tollgate: ") || stderr.starts_with("error:"),
            "{stderr}"
        );
        stderr
    }
}

fn registry_token(name: &str) -> PostTokenInput {
    PostTokenInput {
        properties: PostTokenProperties {
            name: name.into(),
            expiry_date: None,
            scopes: None,
            status: None,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_keeps_a_private_token_and_logout_revokes_it() {
    let app = TestApp::spawn().await;
    let terminal = Terminal::new();
    let typed = format!("{OWNER_EMAIL}\n{OWNER_PASSWORD}\n");
    let output = terminal.run(
        &["login", "--base-url", &app.base, "--ttl", "2h"],
        Some(&typed),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains(&format!("Logged in to {} as {OWNER_EMAIL}", app.base)),
        "{said}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = terminal.login_file();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is private", file.display());
        let directory = std::fs::metadata(file.parent().unwrap()).unwrap();
        assert_eq!(directory.permissions().mode() & 0o777, 0o700);
    }
    let stored: Value =
        serde_json::from_slice(&std::fs::read(terminal.login_file()).unwrap()).unwrap();
    let token = stored["token"].as_str().unwrap().to_owned();

    // The stored login is used when the environment says nothing.
    let listed = terminal.ok(&["token", "list"]);
    assert!(listed.contains(&token_id(&token)), "{listed}");
    assert!(listed.starts_with("ID"), "a table with a header: {listed}");

    // The environment overrides the stored login.
    app.create_user(
        "other@example.com",
        "other password",
        &[OWNER_CONTRACT],
        Role::User,
    )
    .await;
    let other = Client::new(
        Configuration::new(&app.base).basic_auth("other@example.com", "other password"),
    )
    .unwrap()
    .tokens_generate()
    .send()
    .await
    .unwrap()
    .token;
    let mut overridden = Terminal::new();
    overridden.home = terminal.home;
    overridden.env = vec![("IONOS_TOKEN", other.clone())];
    let listed = overridden.ok(&["token", "list", "--base-url", &app.base]);
    assert!(
        listed.contains(&token_id(&other)) && !listed.contains(&token_id(&token)),
        "{listed}"
    );
    let terminal = Terminal {
        home: overridden.home,
        env: Vec::new(),
    };

    let said = terminal.ok(&["logout"]);
    assert!(said.contains("Logged out"), "{said}");
    assert!(!terminal.login_file().exists(), "the login is forgotten");
    let response = app
        .get("/auth/v1/tokens")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the stored token is revoked"
    );
    let stderr = terminal.fails(&["token", "list"], 2);
    assert!(stderr.contains("not logged in"), "{stderr}");

    let wrong = terminal.run(
        &["login", "--base-url", &app.base, "--email", OWNER_EMAIL],
        Some("wrong\n"),
    );
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("(401 Unauthorized)") && !stderr.contains("wrong\n"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_commands_with_the_sdk_environment() {
    let app = TestApp::spawn().await;
    let terminal = Terminal::owner(&app);
    let jwt = terminal.ok(&["token", "generate", "--ttl", "2h"]);
    let jwt = jwt.trim();
    assert_eq!(jwt.split('.').count(), 3, "the JWT alone: {jwt}");
    let id = token_id(jwt);

    let listed: Value =
        serde_json::from_str(&terminal.ok(&["token", "list", "--output", "json"])).unwrap();
    assert_eq!(
        listed["tokens"][0]["id"],
        id.as_str(),
        "the API's JSON: {listed}"
    );
    let shown = terminal.ok(&["token", "get", "--id", &id]);
    assert!(shown.contains(&id) && shown.contains("UTC"), "{shown}");

    let stderr = terminal.fails(
        &[
            "token",
            "get",
            "--id",
            "0c5d2f6e-7d1a-4c59-9a53-0f5c8f0e9a11",
        ],
        1,
    );
    assert!(
        stderr.contains("(404 Not Found)"),
        "a refusal in words: {stderr}"
    );

    terminal.ok(&["token", "delete", "--id", &id]);
    assert!(
        terminal.ok(&["token", "list"]).lines().count() == 1,
        "only the header left"
    );
    terminal.ok(&["token", "generate"]);
    let said = terminal.ok(&["token", "delete", "--criteria", "ALL"]);
    assert!(said.contains("Deleted"), "{said}");

    terminal.fails(&["token", "delete"], 2);
    let stderr = terminal.fails(&["token", "generate", "--ttl", "soon"], 2);
    assert!(stderr.contains("--ttl"), "{stderr}");
    terminal.fails(&["token", "delete", "--criteria", "SOME"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registry_and_registry_token_commands() {
    let app = TestApp::spawn().await;
    let terminal = Terminal::owner(&app);
    let created = terminal.ok(&[
        "registry",
        "create",
        "--name",
        "cli-reg",
        "--gc-days",
        "mon,thu",
        "--gc-time",
        "02:30:00",
        "--allow",
        "10.0.0.0/8",
    ]);
    assert!(
        created.contains("cli-reg") && created.contains("Mon,Thu 02:30"),
        "{created}"
    );
    assert!(created.contains("10.0.0.0/8"), "{created}");
    let listed = terminal.ok(&["registry", "list"]);
    assert!(listed.contains("cli-reg.cr.example.test"), "{listed}");
    let json: Value = serde_json::from_str(
        &terminal.ok(&["registry", "get", "--name", "cli-reg", "--output", "json"]),
    )
    .unwrap();
    let registry_id = json["id"].as_str().unwrap().to_owned();
    let updated = terminal.ok(&["registry", "update", "--id", &registry_id, "--allow", ""]);
    assert!(
        updated.contains(" any "),
        "an emptied allow list admits any client: {updated}"
    );
    terminal.fails(&["registry", "update", "--name", "cli-reg"], 2);
    let stderr = terminal.fails(&["registry", "create", "--name", "Not Valid"], 1);
    assert!(stderr.contains("(400 Bad Request)"), "{stderr}");

    let made = terminal.ok(&[
        "registry",
        "token",
        "create",
        "--registry",
        "cli-reg",
        "--name",
        "ci",
        "--scope",
        "app/*:pull,push",
        "--expiry",
        "3d",
    ]);
    assert!(made.contains("Password: "), "{made}");
    assert!(
        made.contains("docker login cli-reg.cr.example.test -u ci --password-stdin"),
        "{made}"
    );
    assert!(made.contains("shown only this once"), "{made}");
    assert!(
        made.contains("(expires soon)"),
        "three days is soon: {made}"
    );
    let shown = terminal.ok(&[
        "registry",
        "token",
        "get",
        "--registry",
        "cli-reg",
        "--name",
        "ci",
    ]);
    assert!(
        shown.contains("app/*:pull,push") && !shown.contains("Password"),
        "{shown}"
    );
    let disabled: Value = serde_json::from_str(&terminal.ok(&[
        "registry",
        "token",
        "update",
        "--registry",
        &registry_id,
        "--name",
        "ci",
        "--status",
        "disabled",
        "--no-expiry",
        "--output",
        "json",
    ]))
    .unwrap();
    assert_eq!(disabled["properties"]["status"], "disabled");
    assert_eq!(
        disabled["properties"]["expiryDate"],
        Value::Null,
        "{disabled}"
    );
    terminal.fails(
        &[
            "registry",
            "token",
            "create",
            "--registry",
            "cli-reg",
            "--name",
            "x",
            "--scope",
            "app",
        ],
        2,
    );
    terminal.fails(
        &[
            "registry",
            "token",
            "create",
            "--registry",
            "cli-reg",
            "--name",
            "x",
            "--expiry",
            "someday",
        ],
        2,
    );

    // More tokens than one page holds: the table walks every page.
    let client =
        Client::new(Configuration::new(&app.base).basic_auth(OWNER_EMAIL, OWNER_PASSWORD)).unwrap();
    for i in 0..110 {
        client
            .registries_tokens_post(&registry_id, &registry_token(&format!("bulk-{i:03}")))
            .await
            .unwrap();
    }
    let listed = terminal.ok(&["registry", "token", "list", "--registry", "cli-reg"]);
    assert_eq!(listed.lines().count(), 1 + 111, "a header and every token");
    assert!(listed.contains("bulk-109") && listed.contains("bulk-000"));

    terminal.ok(&[
        "registry",
        "token",
        "delete",
        "--registry",
        "cli-reg",
        "--name",
        "ci",
    ]);
    let stderr = terminal.fails(
        &[
            "registry",
            "token",
            "get",
            "--registry",
            "cli-reg",
            "--name",
            "ci",
        ],
        1,
    );
    assert!(stderr.contains("no token is named"), "{stderr}");
    let said = terminal.ok(&["registry", "delete", "--name", "cli-reg"]);
    assert!(said.contains("Deleted registry cli-reg"), "{said}");
    let stderr = terminal.fails(&["registry", "get", "--id", &registry_id], 1);
    assert!(stderr.contains("(404 Not Found)"), "{stderr}");
}

#[test]
fn shell_completions_and_usage_errors() {
    let terminal = Terminal::new();
    let bash = terminal.ok(&["completion", "bash"]);
    assert!(
        bash.contains("_tollgate") && bash.contains("registry"),
        "{bash}"
    );
    for shell in ["zsh", "fish"] {
        assert!(!terminal.ok(&["completion", shell]).is_empty());
    }
    terminal.fails(&["registry", "get"], 2);
    terminal.fails(&["token", "list", "--output", "yaml"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_repository_lists_gets_and_reports_a_failed_delete() {
    const DIGEST: &str = "sha256:4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
    let app = TestApp::spawn().await;
    create_registry(&app, "holding").await;
    report_pushes(
        &app,
        "holding",
        &[
            ("team/app", "v1", DIGEST),
            ("team/app", "v2", DIGEST),
            ("tools/lint", "v1", DIGEST),
        ],
    )
    .await;
    let terminal = Terminal::owner(&app);
    let listed = terminal.ok(&["registry", "repository", "list", "--name", "holding"]);
    let rows: Vec<&str> = listed.lines().collect();
    assert!(rows[0].starts_with("REPOSITORY"), "{listed}");
    assert!(
        rows[1].starts_with("team/app") && rows[1].contains(" 1 "),
        "{listed}"
    );
    assert!(rows[2].starts_with("tools/lint"), "{listed}");
    let filtered = terminal.ok(&[
        "registry",
        "repository",
        "list",
        "--name",
        "holding",
        "--filter",
        "lint",
        "--order-by",
        "-pullCount",
    ]);
    assert!(
        !filtered.contains("team/app") && filtered.contains("tools/lint"),
        "{filtered}"
    );
    let shown = terminal.ok(&[
        "registry",
        "repository",
        "get",
        "--name",
        "holding",
        "--repository",
        "team/app",
        "--output",
        "json",
    ]);
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["repository"]["metadata"]["pushCount"], 2, "{shown}");
    assert_eq!(
        shown["artifacts"][0]["properties"]["tags"],
        json!(["v1", "v2"]),
        "{shown}"
    );
    // The registry's API is not reachable here: the delete fails in words,
    // and nothing is forgotten.
    let refused = terminal.fails(
        &[
            "registry",
            "repository",
            "delete",
            "--name",
            "holding",
            "--repository",
            "team/app",
        ],
        1,
    );
    assert!(refused.contains("the registry's API failed"), "{refused}");
    let missing = terminal.fails(
        &[
            "registry",
            "repository",
            "get",
            "--name",
            "holding",
            "--repository",
            "team/none",
        ],
        1,
    );
    assert!(missing.contains("no repository named"), "{missing}");
    terminal.ok(&[
        "registry",
        "repository",
        "get",
        "--name",
        "holding",
        "--repository",
        "team/app",
    ]);
}
