//! `tollgate token generate|list|get|delete`: access tokens (Auth API).

use clap::Subcommand;
use tollgate_api::auth::{Criteria, Token};

use super::output::{self, Table};
use super::{Globals, UsageError, when};

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Generate an access token; prints the JWT.
    Generate {
        #[command(flatten)]
        globals: Globals,
        /// Its lifetime: 90d, 12h, 30m or seconds (default: a year).
        #[arg(long)]
        ttl: Option<String>,
    },
    /// List your access tokens in the contract.
    List {
        #[command(flatten)]
        globals: Globals,
    },
    /// Show one access token.
    Get {
        #[command(flatten)]
        globals: Globals,
        /// The token's id (the `kid` in its JWT's header).
        #[arg(long)]
        id: String,
    },
    /// Revoke one access token (--id), or several (--criteria).
    Delete {
        #[command(flatten)]
        globals: Globals,
        #[arg(
            long,
            conflicts_with = "criteria",
            required_unless_present = "criteria"
        )]
        id: Option<String>,
        /// ALL your tokens in the contract, the EXPIRED ones, or the CURRENT one.
        #[arg(long, value_parser = ["ALL", "EXPIRED", "CURRENT"])]
        criteria: Option<String>,
    },
}

pub async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Generate { globals, ttl } => {
            let client = globals.client()?;
            let mut request = client.tokens_generate();
            if let Some(ttl) = ttl {
                let seconds = when::duration_seconds("--ttl", &ttl)?;
                let seconds = u32::try_from(seconds)
                    .map_err(|_| UsageError("--ttl must be at most a year".into()))?;
                request = request.ttl(seconds);
            }
            let jwt = request.send().await?;
            output::answer(globals.output, &jwt, |j| println!("{}", j.token))
        }
        TokenCommand::List { globals } => {
            let tokens = globals.client()?.tokens_get().await?;
            output::answer(globals.output, &tokens, |t| show(&t.tokens))
        }
        TokenCommand::Get { globals, id } => {
            let token = globals.client()?.tokens_find_by_id(&id).await?;
            output::answer(globals.output, &token, |t| show(std::slice::from_ref(t)))
        }
        TokenCommand::Delete {
            globals,
            id,
            criteria,
        } => {
            let client = globals.client()?;
            let deleted = match (id, criteria) {
                (Some(id), _) => client.tokens_delete_by_id(&id).await?,
                (None, Some(criteria)) => {
                    let criteria: Criteria = criteria
                        .parse()
                        .map_err(|e: tollgate_api::parse::ParseError| UsageError(e.to_string()))?;
                    client.tokens_delete_by_criteria(criteria).await?
                }
                (None, None) => return super::usage("give --id or --criteria"),
            };
            output::answer(globals.output, &deleted, |_| println!("Deleted."))
        }
    }
}

fn show(tokens: &[Token]) {
    let mut table = Table::new(&["ID", "CREATED", "EXPIRES", "LAST USED"]);
    for token in tokens {
        table.row(vec![
            token.id.clone(),
            output::date(&token.created_date),
            output::expiry(Some(&token.expiration_date)),
            token
                .last_used_date
                .as_deref()
                .map(output::date)
                .unwrap_or_else(|| "never".into()),
        ]);
    }
    table.print();
}
