//! Hardening: clients that dawdle over headers or bodies, more connections
//! than the cap (in all, and from one client), request lines and headers past their limits. Spoken over
//! raw sockets where a well-behaved client could not misbehave enough.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tollgate_server::http::limits::ConnectionLimits;

use crate::support::*;

/// Long enough for any answer on a loaded machine; the limits under test
/// are a second, so every wait below ends well before this.
const PATIENCE: Duration = Duration::from_secs(20);

fn short_limits() -> ConnectionLimits {
    ConnectionLimits {
        max_connections: 4,
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        max_uri_bytes: 2048,
        max_header_bytes: 4096,
        ..ConnectionLimits::default()
    }
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .expect("connects")
}

/// A connection to `app` from another loopback address (another client).
async fn connect_from(app: &TestApp, source: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(source.parse().unwrap(), 0))
        .unwrap();
    let address = app.base.trim_start_matches("http://").parse().unwrap();
    socket.connect(address).await.expect("connects")
}

/// `count` keep-alive connections from `source` (`None`: the default
/// loopback address), each proven served.
async fn hold_served(app: &TestApp, source: Option<&str>, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..count {
        let mut stream = match source {
            Some(source) => connect_from(app, source).await,
            None => connect(app).await,
        };
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: tollgate\r\n\r\n")
            .await
            .unwrap();
        let mut buffer = [0u8; 512];
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    held
}

/// The answer to `GET path` on a new connection, which the server closes.
async fn refused_answer(mut stream: TcpStream, path: &str) -> RawAnswer {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: tollgate\r\n\r\n").as_bytes())
        .await
        .unwrap();
    RawAnswer::parse(&read_until_closed(&mut stream).await)
}

/// Everything the server sends until it closes the connection.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .expect("reads");
    String::from_utf8_lossy(&received).into_owned()
}

/// One raw HTTP/1.1 answer: status, headers (lower-case names), JSON body.
struct RawAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl RawAnswer {
    fn parse(raw: &str) -> RawAnswer {
        let (head, body) = raw.split_once("\r\n\r\n").expect("a complete answer");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
        RawAnswer {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the IONOS error body with `code`.
    fn expect_ionos(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["httpStatus"], status, "{}", self.body);
        assert_eq!(self.body["messages"][0]["errorCode"], code, "{}", self.body);
        assert!(
            self.body["messages"][0]["message"]
                .as_str()
                .is_some_and(|m| m.len() > 20),
            "{}",
            self.body
        );
    }

    /// Asserts Docker's error body with `code`.
    fn expect_docker(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["errors"][0]["code"], code, "{}", self.body);
        assert!(self.body.get("token").is_none());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_slow_with_its_headers_is_disconnected() {
    let app = TestApp::spawn_with_limits(short_limits()).await;
    let mut idle = connect(&app).await;
    let mut trickling = connect(&app).await;
    trickling
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tollgate\r\n")
        .await
        .unwrap();
    // Neither ever finishes a request: the server hangs up on both.
    assert_eq!(read_until_closed(&mut idle).await, "");
    assert_eq!(read_until_closed(&mut trickling).await, "");
    assert_eq!(
        app.get("/healthz").send().await.unwrap().status(),
        StatusCode::OK,
        "the service still serves everyone else"
    );
}

/// Reads one answer to `GET /healthz` off a kept-alive connection: its
/// status line (the body is read too, by its `Content-Length`).
async fn read_one_answer(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut byte))
            .await
            .expect("an answer in time")
            .expect("reads");
        assert_eq!(
            read,
            1,
            "closed mid-answer: {}",
            String::from_utf8_lossy(&received)
        );
        received.push(byte[0]);
    }
    let head = String::from_utf8(received).expect("an ASCII head");
    let length: usize = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .and_then(|length| length.trim().parse().ok())
        .expect("a Content-Length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.expect("the body");
    head.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_connection_stays_open_while_a_trickle_of_headers_is_cut() {
    let app = TestApp::spawn_with_limits(short_limits()).await;
    let mut busy = connect(&app).await;
    let mut trickling = connect(&app).await;
    let started = tokio::time::Instant::now();
    let mut trickled = b"GET /healthz HTTP/1.1\r\nX-Slow: ".iter();
    let mut trickle_cut = false;
    // Three times the header timeout: a request every 200 ms on one
    // connection, a header byte every 200 ms on the other.
    while started.elapsed() < Duration::from_secs(3) {
        busy.write_all(b"GET /healthz HTTP/1.1\r\nHost: tollgate\r\n\r\n")
            .await
            .unwrap();
        assert!(read_one_answer(&mut busy).await.starts_with("HTTP/1.1 200"));
        let byte = trickled.next().copied().unwrap_or(b'a');
        if trickling.write_all(&[byte]).await.is_err() {
            trickle_cut = true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        trickle_cut,
        "headers still unfinished after three timeouts are cut off"
    );
    // Once the busy connection goes quiet, it is closed like any idle one.
    assert_eq!(read_until_closed(&mut busy).await, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_slower_than_its_deadline_is_answered_408_on_each_surface() {
    let app = TestApp::spawn_with_limits(short_limits()).await;
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{OWNER_EMAIL}:{OWNER_PASSWORD}"))
    );
    let mut api = connect(&app).await;
    api.write_all(
        format!(
            "POST /containerregistries/registries HTTP/1.1\r\nHost: tollgate\r\n\
             Authorization: {basic}\r\nContent-Type: application/json\r\n\
             Content-Length: 200\r\n\r\n{{\"properties\": {{"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let answer = RawAnswer::parse(&read_until_closed(&mut api).await);
    answer.expect_ionos(408, "request-timeout");
    assert_eq!(answer.header("connection"), Some("close"));

    let mut token = connect(&app).await;
    token
        .write_all(
            b"POST /registry/token HTTP/1.1\r\nHost: tollgate\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 120\r\n\r\ngrant_type=password&service=",
        )
        .await
        .unwrap();
    RawAnswer::parse(&read_until_closed(&mut token).await).expect_docker(408, "INVALID_REQUEST");

    // A body that arrives in time, in pieces, is read as usual.
    let body = br#"{"properties": {"name": "in-pieces", "location": "de/fra"}}"#;
    let mut patient = connect(&app).await;
    patient
        .write_all(
            format!(
                "POST /containerregistries/registries HTTP/1.1\r\nHost: tollgate\r\n\
                 Authorization: {basic}\r\nContent-Type: application/json\r\n\
                 Connection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    for piece in body.chunks(20) {
        patient.write_all(piece).await.unwrap();
        patient.flush().await.unwrap();
        tokio::task::yield_now().await;
    }
    let created = RawAnswer::parse(&read_until_closed(&mut patient).await);
    assert_eq!(created.status, 201, "{}", created.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_past_the_cap_are_told_503_until_one_closes() {
    let app = TestApp::spawn_with_limits(ConnectionLimits {
        header_read_timeout: Duration::from_secs(60),
        ..short_limits()
    })
    .await;
    // Four keep-alive connections, each proven served, hold the cap.
    let held = hold_served(&app, None, 4).await;
    for (path, docker) in [
        ("/containerregistries/registries", false),
        ("/registry/token?service=x", true),
    ] {
        let answer = refused_answer(connect(&app).await, path).await;
        if docker {
            answer.expect_docker(503, "UNAVAILABLE");
        } else {
            answer.expect_ionos(503, "too-many-connections");
        }
        assert_eq!(answer.header("retry-after"), Some("1"));
    }
    drop(held);
    // Once the held connections are gone, their places are free again.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = app.get("/healthz").send().await.unwrap().status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(tokio::time::Instant::now() < deadline, "places never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_client_holds_at_most_its_share_of_connections_and_proxies_are_not_counted() {
    let app = TestApp::spawn_configured(|config| {
        config.limits = ConnectionLimits {
            header_read_timeout: Duration::from_secs(60),
            max_connections: 16,
            max_connections_per_client: 2,
            ..short_limits()
        };
        config.trusted_proxies = vec!["127.0.0.3".into()];
    })
    .await;
    let mut held = hold_served(&app, Some("127.0.0.2"), 2).await;
    for (path, docker) in [
        ("/containerregistries/registries", false),
        ("/registry/token?service=x", true),
    ] {
        let answer = refused_answer(connect_from(&app, "127.0.0.2").await, path).await;
        if docker {
            answer.expect_docker(429, "TOOMANYREQUESTS");
        } else {
            answer.expect_ionos(429, "too-many-connections");
            let message = answer.body["messages"][0]["message"].as_str().unwrap();
            assert!(message.contains("2 open connections"), "{message}");
        }
        assert_eq!(answer.header("retry-after"), Some("1"));
    }
    // One turned away that sends nothing holds its place for two seconds,
    // not the header timeout's minute.
    let mut silent = connect_from(&app, "127.0.0.2").await;
    assert_eq!(read_until_closed(&mut silent).await, "");
    // Another client is served meanwhile, and so are a trusted proxy's
    // connections, however many.
    assert_eq!(
        app.get("/healthz").send().await.unwrap().status(),
        StatusCode::OK
    );
    let proxied = hold_served(&app, Some("127.0.0.3"), 5).await;
    drop(proxied);
    // Once one of its connections closes, the client has a place again
    // (while it still holds the other).
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut stream = connect_from(&app, "127.0.0.2").await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: tollgate\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut stream).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn long_request_lines_and_large_headers_get_clear_errors() {
    let app = TestApp::spawn_with_limits(short_limits()).await;
    let long = "a".repeat(3000);
    let message = expect_error(
        app.as_owner()
            .get("/containerregistries/registries")
            .query(&[("filter.name", long.as_str())])
            .send()
            .await
            .unwrap(),
        StatusCode::URI_TOO_LONG,
    )
    .await;
    assert!(message.contains("2048 bytes"), "{message}");
    let code = expect_token_error(
        app.get("/registry/token")
            .query(&[("service", "x"), ("scope", long.as_str())])
            .send()
            .await
            .unwrap(),
        StatusCode::URI_TOO_LONG,
    )
    .await;
    assert_eq!(code, "INVALID_REQUEST");
    let message = expect_error(
        app.as_owner()
            .get("/auth/v1/tokens")
            .header("X-Padding", "b".repeat(5000))
            .send()
            .await
            .unwrap(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    )
    .await;
    assert!(message.contains("4096 bytes"), "{message}");
    // Within the limits, the same requests are served.
    let fine = app
        .as_owner()
        .get("/auth/v1/tokens")
        .header("X-Padding", "b".repeat(1000))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
}
