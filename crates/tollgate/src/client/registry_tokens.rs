//! `tollgate registry token list|get|create|update|delete`: a registry's
//! tokens, with scopes written as `REPOSITORY-PATTERN:ACTION,ACTION`.

use clap::Subcommand;
use futures_util::TryStreamExt;
use tollgate_api::registry::{
    PatchTokenInput, PostTokenInput, PostTokenProperties, RegistryResponse, Scope, TokenResponse,
};
use tollgate_client::Client;

use super::output::{self, Output, Table};
use super::registries::{self, Which};
use super::{Globals, UsageError, usage, when};

#[derive(Subcommand, Debug)]
pub enum RegistryTokenCommand {
    /// List a registry's tokens (every page).
    List {
        #[command(flatten)]
        globals: Globals,
        #[command(flatten)]
        registry: InRegistry,
    },
    /// Show one token.
    Get {
        #[command(flatten)]
        globals: Globals,
        #[command(flatten)]
        registry: InRegistry,
        #[command(flatten)]
        token: WhichToken,
    },
    /// Create a token; its password is shown once.
    Create {
        #[command(flatten)]
        globals: Globals,
        #[command(flatten)]
        registry: InRegistry,
        /// The token's name: its user name at `docker login`.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        settings: TokenSettings,
    },
    /// Change a token's scopes, expiry or status.
    Update {
        #[command(flatten)]
        globals: Globals,
        #[command(flatten)]
        registry: InRegistry,
        #[command(flatten)]
        token: WhichToken,
        #[command(flatten)]
        settings: TokenSettings,
        /// Remove the expiry date: the token never expires.
        #[arg(long, conflicts_with = "expiry")]
        no_expiry: bool,
    },
    /// Delete a token.
    Delete {
        #[command(flatten)]
        globals: Globals,
        #[command(flatten)]
        registry: InRegistry,
        #[command(flatten)]
        token: WhichToken,
    },
}

/// `--registry ID-OR-NAME`.
#[derive(clap::Args, Debug, Clone)]
pub struct InRegistry {
    /// The registry, by id or by name.
    #[arg(long = "registry")]
    registry: String,
}

/// A token by `--id` or by `--name` (names are unique in a registry).
#[derive(clap::Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct WhichToken {
    /// The token's id.
    #[arg(long)]
    id: Option<String>,
    /// The token's name.
    #[arg(long)]
    name: Option<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct TokenSettings {
    /// What the token may do: 'PATTERN:ACTIONS', e.g. 'app/*:pull,push'
    /// (actions: pull, push, delete); repeatable.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// When it expires: a duration such as 90d, a day such as 2027-01-31,
    /// or an RFC 3339 date-time.
    #[arg(long)]
    expiry: Option<String>,
    /// enabled or disabled.
    #[arg(long, value_parser = ["enabled", "disabled"])]
    status: Option<String>,
}

impl TokenSettings {
    fn scopes(&self) -> anyhow::Result<Option<Vec<Scope>>> {
        if self.scopes.is_empty() {
            return Ok(None);
        }
        let scopes = self
            .scopes
            .iter()
            .map(|s| parse_scope(s))
            .collect::<Result<Vec<_>, UsageError>>()?;
        Ok(Some(scopes))
    }

    fn expiry(&self) -> anyhow::Result<Option<String>> {
        Ok(self
            .expiry
            .as_deref()
            .map(|raw| when::expiry("--expiry", raw))
            .transpose()?)
    }
}

/// `app/*:pull,push` as a scope.
fn parse_scope(raw: &str) -> Result<Scope, UsageError> {
    let refuse = || {
        UsageError(format!(
            "--scope {raw:?}: write PATTERN:ACTIONS, e.g. 'app/*:pull,push' (actions: pull, push, delete)"
        ))
    };
    let (pattern, actions) = raw.rsplit_once(':').ok_or_else(refuse)?;
    let actions: Vec<String> = actions.split(',').map(|a| a.trim().to_owned()).collect();
    if pattern.is_empty()
        || actions
            .iter()
            .any(|a| !matches!(a.as_str(), "pull" | "push" | "delete"))
    {
        return Err(refuse());
    }
    Ok(Scope {
        type_: "repository".into(),
        name: pattern.to_owned(),
        actions,
    })
}

impl InRegistry {
    /// The registry: `--registry` as an id when it is one, else by name.
    async fn find(&self, client: &Client) -> anyhow::Result<RegistryResponse> {
        let given = &self.registry;
        let is_uuid = given.len() == 36 && given.chars().filter(|c| *c == '-').count() == 4;
        let which = if is_uuid {
            Which::by_id(given)
        } else {
            Which::by_name(given)
        };
        registries::resolve(client, &which).await
    }

    /// The registry's id.
    async fn id(&self, client: &Client) -> anyhow::Result<String> {
        Ok(self.find(client).await?.id)
    }
}

async fn resolve(
    client: &Client,
    registry: &str,
    which: &WhichToken,
) -> anyhow::Result<TokenResponse> {
    match (&which.id, &which.name) {
        (Some(id), _) => Ok(client.registries_tokens_find_by_id(registry, id).await?),
        (None, Some(name)) => {
            let mut tokens = std::pin::pin!(client.registries_tokens_get_all(registry));
            while let Some(token) = tokens.try_next().await? {
                if &token.properties.name == name {
                    return Ok(token);
                }
            }
            Err(anyhow::anyhow!(
                "no token is named {name:?} in this registry"
            ))
        }
        (None, None) => usage("give --id or --name"),
    }
}

pub async fn run(command: RegistryTokenCommand) -> anyhow::Result<()> {
    match command {
        RegistryTokenCommand::List { globals, registry } => {
            let client = globals.client()?;
            let registry = registry.id(&client).await?;
            match globals.output {
                Output::Json => {
                    // The pages as the API answered them, one after another.
                    let mut offset = 0;
                    loop {
                        let page = client
                            .registries_tokens_get(&registry)
                            .offset(offset)
                            .send()
                            .await?;
                        output::json(&page)?;
                        offset += page.items.len() as u64;
                        if page.items.is_empty() || offset as i64 >= page.total {
                            return Ok(());
                        }
                    }
                }
                Output::Table => {
                    let tokens: Vec<_> = client
                        .registries_tokens_get_all(&registry)
                        .try_collect()
                        .await?;
                    show(&tokens);
                    Ok(())
                }
            }
        }
        RegistryTokenCommand::Get {
            globals,
            registry,
            token,
        } => {
            let client = globals.client()?;
            let registry = registry.id(&client).await?;
            let token = resolve(&client, &registry, &token).await?;
            answer(globals.output, &token)
        }
        RegistryTokenCommand::Create {
            globals,
            registry,
            name,
            settings,
        } => {
            let client = globals.client()?;
            let input = PostTokenInput {
                properties: PostTokenProperties {
                    name,
                    expiry_date: settings.expiry()?,
                    scopes: settings.scopes()?,
                    status: settings.status.clone(),
                },
            };
            let registry = registry.find(&client).await?;
            let created = client.registries_tokens_post(&registry.id, &input).await?;
            if globals.output == Output::Json {
                return output::json(&created);
            }
            show(std::slice::from_ref(&created));
            let hostname = &registry.properties.hostname;
            println!();
            println!("Password: {}", created.properties.credentials.password);
            println!(
                "Log in with: docker login {hostname} -u {} --password-stdin",
                created.properties.credentials.username
            );
            println!("The password is shown only this once: store it now.");
            Ok(())
        }
        RegistryTokenCommand::Update {
            globals,
            registry,
            token,
            settings,
            no_expiry,
        } => {
            let client = globals.client()?;
            let registry = registry.id(&client).await?;
            let current = resolve(&client, &registry, &token).await?;
            let expiry = match (no_expiry, settings.expiry()?) {
                (true, _) => Some(None),
                (false, Some(date)) => Some(Some(date)),
                (false, None) => None,
            };
            let input = PatchTokenInput {
                expiry_date: expiry,
                scopes: settings.scopes()?.map(Some),
                status: settings.status.clone(),
            };
            if input == PatchTokenInput::default() {
                return usage("nothing to change: give --scope, --expiry, --no-expiry or --status");
            }
            let updated = client
                .registries_tokens_patch(&registry, &current.id, &input)
                .await?;
            answer(globals.output, &updated)
        }
        RegistryTokenCommand::Delete {
            globals,
            registry,
            token,
        } => {
            let client = globals.client()?;
            let registry = registry.id(&client).await?;
            let current = resolve(&client, &registry, &token).await?;
            client
                .registries_tokens_delete(&registry, &current.id)
                .await?;
            if globals.output == Output::Table {
                println!(
                    "Deleted token {} ({}).",
                    current.properties.name, current.id
                );
            }
            Ok(())
        }
    }
}

fn answer(output: Output, token: &TokenResponse) -> anyhow::Result<()> {
    output::answer(output, token, |t| show(std::slice::from_ref(t)))
}

fn show(tokens: &[TokenResponse]) {
    let mut table = Table::new(&["NAME", "ID", "STATUS", "EXPIRES", "SCOPES", "LAST USED"]);
    for token in tokens {
        let p = &token.properties;
        let scopes: Vec<String> = p
            .scopes
            .iter()
            .map(|s| format!("{}:{}", s.name, s.actions.join(",")))
            .collect();
        table.row(vec![
            p.name.clone(),
            token.id.clone(),
            p.status.clone(),
            output::expiry(p.expiry_date.as_deref()),
            scopes.join(" "),
            p.last_used_date
                .as_deref()
                .map(output::date)
                .unwrap_or_else(|| "never".into()),
        ]);
    }
    table.print();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_as_pattern_and_actions() {
        let scope = parse_scope("app/*:pull,push").unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.actions),
            ("app/*", vec!["pull".into(), "push".into()])
        );
        assert!(parse_scope("app").is_err());
        assert!(parse_scope("app:fly").is_err());
        assert!(parse_scope(":pull").is_err());
    }
}
