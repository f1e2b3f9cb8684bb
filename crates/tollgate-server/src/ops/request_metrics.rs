//! The HTTP request metrics (`tollgate_http_requests_total`,
//! `tollgate_http_request_duration_seconds`), recorded without contention.
//!
//! Every answered request updates them, on every worker thread at once: a
//! shared counter or histogram would bounce its cache line between the
//! cores on each request (measured: 2-3% of a registry login's throughput
//! on two cores). So each thread records into a shard of its own, behind a
//! mutex only that thread takes (and a scrape, briefly); a scrape sums the
//! shards and encodes them as a prometheus-client [`Collector`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::Method;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// Latency buckets, in seconds: from a cached read to a slow password check.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Distinguishes the metrics of several services in one process (tests).
static INSTANCES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's shard of each instance it recorded for.
    static SHARDS: RefCell<Vec<(u64, Arc<Shard>)>> = const { RefCell::new(Vec::new()) };
}

/// The request metrics of one service instance.
#[derive(Debug)]
pub struct RequestMetrics {
    instance: u64,
    shards: Mutex<Vec<Arc<Shard>>>,
}

/// What one thread recorded: by route template, then by method.
#[derive(Debug, Default)]
struct Shard {
    routes: Mutex<Vec<RouteStats>>,
}

/// One route template's statistics. A route is found by the address of
/// its text first (axum keeps one per route, so a pointer comparison
/// finds it without hashing the text), then by the text itself, so the
/// list never holds a template twice.
#[derive(Debug)]
struct RouteStats {
    at: usize,
    route: String,
    methods: [MethodStats; METHODS],
}

const METHODS: usize = 7;

/// One route and method: answers by status, and their latencies.
#[derive(Debug, Default, Clone)]
struct MethodStats {
    /// `(status, count)`: a route answers with a handful of statuses.
    by_status: Vec<(u16, u64)>,
    /// Per bucket of [`LATENCY_BUCKETS`], then past the last.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    sum_seconds: f64,
}

impl MethodStats {
    fn add(&mut self, other: &MethodStats) {
        for &(status, count) in &other.by_status {
            self.count(status, count);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.sum_seconds += other.sum_seconds;
    }

    fn count(&mut self, status: u16, by: u64) {
        match self.by_status.iter_mut().find(|(s, _)| *s == status) {
            Some((_, count)) => *count += by,
            None => self.by_status.push((status, by)),
        }
    }
}

fn method_slot(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::PATCH => 3,
        Method::DELETE => 4,
        Method::HEAD => 5,
        _ => 6,
    }
}

/// The method label of a slot: any non-standard method is `OTHER`, so a
/// client cannot add label values of its choosing.
const METHOD_LABELS: [&str; METHODS] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OTHER"];

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Default for RequestMetrics {
    fn default() -> Self {
        Self {
            instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
            shards: Mutex::default(),
        }
    }
}

impl RequestMetrics {
    /// A request to `route` was answered with `status` after `took`.
    pub fn answered(&self, route: &str, method: &Method, status: u16, took: Duration) {
        let seconds = took.as_secs_f64();
        let record = |methods: &mut [MethodStats; METHODS]| {
            let stats = &mut methods[method_slot(method)];
            stats.count(status, 1);
            let bucket = LATENCY_BUCKETS
                .iter()
                .position(|upper| seconds <= *upper)
                .unwrap_or(LATENCY_BUCKETS.len());
            stats.buckets[bucket] += 1;
            stats.sum_seconds += seconds;
        };
        let shard = self.shard();
        let mut routes = locked(&shard.routes);
        let at = route.as_ptr() as usize;
        let found = routes
            .iter()
            .position(|r| r.at == at)
            .or_else(|| routes.iter().position(|r| r.route == route));
        let index = found.unwrap_or_else(|| {
            routes.push(RouteStats {
                at,
                route: route.to_owned(),
                methods: Default::default(),
            });
            routes.len() - 1
        });
        record(&mut routes[index].methods);
    }

    /// This thread's shard, made and registered on its first request.
    fn shard(&self) -> Arc<Shard> {
        SHARDS.with(|shards| {
            let mut shards = shards.borrow_mut();
            if let Some((_, shard)) = shards.iter().find(|(id, _)| *id == self.instance) {
                return shard.clone();
            }
            let shard = Arc::new(Shard::default());
            locked(&self.shards).push(shard.clone());
            shards.push((self.instance, shard.clone()));
            shard
        })
    }

    /// Every shard summed, by route and method slot, in label order.
    fn totals(&self) -> BTreeMap<(String, usize), MethodStats> {
        let mut totals: BTreeMap<(String, usize), MethodStats> = BTreeMap::new();
        for shard in locked(&self.shards).iter() {
            for route in locked(&shard.routes).iter() {
                for (slot, stats) in route.methods.iter().enumerate() {
                    if !stats.by_status.is_empty() {
                        totals
                            .entry((route.route.clone(), slot))
                            .or_default()
                            .add(stats);
                    }
                }
            }
        }
        totals
    }
}

impl Collector for RequestMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let totals = self.totals();
        let mut requests = encoder.encode_descriptor(
            "tollgate_http_requests",
            "HTTP requests answered, by method, route template and status",
            None,
            MetricType::Counter,
        )?;
        for ((route, slot), stats) in &totals {
            let mut by_status = stats.by_status.clone();
            by_status.sort_unstable();
            for (status, count) in by_status {
                let status = status.to_string();
                let labels = [
                    ("method", METHOD_LABELS[*slot]),
                    ("route", route.as_str()),
                    ("status", status.as_str()),
                ];
                requests
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&count, None)?;
            }
        }
        let mut durations = encoder.encode_descriptor(
            "tollgate_http_request_duration_seconds",
            "Time from a request's headers to its answer, by method and route template",
            None,
            MetricType::Histogram,
        )?;
        for ((route, slot), stats) in &totals {
            let labels = [("method", METHOD_LABELS[*slot]), ("route", route.as_str())];
            let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
                .iter()
                .copied()
                .chain(std::iter::once(f64::INFINITY))
                .zip(stats.buckets)
                .collect();
            let count = stats.buckets.iter().sum();
            durations
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(stats.sum_seconds, count, &buckets, None)?;
        }
        Ok(())
    }
}
