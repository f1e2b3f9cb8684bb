//! `tollgate`: serve the APIs, or administer the store directly.
//!
//! This file only parses the command line and hands over: `serve` to the
//! [`serve`] module, `admin` to the [`admin`] module.

mod admin;
mod serve;

use clap::{Parser, Subcommand};

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
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
