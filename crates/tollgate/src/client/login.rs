//! `tollgate login` and `tollgate logout`: an access token generated with
//! the account's password and kept in the user's config directory (mode
//! 0600), and revoked on the server when logging out.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tollgate_api::auth::Criteria;
use tollgate_client::{Client, Configuration, Error};

use super::{Globals, UsageError, output, usage, when};

/// The login as stored: where, who, and the token.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredLogin {
    pub base_url: String,
    pub email: String,
    pub contract: Option<i32>,
    pub token: String,
    pub expires: String,
}

#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    globals: Globals,
    /// The account's e-mail (asked for when not given).
    #[arg(long)]
    email: Option<String>,
    /// How long the login lasts: 90d, 12h, 30m or seconds (at most a year).
    #[arg(long, default_value = "30d")]
    ttl: String,
    /// Read the password from one line of standard input instead of asking.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(clap::Args, Debug)]
pub struct LogoutArgs {
    #[command(flatten)]
    globals: Globals,
}

impl StoredLogin {
    /// `$XDG_CONFIG_HOME/tollgate/login.json`, or `~/.config/tollgate/login.json`.
    fn path() -> anyhow::Result<PathBuf> {
        let base = match (super::env("XDG_CONFIG_HOME"), super::env("HOME")) {
            (Some(config), _) => PathBuf::from(config),
            (None, Some(home)) => PathBuf::from(home).join(".config"),
            (None, None) => {
                return usage("cannot find a config directory: set HOME or XDG_CONFIG_HOME");
            }
        };
        Ok(base.join("tollgate").join("login.json"))
    }

    /// The stored login, if there is one.
    pub fn load() -> anyhow::Result<Option<StoredLogin>> {
        let path = Self::path()?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::anyhow!(
                    "the stored login {} is damaged ({e}): run `tollgate login` again",
                    path.display()
                )
            })?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes the login readable by its owner only (0600, in a 0700
    /// directory), replacing any earlier one in one step.
    fn save(&self) -> anyhow::Result<PathBuf> {
        let path = Self::path()?;
        let directory = path.parent().unwrap_or(&path).to_path_buf();
        create_private_dir(&directory)?;
        let partial = directory.join("login.json.partial");
        let _ = std::fs::remove_file(&partial);
        let mut file = create_private_file(&partial)?;
        file.write_all(&serde_json::to_vec_pretty(self)?)?;
        file.sync_all()?;
        std::fs::rename(&partial, &path)?;
        Ok(path)
    }

    fn forget() -> anyhow::Result<()> {
        match std::fs::remove_file(Self::path()?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

#[cfg(unix)]
fn create_private_dir(directory: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(directory)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", directory.display()))
}

#[cfg(not(unix))]
fn create_private_dir(directory: &std::path::Path) -> anyhow::Result<()> {
    Ok(std::fs::create_dir_all(directory)?)
}

#[cfg(unix)]
fn create_private_file(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

#[cfg(not(unix))]
fn create_private_file(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    Ok(std::fs::File::create(path)?)
}

/// One line of standard input, after `prompt` on standard error.
fn read_line(prompt: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let ttl = when::duration_seconds("--ttl", &args.ttl)?;
    let ttl = u32::try_from(ttl)
        .ok()
        .filter(|t| (60..=31_536_000).contains(t))
        .ok_or_else(|| UsageError("--ttl must be between 60 seconds and a year".into()))?;
    let email = match args.email {
        Some(email) => email,
        None => read_line("E-mail: ")?,
    };
    let password = if args.password_stdin || !std::io::stdin().is_terminal() {
        read_line("")?
    } else {
        rpassword::prompt_password("Password: ")?
    };
    if email.is_empty() || password.is_empty() {
        return usage("an e-mail and a password are needed to log in");
    }
    let base_url = args.globals.base_url(None);
    let configuration = args
        .globals
        .configure(Configuration::new(&base_url).basic_auth(&email, password))?;
    let client = Client::new(configuration)?;
    let jwt = client.tokens_generate().ttl(ttl).send().await?;
    let expires = when::expiry("--ttl", &ttl.to_string())?;
    let login = StoredLogin {
        base_url: client.configuration().base_url.clone(),
        email,
        contract: args.globals.contract,
        token: jwt.token,
        expires,
    };
    let path = login.save()?;
    println!(
        "Logged in to {} as {}{}; the login lasts until {} (kept in {}).",
        login.base_url,
        login.email,
        login
            .contract
            .map(|c| format!(" in contract {c}"))
            .unwrap_or_default(),
        output::date(&login.expires),
        path.display()
    );
    Ok(())
}

pub async fn logout(args: LogoutArgs) -> anyhow::Result<()> {
    let Some(login) = StoredLogin::load()? else {
        println!("Not logged in.");
        return Ok(());
    };
    let client = Client::new(
        Configuration::new(args.globals.base_url(Some(&login))).token(login.token.clone()),
    )?;
    match client.tokens_delete_by_criteria(Criteria::Current).await {
        Ok(_) => {}
        // Expired or revoked already: nothing left to revoke.
        Err(Error::Api { status: 401, .. }) => {}
        Err(e) => {
            return Err(anyhow::anyhow!(
                "{e}; the login was not revoked and is still stored, so try again"
            ));
        }
    }
    StoredLogin::forget()?;
    println!("Logged out of {}: the token is revoked.", login.base_url);
    Ok(())
}
