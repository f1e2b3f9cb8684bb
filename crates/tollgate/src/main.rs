//! `tollgate`: serve the APIs, administer the store directly, or use the
//! APIs from a terminal.
//!
//! This file only parses the command line and hands over: `serve` to the
//! [`serve`] module, `admin` to the [`admin`] module, the client commands
//! (`login`, `logout`, `token`, `registry`) to the [`client`] module.

mod admin;
mod client;
mod serve;

use clap::{CommandFactory, Parser, Subcommand};

/// mimalloc: the request paths allocate many small, short-lived values on
/// several threads, where it is faster than glibc's malloc and returns
/// freed memory more readily (see ARCHITECTURE.md, "Memory").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tollgate",
    version,
    about = "Issues and checks credentials for cloud APIs and container registries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP service.
    Serve(Box<serve::ServeArgs>),
    /// Administer the store directly (works while `serve` runs).
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Log in: generate an access token with your password and keep it.
    Login(client::LoginArgs),
    /// Log out: revoke the kept access token and forget it.
    Logout(client::LogoutArgs),
    /// Access tokens (Auth API): generate, list, get, delete.
    Token {
        #[command(subcommand)]
        command: client::TokenCommand,
    },
    /// Container registries and their tokens.
    Registry {
        #[command(subcommand)]
        command: client::RegistryCommand,
    },
    /// Print shell completions.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Few blocking threads: each keeps a malloc arena and a SQLite read
    // connection, and two cores gain nothing from more.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(8)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tollgate: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Admin { command } => admin::run(command).await,
            Command::Login(args) => client::login(args).await,
            Command::Logout(args) => client::logout(args).await,
            Command::Token { command } => client::token(command).await,
            Command::Registry { command } => client::registry(command).await,
            Command::Completion { shell } => {
                clap_complete::generate(
                    shell,
                    &mut Cli::command(),
                    "tollgate",
                    &mut std::io::stdout(),
                );
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            if is_usage_error(&e) {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

/// A mistake in how a command was called (exit code 2, as clap's own
/// usage errors), rather than a refused request (exit code 1).
fn is_usage_error(error: &anyhow::Error) -> bool {
    error.downcast_ref::<client::UsageError>().is_some()
        || matches!(
            error.downcast_ref::<tollgate_client::Error>(),
            Some(tollgate_client::Error::Usage(_))
        )
}
