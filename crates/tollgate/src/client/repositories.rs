//! `tollgate registry repository list|get|delete`: a registry's
//! repositories and their artifacts (Container Registry API 1.2.1), as
//! the registry reports them.

use clap::Subcommand;
use futures_util::TryStreamExt;
use tollgate_api::artifacts::{ArtifactRead, RepositoryRead};

use super::Globals;
use super::output::{self, Output, Table};
use super::registries::{Which, resolve};

#[derive(Subcommand, Debug)]
pub enum RepositoryCommand {
    /// List a registry's repositories (most recently pushed first).
    List {
        #[command(flatten)]
        globals: Globals,
        #[command(flatten)]
        registry: Which,
        /// Only names containing this.
        #[arg(long)]
        filter: Option<String>,
        /// The order: name, lastPush, lastPull, artifactCount, pullCount or
        /// pushCount; `-` in front for descending.
        #[arg(long, default_value = "-lastPush", allow_hyphen_values = true)]
        order_by: String,
    },
    /// Show one repository and its artifacts.
    Get(InRepository),
    /// Delete a repository: its manifests are deleted from the registry.
    Delete(InRepository),
}

/// One repository of a registry (by the registry's `--id` or `--name`).
#[derive(clap::Args, Debug)]
pub struct InRepository {
    #[command(flatten)]
    globals: Globals,
    #[command(flatten)]
    registry: Which,
    /// The repository's name, e.g. team/app.
    #[arg(long = "repository")]
    repository: String,
}

/// The most a page holds; lists walk every page.
const PAGE: u32 = 1000;

pub async fn run(command: RepositoryCommand) -> anyhow::Result<()> {
    match command {
        RepositoryCommand::List {
            globals,
            registry,
            filter,
            order_by,
        } => {
            let client = globals.client()?;
            let registry = resolve(&client, &registry).await?;
            let mut request = client
                .registries_repositories_get(&registry.id)
                .limit(PAGE)
                .order_by(order_by);
            if let Some(filter) = filter {
                request = request.filter_name(filter);
            }
            let repositories: Vec<RepositoryRead> = request.all().try_collect().await?;
            output::answer(globals.output, &repositories, |r| show(r))
        }
        RepositoryCommand::Get(InRepository {
            globals,
            registry,
            repository,
        }) => {
            let client = globals.client()?;
            let registry = resolve(&client, &registry).await?;
            let found = client
                .registries_repositories_find_by_name(&registry.id, &repository)
                .await?;
            let artifacts: Vec<ArtifactRead> = client
                .registries_repositories_artifacts_get(&registry.id, &repository)
                .limit(PAGE)
                .all()
                .try_collect()
                .await?;
            match globals.output {
                Output::Json => output::json(&serde_json::json!({
                    "repository": found,
                    "artifacts": artifacts,
                })),
                Output::Table => {
                    show(std::slice::from_ref(&found));
                    println!();
                    show_artifacts(&artifacts);
                    Ok(())
                }
            }
        }
        RepositoryCommand::Delete(InRepository {
            globals,
            registry,
            repository,
        }) => {
            let client = globals.client()?;
            let registry = resolve(&client, &registry).await?;
            client
                .registries_repositories_delete(&registry.id, &repository)
                .await?;
            if globals.output == Output::Table {
                println!(
                    "Deleted repository {repository} of registry {}: its manifests are gone from the registry.",
                    registry.properties.name
                );
            }
            Ok(())
        }
    }
}

fn show(repositories: &[RepositoryRead]) {
    let mut table = Table::new(&[
        "REPOSITORY",
        "ARTIFACTS",
        "PULLS",
        "PUSHES",
        "LAST PUSH",
        "BY",
        "LAST PULL",
    ]);
    for r in repositories {
        let m = &r.metadata;
        table.row(vec![
            r.properties.name.clone(),
            m.artifact_count.to_string(),
            m.pull_count.to_string(),
            m.push_count.to_string(),
            m.last_pushed_at.as_deref().map_or("-".into(), output::date),
            m.last_modified_by.clone().unwrap_or_else(|| "-".into()),
            m.last_pulled_at
                .as_deref()
                .map_or("never".into(), output::date),
        ]);
    }
    table.print();
}

fn show_artifacts(artifacts: &[ArtifactRead]) {
    let mut table = Table::new(&["DIGEST", "TAGS", "PULLS", "PUSHES", "LAST PUSH", "BY"]);
    for a in artifacts {
        table.row(vec![
            a.properties.digest.clone(),
            a.properties.tags.join(","),
            a.metadata.pull_count.to_string(),
            a.metadata.push_count.to_string(),
            output::date(&a.metadata.last_pushed_at),
            a.metadata
                .last_modified_by
                .clone()
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    table.print();
}
