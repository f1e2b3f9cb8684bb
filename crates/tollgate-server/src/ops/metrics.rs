//! The service's metrics, rendered in the Prometheus text format:
//! requests by method, route template and status, their latency per route,
//! refused logins by reason, tokens issued and revoked, registry events
//! taken in and resynchronisations by outcome, store errors, and the
//! store's connection pool.
//!
//! Every label value comes from a fixed set: route templates (never raw
//! paths or ids), methods, statuses, token kinds, refusal reasons. The
//! request metrics are recorded per thread (`request_metrics`); the token
//! kind counters are resolved once, at start, so the paths machines hammer
//! stay fast.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::request_metrics::RequestMetrics;
use super::striped::StripedCounter;
use crate::store::PoolUse;

/// Issued credentials: every registry login counts its JWT, on every
/// worker thread at once, so the count is striped per thread.
type IssuedCounter = Counter<u64, StripedCounter>;

/// Store errors of this process (every [`crate::store::Store`] in it):
/// counted where a database error is turned into a `StoreError`.
pub static STORE_ERRORS: LazyLock<Counter> = LazyLock::new(Counter::default);

/// The route label of a request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    kind: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// What became of the events in registries' notifications.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventOutcomes {
    /// New, and taken in.
    pub taken: u64,
    /// Taken in before (a repeated delivery).
    pub repeated: u64,
    /// Unreadable, or nothing this service keeps (a `HEAD`, a blob's pull,
    /// Tollgate's own calls).
    pub ignored: u64,
}

/// How a scheduled resynchronisation of one registry ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncOutcome {
    /// Every repository read and applied (or left to the next run).
    Complete,
    /// Some repositories failed; the others were applied.
    Partial,
    /// Nothing was read (the registry's catalog or the store failed).
    Failed,
}

/// The kinds of credential this service issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An Auth API access token.
    AccessToken,
    /// A registry token (name and password for `docker login`).
    RegistryToken,
    /// A short-lived JWT a registry accepts, from `/registry/token`.
    RegistryJwt,
}

impl TokenKind {
    const ALL: [TokenKind; 3] = [
        TokenKind::AccessToken,
        TokenKind::RegistryToken,
        TokenKind::RegistryJwt,
    ];

    fn label(self) -> &'static str {
        match self {
            TokenKind::AccessToken => "access_token",
            TokenKind::RegistryToken => "registry_token",
            TokenKind::RegistryJwt => "registry_jwt",
        }
    }
}

/// The metrics of one service instance.
pub struct Metrics {
    registry: Registry,
    requests: Arc<RequestMetrics>,
    login_failures: Family<LoginLabels, Counter>,
    /// Refusal reasons are sentences (for the audit trail); their labels
    /// are made once per kind and reason.
    login_failure_counters: Mutex<HashMap<(&'static str, &'static str), Counter>>,
    /// By [`TokenKind`], resolved once: a registry login counts its JWT.
    tokens_issued: [IssuedCounter; 3],
    /// Access and registry tokens (a registry JWT is never revoked).
    tokens_revoked: [Counter; 2],
    registry_events: Family<OutcomeLabels, Counter>,
    resyncs: Family<OutcomeLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Arc::new(RequestMetrics::default());
        registry.register_collector(Box::new(requests.clone()));
        let login_failures = Family::<LoginLabels, Counter>::default();
        registry.register(
            "tollgate_login_failures",
            "Refused logins, by credential kind and reason",
            login_failures.clone(),
        );
        let tokens_issued = Family::<KindLabels, IssuedCounter>::default();
        registry.register(
            "tollgate_tokens_issued",
            "Credentials issued, by kind (access_token, registry_token, registry_jwt)",
            tokens_issued.clone(),
        );
        let tokens_revoked = Family::<KindLabels, Counter>::default();
        registry.register(
            "tollgate_tokens_revoked",
            "Credentials deleted before their end, by kind",
            tokens_revoked.clone(),
        );
        registry.register(
            "tollgate_store_errors",
            "Database errors met by this process (unreachable, full, corrupt)",
            STORE_ERRORS.clone(),
        );
        let registry_events = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "tollgate_registry_events",
            "Events in registries' notifications, by outcome (taken, repeated, ignored)",
            registry_events.clone(),
        );
        let resyncs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "tollgate_registry_resyncs",
            "Scheduled resynchronisations of a registry, by outcome (complete, partial, failed)",
            resyncs.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "tollgate_store_pool_connections",
            "The store's connection pool: open connections in use, idle, and the most it opens",
            pool.clone(),
        );
        Self {
            registry,
            requests,
            login_failures,
            login_failure_counters: Mutex::default(),
            tokens_issued: TokenKind::ALL.map(|kind| {
                tokens_issued.get_or_create_owned(&KindLabels {
                    kind: kind.label().to_owned(),
                })
            }),
            tokens_revoked: [TokenKind::AccessToken, TokenKind::RegistryToken]
                .map(|kind| of_kind(&tokens_revoked, kind)),
            registry_events,
            resyncs,
            pool,
        }
    }

    /// A request to `route` (a template, or [`UNMATCHED_ROUTE`]) was answered.
    pub fn answered(&self, route: &str, method: &Method, status: u16, took: Duration) {
        self.requests.answered(route, method, status, took);
    }

    /// A login of `kind` was refused for `reason` (the audit trail's words).
    pub fn login_refused(&self, kind: &'static str, reason: &'static str) {
        let mut counters = self
            .login_failure_counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counters
            .entry((kind, reason))
            .or_insert_with(|| {
                self.login_failures.get_or_create_owned(&LoginLabels {
                    kind: kind.to_owned(),
                    reason: label_of(reason),
                })
            })
            .inc();
    }

    /// `count` credentials of `kind` were issued.
    pub fn issued(&self, kind: TokenKind, count: u64) {
        self.tokens_issued[kind as usize].inc_by(count);
    }

    /// `count` credentials of `kind` were deleted.
    pub fn revoked(&self, kind: TokenKind, count: u64) {
        if let Some(counter) = self.tokens_revoked.get(kind as usize) {
            counter.inc_by(count);
        }
    }

    /// A delivery of registry events was taken in.
    pub fn registry_events(&self, outcomes: EventOutcomes) {
        for (outcome, count) in [
            ("taken", outcomes.taken),
            ("repeated", outcomes.repeated),
            ("ignored", outcomes.ignored),
        ] {
            self.registry_events
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(count);
        }
    }

    /// A scheduled resynchronisation of one registry ended so.
    pub fn resynced(&self, outcome: ResyncOutcome) {
        let outcome = match outcome {
            ResyncOutcome::Complete => "complete",
            ResyncOutcome::Partial => "partial",
            ResyncOutcome::Failed => "failed",
        };
        self.resyncs.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// The text exposition, with the pool's use as of now.
    pub fn render(&self, pool: PoolUse) -> String {
        for (state, value) in [
            ("in_use", pool.in_use),
            ("idle", pool.idle),
            ("max", pool.max),
        ] {
            self.pool
                .get_or_create(&PoolLabels { state })
                .set(i64::from(value));
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The counter of `family` for `kind`.
fn of_kind(family: &Family<KindLabels, Counter>, kind: TokenKind) -> Counter {
    family.get_or_create_owned(&KindLabels {
        kind: kind.label().to_owned(),
    })
}

/// A refusal reason as a label value: lower case, words joined by `_`.
fn label_of(reason: &str) -> String {
    reason
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_become_label_values() {
        assert_eq!(
            label_of("wrong e-mail or password"),
            "wrong_e_mail_or_password"
        );
        assert_eq!(label_of("access token expired"), "access_token_expired");
    }

    #[test]
    fn requests_are_counted_by_route_method_and_status() {
        let metrics = Metrics::new();
        let took = Duration::from_millis(2);
        metrics.answered("/auth/v1/tokens/{tokenId}", &Method::GET, 200, took);
        metrics.answered("/auth/v1/tokens/{tokenId}", &Method::GET, 200, took);
        metrics.answered("/auth/v1/tokens/{tokenId}", &Method::DELETE, 404, took);
        metrics.answered(
            UNMATCHED_ROUTE,
            &Method::from_bytes(b"BREW").unwrap(),
            405,
            took,
        );
        let text = metrics.render(PoolUse::default());
        assert!(text.contains(
            r#"tollgate_http_requests_total{method="GET",route="/auth/v1/tokens/{tokenId}",status="200"} 2"#
        ), "{text}");
        assert!(text.contains(
            r#"tollgate_http_requests_total{method="DELETE",route="/auth/v1/tokens/{tokenId}",status="404"} 1"#
        ));
        assert!(text.contains(r#"method="OTHER",route="unmatched",status="405"} 1"#));
        assert!(text.contains(
            r#"tollgate_http_request_duration_seconds_bucket{le="0.0025",method="GET",route="/auth/v1/tokens/{tokenId}"} 2"#
        ), "{text}");
    }
}
