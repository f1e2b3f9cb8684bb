//! What an operator sees: `/metrics` in the Prometheus text format after
//! known traffic, `/healthz` and `/readyz`, and request ids.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::private_postgres::PrivatePostgres;
use crate::support::*;

/// One sample of a text exposition: its name and labels.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
}

/// Parses the text exposition format (Prometheus 0.0.4 and OpenMetrics):
/// `# ` lines are metadata, every other line is `name{labels} value`.
fn parse_exposition(text: &str) -> HashMap<Sample, f64> {
    let mut samples = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line
            .rsplit_once(' ')
            .expect("a sample line ends in its value");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').expect("labels end in }")),
            None => (series, ""),
        };
        let mut parsed = Vec::new();
        let mut rest = labels;
        while !rest.is_empty() {
            let (key, after) = rest.split_once("=\"").expect("label=\"value\"");
            let end = after.find('"').expect("a closing quote");
            parsed.push((key.to_owned(), after[..end].to_owned()));
            rest = after[end + 1..].trim_start_matches(',');
        }
        parsed.sort();
        let value: f64 = value.parse().expect("a numeric value");
        samples.insert(
            Sample {
                name: name.to_owned(),
                labels: parsed,
            },
            value,
        );
    }
    samples
}

fn value(samples: &HashMap<Sample, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    let key = Sample {
        name: name.to_owned(),
        labels,
    };
    *samples
        .get(&key)
        .unwrap_or_else(|| panic!("no sample {key:?} in {:#?}", samples.keys()))
}

async fn scrape(app: &TestApp) -> HashMap<Sample, f64> {
    let response = app.get("/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    assert!(
        !text.contains("/auth/v1/tokens/0"),
        "no raw path or id in a label: {text}"
    );
    parse_exposition(&text)
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_events_and_resynchronisations_are_counted_by_outcome() {
    const DIGEST: &str = "sha256:4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
    let app = TestApp::spawn().await;
    create_registry(&app, "counted").await;
    // A push and a pull, then the same two delivered again.
    for _ in 0..2 {
        report_pushes(&app, "counted", &[("team/app", "v1", DIGEST)]).await;
    }
    let samples = scrape(&app).await;
    let events = |outcome| {
        value(
            &samples,
            "tollgate_registry_events_total",
            &[("outcome", outcome)],
        )
    };
    assert_eq!((events("taken"), events("repeated")), (2.0, 2.0));
    // The registry is connected to an API nothing answers: every scheduled
    // resynchronisation fails, and says so.
    let resyncs = tokio::spawn(app.state.resync.clone().run_periodically(
        std::time::Duration::from_millis(50),
        app.state.metrics.clone(),
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let samples = scrape(&app).await;
        let failed = samples
            .iter()
            .find(|(sample, _)| {
                sample.name == "tollgate_registry_resyncs_total"
                    && sample.labels == [("outcome".to_owned(), "failed".to_owned())]
            })
            .map_or(0.0, |(_, value)| *value);
        if failed >= 1.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no failed resync counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    resyncs.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_known_traffic_by_route_status_and_kind() {
    let app = TestApp::spawn().await;
    let jwt = app.owner_token().await;
    let id = token_id(&jwt);
    for _ in 0..3 {
        let read = app
            .get(&format!("/auth/v1/tokens/{id}"))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), StatusCode::OK);
    }
    let missing = app
        .get("/auth/v1/tokens/00000000-0000-4000-8000-000000000000")
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let wrong = app
        .get("/auth/v1/tokens")
        .basic_auth(OWNER_EMAIL, Some("not the password"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let scopes = json!([{"type": "repository", "name": "*", "actions": ["pull"]}]);
    let (_, service, _, password) = registry_with_token(&app, "metered", "ci", scopes).await;
    let login = app
        .get("/registry/token")
        .query(&[
            ("service", service.as_str()),
            ("scope", "repository:app:pull"),
        ])
        .basic_auth("ci", Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let deleted = app
        .delete(&format!("/auth/v1/tokens/{id}"))
        .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);

    let samples = scrape(&app).await;
    let requests = "tollgate_http_requests_total";
    let by_id = "/auth/v1/tokens/{token_id}";
    assert_eq!(
        value(
            &samples,
            requests,
            &[("method", "GET"), ("route", by_id), ("status", "200")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[("method", "GET"), ("route", by_id), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("method", "GET"),
                ("route", "/auth/v1/tokens"),
                ("status", "401")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("method", "GET"),
                ("route", "/registry/token"),
                ("status", "200")
            ]
        ),
        1.0
    );
    let latency = "tollgate_http_request_duration_seconds_count";
    assert_eq!(
        value(&samples, latency, &[("method", "GET"), ("route", by_id)]),
        4.0
    );
    let slowest = "tollgate_http_request_duration_seconds_bucket";
    assert_eq!(
        value(
            &samples,
            slowest,
            &[("method", "GET"), ("route", by_id), ("le", "+Inf")]
        ),
        4.0
    );
    assert_eq!(
        value(
            &samples,
            "tollgate_login_failures_total",
            &[("kind", "basic"), ("reason", "wrong_e_mail_or_password")]
        ),
        1.0
    );
    let issued = "tollgate_tokens_issued_total";
    assert_eq!(value(&samples, issued, &[("kind", "access_token")]), 1.0);
    assert_eq!(value(&samples, issued, &[("kind", "registry_token")]), 1.0);
    assert_eq!(value(&samples, issued, &[("kind", "registry_jwt")]), 1.0);
    let revoked = "tollgate_tokens_revoked_total";
    assert_eq!(value(&samples, revoked, &[("kind", "access_token")]), 1.0);
    assert_eq!(value(&samples, revoked, &[("kind", "registry_token")]), 0.0);
    assert!(value(&samples, "tollgate_store_errors_total", &[]) >= 0.0);
    let pool = "tollgate_store_pool_connections";
    assert!(value(&samples, pool, &[("state", "max")]) >= 1.0);
    assert!(value(&samples, pool, &[("state", "idle")]) >= 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_a_request_id_and_a_usable_one_is_kept() {
    let app = TestApp::spawn().await;
    let kept = app
        .get("/healthz")
        .header("X-Request-Id", "lb-7f3a.42")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "lb-7f3a.42");

    let mut seen = Vec::new();
    for header in [None, Some("has a space"), Some("")] {
        let mut request = app.get("/auth/v1/tokens");
        if let Some(header) = header {
            request = request.header("X-Request-Id", header);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::UNAUTHORIZED,
            "errors carry one too"
        );
        let id = answer.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        seen.push(id);
    }
    seen.dedup();
    assert_eq!(seen.len(), 3, "each request gets its own id");
}

#[tokio::test(flavor = "multi_thread")]
async fn liveness_and_readiness_answer_while_the_store_is_up() {
    let app = TestApp::spawn().await;
    let live = app.get("/healthz").send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let ready = app.get("/readyz").answer_json().await;
    assert_eq!(ready, json!({"status": "ready"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_goes_503_while_the_database_is_down_and_comes_back() {
    let postgres = PrivatePostgres::start();
    let app = TestApp::spawn_on_database(postgres.url()).await;
    assert_eq!(
        app.get("/readyz").send().await.unwrap().status(),
        StatusCode::OK
    );
    let errors_before = value(&scrape(&app).await, "tollgate_store_errors_total", &[]);

    postgres.down();
    let down = app.get("/readyz").send().await.unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["httpStatus"], 503, "{body}");
    assert_eq!(body["messages"][0]["errorCode"], "not-ready", "{body}");
    assert_eq!(
        body["messages"][0]["message"],
        "not ready: the database does not answer"
    );
    assert_eq!(
        app.get("/healthz").send().await.unwrap().status(),
        StatusCode::OK,
        "the process still answers"
    );
    let samples = scrape(&app).await;
    assert!(value(&samples, "tollgate_store_errors_total", &[]) > errors_before);

    postgres.up();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if app.get("/readyz").send().await.unwrap().status() == StatusCode::OK {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready again");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let token = app.owner_token().await;
    assert!(!token.is_empty(), "and it serves again");
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_refused_before_routing_carry_the_request_id_too() {
    let app = TestApp::spawn().await;
    let long_query = "a".repeat(9 * 1024);
    let refused = app
        .get(&format!("/auth/v1/tokens?{long_query}"))
        .header("X-Request-Id", "edge-414")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::URI_TOO_LONG);
    assert_eq!(refused.headers()["x-request-id"], "edge-414");
}
