//! `tollgate registry list|get|create|update|delete` (Container Registry
//! API registries); `tollgate registry token ...` is in `registry_tokens`,
//! `tollgate registry repository ...` in `repositories`.

use clap::Subcommand;
use futures_util::TryStreamExt;
use tollgate_api::registry::{
    PatchRegistryInput, PostRegistryInput, PostRegistryProperties, RegistryResponse, WeeklySchedule,
};
use tollgate_api::registry_rules::DAYS;
use tollgate_client::Client;

use super::output::{self, Output, Table};
use super::registry_tokens::{self, RegistryTokenCommand};
use super::repositories::{self, RepositoryCommand};
use super::{Globals, usage};

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// List the contract's registries.
    List {
        #[command(flatten)]
        globals: Globals,
    },
    /// Show one registry.
    Get {
        #[command(flatten)]
        globals: Globals,
        #[command(flatten)]
        registry: Which,
    },
    /// Create a registry.
    Create {
        #[command(flatten)]
        globals: Globals,
        /// Its name: lower case letters, digits and hyphens; its hostname is NAME.<domain>.
        #[arg(long)]
        name: String,
        /// Where it lives (default: the first location offered).
        #[arg(long)]
        location: Option<String>,
        #[command(flatten)]
        settings: Settings,
    },
    /// Change a registry's garbage collection schedule or subnet allow list.
    Update {
        #[command(flatten)]
        globals: Globals,
        #[command(flatten)]
        registry: Which,
        #[command(flatten)]
        settings: Settings,
    },
    /// Delete a registry with its tokens.
    Delete {
        #[command(flatten)]
        globals: Globals,
        #[command(flatten)]
        registry: Which,
    },
    /// Manage a registry's tokens.
    Token {
        #[command(subcommand)]
        command: RegistryTokenCommand,
    },
    /// A registry's repositories and artifacts, as the registry reports them.
    Repository {
        #[command(subcommand)]
        command: RepositoryCommand,
    },
}

/// A registry by `--id` or by `--name` (names are unique in a contract).
#[derive(clap::Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct Which {
    /// The registry's id.
    #[arg(long)]
    id: Option<String>,
    /// The registry's name.
    #[arg(long)]
    name: Option<String>,
}

/// The settings `create` and `update` take.
#[derive(clap::Args, Debug, Clone)]
pub struct Settings {
    /// Garbage collection days, comma-separated (Monday,Thursday or mon,thu).
    #[arg(long, value_delimiter = ',')]
    gc_days: Option<Vec<String>>,
    /// Garbage collection time of day, UTC (HH:MM:SS).
    #[arg(long)]
    gc_time: Option<String>,
    /// A client address or CIDR the registry's API admits; repeatable.
    /// `--allow ''` clears the list (every client admitted).
    #[arg(long = "allow")]
    allow: Option<Vec<String>>,
}

impl Settings {
    fn schedule(&self, current: Option<&WeeklySchedule>) -> anyhow::Result<Option<WeeklySchedule>> {
        if self.gc_days.is_none() && self.gc_time.is_none() {
            return Ok(None);
        }
        let days = match &self.gc_days {
            Some(days) => days
                .iter()
                .filter(|d| !d.trim().is_empty())
                .map(|day| full_day_name(day))
                .collect::<anyhow::Result<Vec<_>>>()?,
            None => current.map(|c| c.days.clone()).unwrap_or_default(),
        };
        let time = match &self.gc_time {
            Some(time) => time.clone(),
            None => current
                .map(|c| c.time.clone())
                .unwrap_or_else(|| "00:00:00".into()),
        };
        Ok(Some(WeeklySchedule { days, time }))
    }

    fn allow_list(&self) -> Option<Vec<String>> {
        self.allow.as_ref().map(|entries| {
            entries
                .iter()
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect()
        })
    }
}

fn full_day_name(day: &str) -> anyhow::Result<String> {
    let day = day.trim().to_lowercase();
    match DAYS
        .iter()
        .find(|d| day.len() >= 3 && d.to_lowercase().starts_with(&day))
    {
        Some(full) => Ok((*full).to_owned()),
        None => usage(format!(
            "--gc-days {day:?}: use day names such as Monday or mon"
        )),
    }
}

impl Which {
    pub fn by_id(id: &str) -> Self {
        Self {
            id: Some(id.to_owned()),
            name: None,
        }
    }

    pub fn by_name(name: &str) -> Self {
        Self {
            id: None,
            name: Some(name.to_owned()),
        }
    }
}

/// The registry `which` names.
pub async fn resolve(client: &Client, which: &Which) -> anyhow::Result<RegistryResponse> {
    match (&which.id, &which.name) {
        (Some(id), _) => Ok(client.registries_find_by_id(id).await?),
        (None, Some(name)) => {
            let found: Vec<RegistryResponse> = client
                .registries_get()
                .filter_name(name.clone())
                .all()
                .try_filter(|r| std::future::ready(&r.properties.name == name))
                .try_collect()
                .await?;
            match found.into_iter().next() {
                Some(registry) => Ok(registry),
                None => Err(anyhow::anyhow!(
                    "no registry is named {name:?} in this contract"
                )),
            }
        }
        (None, None) => usage("give --id or --name"),
    }
}

pub async fn run(command: RegistryCommand) -> anyhow::Result<()> {
    match command {
        RegistryCommand::List { globals } => {
            let client = globals.client()?;
            match globals.output {
                Output::Json => {
                    // The pages as the API answered them, one after another.
                    let mut request = client.registries_get();
                    loop {
                        let page = request.send().await?;
                        output::json(&page)?;
                        if page.pagination.token.is_empty() {
                            return Ok(());
                        }
                        request = client
                            .registries_get()
                            .pagination_token(page.pagination.token);
                    }
                }
                Output::Table => {
                    let registries: Vec<_> = client.registries_get_all().try_collect().await?;
                    show(&registries);
                    Ok(())
                }
            }
        }
        RegistryCommand::Get { globals, registry } => {
            let client = globals.client()?;
            let registry = resolve(&client, &registry).await?;
            answer(globals.output, &registry)
        }
        RegistryCommand::Create {
            globals,
            name,
            location,
            settings,
        } => {
            let client = globals.client()?;
            let location = match location {
                Some(location) => location,
                None => match client.locations_get().await?.items.into_iter().next() {
                    Some(first) => first.id,
                    None => return usage("no location is offered: give --location"),
                },
            };
            let input = PostRegistryInput {
                properties: PostRegistryProperties {
                    name,
                    location,
                    garbage_collection_schedule: settings.schedule(None)?,
                    features: None,
                    api_subnet_allow_list: settings.allow_list(),
                },
            };
            let created = client.registries_post(&input).await?;
            answer(globals.output, &created)
        }
        RegistryCommand::Update {
            globals,
            registry,
            settings,
        } => {
            let client = globals.client()?;
            let current = resolve(&client, &registry).await?;
            let input = PatchRegistryInput {
                garbage_collection_schedule: settings
                    .schedule(Some(&current.properties.garbage_collection_schedule))?,
                features: None,
                api_subnet_allow_list: settings.allow_list(),
            };
            if input == PatchRegistryInput::default() {
                return usage("nothing to change: give --gc-days, --gc-time or --allow");
            }
            let updated = client.registries_patch(&current.id, &input).await?;
            answer(globals.output, &updated)
        }
        RegistryCommand::Delete { globals, registry } => {
            let client = globals.client()?;
            let current = resolve(&client, &registry).await?;
            client.registries_delete(&current.id).await?;
            if globals.output == Output::Table {
                println!(
                    "Deleted registry {} ({}) with its tokens.",
                    current.properties.name, current.id
                );
            }
            Ok(())
        }
        RegistryCommand::Token { command } => registry_tokens::run(command).await,
        RegistryCommand::Repository { command } => repositories::run(command).await,
    }
}

fn answer(output: Output, registry: &RegistryResponse) -> anyhow::Result<()> {
    output::answer(output, registry, |r| show(std::slice::from_ref(r)))
}

fn show(registries: &[RegistryResponse]) {
    let mut table = Table::new(&[
        "NAME",
        "ID",
        "LOCATION",
        "HOSTNAME",
        "GARBAGE COLLECTION",
        "ALLOWED",
        "CREATED",
    ]);
    for registry in registries {
        let p = &registry.properties;
        let schedule = &p.garbage_collection_schedule;
        table.row(vec![
            p.name.clone(),
            registry.id.clone(),
            p.location.clone(),
            p.hostname.clone(),
            if schedule.days.is_empty() {
                "off".into()
            } else {
                let days: Vec<&str> = schedule.days.iter().map(|d| &d[..3]).collect();
                format!(
                    "{} {}",
                    days.join(","),
                    &schedule.time[..schedule.time.len().min(5)]
                )
            },
            if p.api_subnet_allow_list.is_empty() {
                "any".into()
            } else {
                p.api_subnet_allow_list.join(",")
            },
            output::date(&registry.metadata.created_date),
        ]);
    }
    table.print();
}
