//! `cargo run --release -p tollgate-bench [-- --quick]`: measures Tollgate's
//! hot paths against a minimal axum baseline on this machine, in one run.
//!
//! It builds the release binaries, seeds a fresh embedded store, starts
//! Tollgate and the baseline as separate processes, drives each scenario
//! from this process over loopback at a fixed concurrency, and prints
//! requests/s, p50/p99 latency, errors and the server's peak RSS. The
//! baseline runs just before and after every scenario, and the scenario's
//! ratio is taken to the mean of those two runs: this shared machine's
//! speed drifts over a run, and the ratio should not. Then it grows the
//! store to a million Auth API tokens and a million registry tokens and
//! measures the read paths again. Scenario 7 runs scenarios 1 and 4 again
//! while a guesser at 127.0.0.2 sends wrong passwords as fast as it can;
//! scenario 8 is a registry's event notifications, one push per request.
//! With `--postgres URL`, scenarios 1 and 4 run last on a PostgreSQL
//! store, through one node and through three behind HAProxy.
//! `--quick` shrinks durations and sizes to a smoke run (CI runs it).

mod load;
mod postgres;
mod seed;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use tollgate_api::registry_rules::RegistryName;
use tollgate_server::clock::{Clock, SystemClock};
use tollgate_server::registry::events::{RegistryEvents, notifications_authorization};
use tollgate_server::store::Store;

use crate::load::{MakeRequest, Measured};
use crate::server::Process;

/// Sizes and durations of one run.
struct Plan {
    duration: Duration,
    concurrency: usize,
    /// Registry token counts at which scenario 5 is measured before the scale run.
    list_sizes: [u64; 2],
    /// Auth API and registry tokens in the store for the scale run.
    scale: u64,
}

impl Plan {
    fn from_args() -> Plan {
        if std::env::args().any(|a| a == "--quick") {
            Plan {
                duration: Duration::from_millis(700),
                concurrency: 16,
                list_sizes: [1_000, 5_000],
                scale: 20_000,
            }
        } else {
            Plan {
                duration: Duration::from_secs(10),
                concurrency: 16,
                list_sizes: [10_000, 100_000],
                scale: 1_000_000,
            }
        }
    }
}

/// One printed row.
struct Row {
    name: String,
    measured: Measured,
    /// The baseline's requests/s around this row: the mean of its runs
    /// just before and just after the scenario.
    baseline_rps: f64,
    rss_mib: f64,
}

/// The two servers under load and the rows measured so far.
struct Bench {
    plan: Plan,
    tollgate: Process,
    baseline: Process,
    /// What the load generator sends the baseline (scenario 1's shape).
    baseline_request: MakeRequest,
    /// The baseline run that closed the last scenario, while the store has
    /// not been grown since; the next scenario opens with it.
    last_baseline: Option<Measured>,
    rows: Vec<Row>,
}

impl Bench {
    /// Measures the baseline alone, as the table's first row.
    async fn baseline_row(&mut self, name: String) -> anyhow::Result<()> {
        let measured = self.measure_baseline().await?;
        self.rows.push(Row {
            name,
            baseline_rps: measured.rps(),
            rss_mib: self.baseline.peak_rss_mib(),
            measured: measured.clone(),
        });
        self.last_baseline = Some(measured);
        Ok(())
    }

    /// Measures one scenario between two runs of the baseline, so that its
    /// ratio compares it with the machine as it was at that moment.
    async fn scenario(
        &mut self,
        name: &str,
        expected: u16,
        make: MakeRequest,
    ) -> anyhow::Result<()> {
        let (measured, baseline_rps) = self
            .between_baselines(self.tollgate.address, expected, make)
            .await?;
        self.rows.push(Row {
            name: name.to_owned(),
            baseline_rps,
            measured,
            rss_mib: self.tollgate.peak_rss_mib(),
        });
        Ok(())
    }

    /// Measures `target` between two runs of the baseline; answers the
    /// figures and the baseline's mean requests/s around them.
    async fn between_baselines(
        &mut self,
        target: SocketAddr,
        expected: u16,
        make: MakeRequest,
    ) -> anyhow::Result<(Measured, f64)> {
        let before = match self.last_baseline.take() {
            Some(measured) => measured,
            None => self.measure_baseline().await?,
        };
        let measured = measure(&self.plan, target, expected, make).await?;
        let after = self.measure_baseline().await?;
        let baseline_rps = (before.rps() + after.rps()) / 2.0;
        self.last_baseline = Some(after);
        Ok((measured, baseline_rps))
    }

    /// Measures a scenario while a guesser at another loopback address
    /// hammers wrong passwords (Basic on the API and registry logins) from
    /// [`ATTACKERS`] connections of its own; answers what the attack sent.
    async fn under_attack(
        &mut self,
        name: &str,
        expected: u16,
        make: MakeRequest,
        attack: MakeRequest,
    ) -> anyhow::Result<Measured> {
        let target = self.tollgate.address;
        // The attack runs through the scenario's warm-up and its measured run.
        let lasting = self.plan.duration * 6 / 5 + Duration::from_millis(200);
        let attacker = tokio::spawn(load::run_from(
            Some(ATTACKER_ADDRESS.into()),
            target,
            ATTACKERS,
            lasting,
            429,
            attack,
        ));
        self.scenario(name, expected, make).await?;
        attacker.await?
    }

    /// Notes that the store was grown: time has passed, so the next
    /// scenario measures the baseline afresh before it runs.
    fn store_grew(&mut self) {
        self.last_baseline = None;
    }

    async fn measure_baseline(&self) -> anyhow::Result<Measured> {
        measure(
            &self.plan,
            self.baseline.address,
            200,
            self.baseline_request.clone(),
        )
        .await
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let plan = Plan::from_args();
    let bin = server::build_release()?;
    let dir = tempfile::tempdir()?;
    let db_path = dir.path().join("bench.db");
    let database = format!("sqlite://{}", db_path.display());
    let now = SystemClock.now();

    let store = Store::connect(&database).await?;
    let seeded = seed::base(&store, now).await?;
    seed::registry_tokens(&store, &seeded, 0, plan.list_sizes[0], now).await?;
    let tollgate = server::start_tollgate(&bin, &database).await?;
    let client = Client {
        address: tollgate.address,
    };
    let (bearer, token_id) = client.generate_token().await?;

    let scenario_1_body = client
        .body_len(
            &format!("/auth/v1/tokens/{token_id}"),
            &format!("Bearer {bearer}"),
        )
        .await?;
    let (list_sizes, scale) = (plan.list_sizes, plan.scale);
    let mut bench = Bench {
        plan,
        tollgate,
        baseline: server::start_baseline(&bin, scenario_1_body)?,
        baseline_request: simple_get("/auth/v1/tokens/x", format!("Bearer {bearer}")),
        last_baseline: None,
        rows: Vec::new(),
    };
    bench
        .baseline_row(format!("baseline: axum, fixed {scenario_1_body} B JSON"))
        .await?;

    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", seed::OWNER_EMAIL, seed::OWNER_PASSWORD))
    );
    let reader = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", seed::READER, seeded.reader_password))
    );
    let get_token = format!("/auth/v1/tokens/{token_id}");
    let registry_login =
        "/registry/token?service=bench.cr.localhost&scope=repository:team/app:pull".to_owned();
    let list = |size: u64| list_tokens(seeded.list_registry.as_str(), size, basic.clone());

    bench
        .scenario(
            "1 GET /auth/v1/tokens/{id}, Bearer",
            200,
            simple_get(&get_token, format!("Bearer {bearer}")),
        )
        .await?;
    bench
        .scenario(
            "2 GET /auth/v1/tokens/{id}, Basic",
            200,
            simple_get(&get_token, basic.clone()),
        )
        .await?;
    bench
        .scenario(
            "3 GET /auth/v1/tokens/generate, Bearer",
            200,
            simple_get(
                "/auth/v1/tokens/generate?ttl=3600",
                format!("Bearer {bearer}"),
            ),
        )
        .await?;
    bench
        .scenario(
            "4 GET /registry/token, 1 scope",
            200,
            simple_get(&registry_login, reader.clone()),
        )
        .await?;
    bench
        .scenario(
            &format!("5 list tokens, {} in registry", list_sizes[0]),
            200,
            list(list_sizes[0]),
        )
        .await?;
    seed::registry_tokens(&store, &seeded, list_sizes[0], list_sizes[1], now).await?;
    bench.store_grew();
    bench
        .scenario(
            &format!("5 list tokens, {} in registry", list_sizes[1]),
            200,
            list(list_sizes[1]),
        )
        .await?;
    bench
        .scenario(
            "6 POST /registries/{id}/tokens",
            201,
            create_tokens(seeded.write_registry.as_str(), basic.clone()),
        )
        .await?;
    let attack = guessing(&registry_login);
    let attacked_bearer = bench
        .under_attack(
            "7 scenario 1 during a guessing attack",
            200,
            simple_get(&get_token, format!("Bearer {bearer}")),
            attack.clone(),
        )
        .await?;
    let attacked_login = bench
        .under_attack(
            "7 scenario 4 during a guessing attack",
            200,
            simple_get(&registry_login, reader.clone()),
            attack,
        )
        .await?;

    let events = registry_events(&store, seed::LIST_REGISTRY).await?;
    bench
        .scenario("8 POST /registry/events, 1 manifest push each", 204, events)
        .await?;

    let seeding = Instant::now();
    seed::registry_tokens(&store, &seeded, list_sizes[1], scale, now).await?;
    seed::auth_tokens(&store, &seeded, scale, now).await?;
    let seeded_in = seeding.elapsed();
    bench.store_grew();
    bench
        .scenario(
            &format!("1 at scale ({scale} auth tokens)"),
            200,
            simple_get(&get_token, format!("Bearer {bearer}")),
        )
        .await?;
    bench
        .scenario(
            &format!("4 at scale ({scale} registry tokens)"),
            200,
            simple_get(&registry_login, reader),
        )
        .await?;
    bench
        .scenario(
            &format!("5 list tokens, {scale} in registry"),
            200,
            list(scale),
        )
        .await?;

    let postgres_note = match postgres::server_url() {
        Some(admin_url) => {
            postgres_scenarios(&mut bench, &bin, &admin_url, now).await?;
            None
        }
        None => Some("PostgreSQL scenarios skipped: name a server with --postgres URL"),
    };

    print_table(&bench.plan, &bench.rows);
    if let Some(note) = postgres_note {
        println!("{note}");
    }
    print_attack(&bench.rows, &[&attacked_bearer, &attacked_login]);
    let disk: u64 = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", db_path.display())).ok())
        .map(|m| m.len())
        .sum();
    println!();
    println!(
        "scale run: store seeded with {scale} Auth API tokens and {scale} registry tokens in {:.1} s",
        seeded_in.as_secs_f64()
    );
    println!(
        "on-disk size of the SQLite store: {:.1} MiB",
        disk as f64 / (1024.0 * 1024.0)
    );
    println!(
        "server peak RSS over the whole run: {:.1} MiB",
        bench.tollgate.peak_rss_mib()
    );
    Ok(())
}

/// Scenarios 1 and 4 on a PostgreSQL store: through one node, then
/// through three nodes behind HAProxy (when it is installed).
async fn postgres_scenarios(
    bench: &mut Bench,
    bin: &std::path::Path,
    admin_url: &str,
    now: i64,
) -> anyhow::Result<()> {
    let database = postgres::Database::create(admin_url).await?;
    let seeded = seed::base(&database.store().await?, now).await?;
    let mut nodes = postgres::start_nodes(bin, &database.url, 1).await?;
    let client = Client {
        address: nodes[0].address,
    };
    let (bearer, token_id) = client.generate_token().await?;
    let reader = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", seed::READER, seeded.reader_password))
    );
    let read = simple_get(
        &format!("/auth/v1/tokens/{token_id}"),
        format!("Bearer {bearer}"),
    );
    let login = simple_get(
        "/registry/token?service=bench.cr.localhost&scope=repository:team/app:pull",
        reader,
    );
    bench.store_grew();
    let dir = tempfile::tempdir()?;
    let mut setups = vec![false];
    if postgres::haproxy_installed() {
        setups.push(true);
    } else {
        println!("three nodes behind HAProxy skipped: haproxy is not installed");
    }
    for behind_haproxy in setups {
        let (setup, proxy) = if behind_haproxy {
            nodes.extend(postgres::start_nodes(bin, &database.url, 2).await?);
            let all: Vec<&Process> = nodes.iter().collect();
            let proxy = postgres::start_haproxy(&all, dir.path()).await?;
            ("3 nodes behind HAProxy", Some(proxy))
        } else {
            ("1 node", None)
        };
        let target = proxy.as_ref().map_or(nodes[0].address, |p| p.address);
        for (scenario, make) in [("1", read.clone()), ("4", login.clone())] {
            let (measured, baseline_rps) = bench.between_baselines(target, 200, make).await?;
            let all: Vec<&Process> = nodes.iter().collect();
            bench.rows.push(Row {
                name: format!("{scenario} on PostgreSQL, {setup}"),
                measured,
                baseline_rps,
                rss_mib: server::total_peak_rss_mib(&all),
            });
        }
    }
    drop(nodes);
    database.drop_now().await
}

async fn measure(
    plan: &Plan,
    target: SocketAddr,
    expected: u16,
    make: MakeRequest,
) -> anyhow::Result<Measured> {
    // A short warm-up fills connection pools and caches, then the measured run.
    load::run(
        target,
        plan.concurrency,
        plan.duration / 5,
        expected,
        make.clone(),
    )
    .await?;
    load::run(target, plan.concurrency, plan.duration, expected, make).await
}

/// A body-less GET with an `Authorization` header.
fn get_request(path: &str, authorization: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "127.0.0.1")
        .header("authorization", authorization)
        .body(Full::new(Bytes::new()))
        .unwrap_or_default()
}

fn simple_get(path: &str, authorization: String) -> MakeRequest {
    let path = path.to_owned();
    Arc::new(move |_, _| get_request(&path, &authorization))
}

/// Pages of 100 at offsets spread over the whole list.
fn list_tokens(registry: &str, size: u64, authorization: String) -> MakeRequest {
    let registry = registry.to_owned();
    Arc::new(move |worker, n| {
        let spread = (worker as u64 * 7_919 + n * 104_729) % size.max(1);
        let offset = spread.min(size.saturating_sub(100));
        get_request(
            &format!("/containerregistries/registries/{registry}/tokens?offset={offset}&limit=100"),
            &authorization,
        )
    })
}

/// Creates uniquely named tokens.
fn create_tokens(registry: &str, authorization: String) -> MakeRequest {
    let registry = registry.to_owned();
    let run = std::process::id();
    let epoch = Instant::now();
    Arc::new(move |worker, n| {
        let name = format!(
            "w{run}-{}-{worker}-{n}",
            epoch.elapsed().as_nanos() % 1_000_000_007
        );
        let body = format!(
            r#"{{"properties": {{"name": "{name}", "scopes": [{{"type": "repository", "name": "team/*", "actions": ["pull", "push"]}}]}}}}"#
        );
        Request::post(format!("/containerregistries/registries/{registry}/tokens"))
            .header("host", "127.0.0.1")
            .header("authorization", authorization.as_str())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_default()
    })
}

/// Distribution's notifications of manifest pushes, one event each, with
/// ids, repositories, tags and digests that do not repeat: each adds an
/// artifact (10 repositories), as a busy registry's would.
async fn registry_events(store: &Store, registry: &str) -> anyhow::Result<MakeRequest> {
    let name = RegistryName::parse("registry", registry)?;
    let secret = RegistryEvents::new(store.clone(), Arc::new(SystemClock))
        .connect(&name, "http://127.0.0.1:9")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no registry named {registry}"))?;
    let authorization = notifications_authorization(&name, &secret);
    let run = std::process::id();
    Ok(Arc::new(move |worker, n| {
        let digest = format!("sha256:{:016x}{:016x}{:032x}", run, worker, n);
        let repository = format!("team/app{}", n % 10);
        let body = format!(
            r#"{{"events":[{{"id":"{run}-{worker}-{n}","timestamp":"2026-11-30T10:00:00Z","action":"push",
"target":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":528,"digest":"{digest}",
"length":528,"repository":"{repository}","tag":"w{worker}-{n}",
"url":"http://registry:5000/v2/{repository}/manifests/{digest}"}},
"request":{{"id":"r","addr":"10.0.0.1:1","host":"registry:5000","method":"PUT","useragent":"bench"}},
"actor":{{"name":"ci"}},"source":{{"addr":"registry:5000","instanceID":"i"}}}}]}}"#
        );
        Request::post("/registry/events")
            .header("host", "127.0.0.1")
            .header("authorization", authorization.as_str())
            .header(
                "content-type",
                "application/vnd.docker.distribution.events.v1+json",
            )
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_default()
    }))
}

/// One-off requests to set a scenario up.
struct Client {
    address: SocketAddr,
}

impl Client {
    async fn get(&self, path: &str, authorization: &str) -> anyhow::Result<(u16, Bytes)> {
        let stream = tokio::net::TcpStream::connect(self.address).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let response = sender
            .send_request(get_request(path, authorization))
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }

    /// A Bearer token of the seeded owner and its id.
    async fn generate_token(&self) -> anyhow::Result<(String, String)> {
        let basic = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", seed::OWNER_EMAIL, seed::OWNER_PASSWORD))
        );
        let (status, body) = self
            .get("/auth/v1/tokens/generate?ttl=86400", &basic)
            .await?;
        anyhow::ensure!(status == 200, "generating a token answered {status}");
        let body: serde_json::Value = serde_json::from_slice(&body)?;
        let jwt = body["token"].as_str().unwrap_or_default().to_owned();
        let header = jwt.split('.').next().unwrap_or_default();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header)?,
        )?;
        let id = header["kid"].as_str().unwrap_or_default().to_owned();
        Ok((jwt, id))
    }

    async fn body_len(&self, path: &str, authorization: &str) -> anyhow::Result<usize> {
        let (status, body) = self.get(path, authorization).await?;
        anyhow::ensure!(status == 200, "{path} answered {status}");
        Ok(body.len())
    }
}

/// The guesser's address: another loopback address than the legitimate load's.
const ATTACKER_ADDRESS: [u8; 4] = [127, 0, 0, 2];

/// Connections the guesser keeps busy.
const ATTACKERS: usize = 4;

/// Wrong passwords, in turn for the owner's account (Basic) and for the
/// registry token the logins use: what a guesser sends, as fast as it can.
fn guessing(registry_login: &str) -> MakeRequest {
    let api = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:a wrong guess", seed::OWNER_EMAIL))
    );
    let registry = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:a wrong guess", seed::READER))
    );
    let registry_login = registry_login.to_owned();
    Arc::new(move |_, n| {
        if n % 2 == 0 {
            get_request("/auth/v1/tokens", &api)
        } else {
            get_request(&registry_login, &registry)
        }
    })
}

/// How the legitimate load fared during the attack, against the quiet figures.
fn print_attack(rows: &[Row], attacks: &[&Measured]) {
    let rps_of = |prefix: &str| {
        rows.iter()
            .find(|row| row.name.starts_with(prefix))
            .map(|row| row.measured.rps())
            .unwrap_or(f64::NAN)
    };
    println!();
    for (quiet, attacked, attack) in [
        ("1 GET", "7 scenario 1", attacks[0]),
        ("4 GET", "7 scenario 4", attacks[1]),
    ] {
        println!(
            "guessing attack ({ATTACKERS} connections from 127.0.0.2, {:.0} guesses/s, {:.1}% answered 429): {} at {:.2} of its quiet throughput",
            attack.requests as f64 / attack.seconds,
            100.0 * (attack.requests - attack.errors) as f64 / attack.requests.max(1) as f64,
            attacked.trim_start_matches("7 "),
            rps_of(attacked) / rps_of(quiet)
        );
    }
}

fn print_table(plan: &Plan, rows: &[Row]) {
    println!();
    println!(
        "Tollgate benchmark: {} connections, {:.1} s per scenario, loopback, {} cores",
        plan.concurrency,
        plan.duration.as_secs_f64(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!(
        "x base: req/s over the baseline's req/s, measured just before and after each scenario"
    );
    println!(
        "{:<44} {:>8} {:>10} {:>7} {:>7} {:>7} {:>7} {:>10}",
        "scenario", "req/s", "base req/s", "x base", "p50 ms", "p99 ms", "errors", "peak RSS"
    );
    for row in rows {
        let m = &row.measured;
        println!(
            "{:<44} {:>8.0} {:>10.0} {:>7.2} {:>7.2} {:>7.2} {:>7} {:>7.1} MB",
            row.name,
            m.rps(),
            row.baseline_rps,
            m.rps() / row.baseline_rps,
            m.percentile_ms(0.50),
            m.percentile_ms(0.99),
            m.errors,
            row.rss_mib
        );
    }
}
