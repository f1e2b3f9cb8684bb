//! `haproxy.cfg` beside this file, pointed at other addresses: the test of
//! three nodes (`crates/tollgate/tests/it/multi_node.rs`) and the
//! benchmark (`crates/tollgate-bench/src/postgres.rs`) run the deployment's
//! own configuration through this module (each includes it with `#[path]`).

/// The deployment's configuration, as the README shows it.
pub const DEPLOYED: &str = include_str!("haproxy.cfg");

/// [`DEPLOYED`], bound to `bind` and balancing over `servers` instead of
/// the example's.
pub fn pointed_at(bind: &str, servers: &[String]) -> String {
    let mut config = String::new();
    for line in DEPLOYED.lines() {
        let directive = line.trim_start();
        if directive.starts_with("bind ") {
            config.push_str(&format!("    bind {bind}\n"));
        } else if !directive.starts_with("server ") {
            config.push_str(line);
            config.push('\n');
        }
    }
    for (i, server) in servers.iter().enumerate() {
        config.push_str(&format!("    server node{} {server} check\n", i + 1));
    }
    config
}
