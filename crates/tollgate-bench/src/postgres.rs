//! The PostgreSQL scenarios: Bearer reads (scenario 1) and registry logins
//! (scenario 4) on a store in PostgreSQL, through one node and through
//! three nodes behind HAProxy, configured as the README's deployment
//! guide says. They run when a server is named (`--postgres URL` or
//! `TOLLGATE_BENCH_POSTGRES`), in a database of their own that is dropped
//! afterwards.

#[path = "../../../deploy/haproxy_config.rs"]
mod haproxy_config;

use std::path::Path;
use std::process::{Command, Stdio};

use sqlx::Connection;
use tollgate_server::store::Store;

use crate::server::{self, Process};

/// The admin URL of the PostgreSQL server to use, if one was named.
pub fn server_url() -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != "--postgres").skip(1);
    args.next()
        .or_else(|| std::env::var("TOLLGATE_BENCH_POSTGRES").ok())
        .filter(|url| !url.is_empty())
}

/// A database of the benchmark's own on the server of `admin_url`,
/// dropped with it.
pub struct Database {
    admin_url: String,
    name: String,
    pub url: String,
}

impl Database {
    pub async fn create(admin_url: &str) -> anyhow::Result<Database> {
        let name = format!("tollgate_bench_{}", std::process::id());
        let mut admin = sqlx::postgres::PgConnection::connect(admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let (server, _) = admin_url
            .rsplit_once('/')
            .ok_or_else(|| anyhow::anyhow!("the PostgreSQL URL must end in /DATABASE"))?;
        Ok(Database {
            admin_url: admin_url.to_owned(),
            url: format!("{server}/{name}"),
            name,
        })
    }

    pub async fn store(&self) -> anyhow::Result<Store> {
        Store::connect(&self.url).await
    }

    /// Drops the database (its nodes must be stopped first).
    pub async fn drop_now(self) -> anyhow::Result<()> {
        let mut admin = sqlx::postgres::PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}

/// The settings every node of a deployment shares (see the README).
pub const NODE_ARGS: &[&str] = &["--trusted-proxies", "127.0.0.1"];

/// Starts `count` nodes on `database`, the first alone (it migrates).
pub async fn start_nodes(bin: &Path, database: &str, count: usize) -> anyhow::Result<Vec<Process>> {
    let mut nodes = Vec::with_capacity(count);
    for _ in 0..count {
        nodes.push(server::start_tollgate_with(bin, database, NODE_ARGS).await?);
    }
    Ok(nodes)
}

/// HAProxy in front of `nodes`, with the deployment's configuration; answers
/// once a request through it reaches a healthy node.
pub async fn start_haproxy(nodes: &[&Process], dir: &Path) -> anyhow::Result<Process> {
    let address = server::free_address()?;
    let servers: Vec<String> = nodes.iter().map(|node| node.address.to_string()).collect();
    let config = haproxy_config::pointed_at(&address.to_string(), &servers);
    let file = dir.join("haproxy.cfg");
    std::fs::write(&file, config)?;
    let child = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start haproxy (apt-get install haproxy): {e}"))?;
    let proxy = Process { child, address };
    server::wait_healthy(address).await?;
    Ok(proxy)
}

/// Whether `haproxy` can be run here.
pub fn haproxy_installed() -> bool {
    Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
