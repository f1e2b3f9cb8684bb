//! The load generator: a fixed number of keep-alive HTTP/1.1 connections,
//! each sending its next request as soon as the previous answer is read,
//! for a fixed time. Every latency is kept, so percentiles are exact.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};

/// Builds the request a worker sends as its `n`th.
pub type MakeRequest = Arc<dyn Fn(usize, u64) -> Request<Full<Bytes>> + Send + Sync>;

/// What one scenario measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    /// Sorted latencies in microseconds.
    pub latencies_us: Vec<u32>,
}

impl Measured {
    pub fn rps(&self) -> f64 {
        (self.requests - self.errors) as f64 / self.seconds
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[index]) / 1000.0
    }
}

/// Drives `target` with `concurrency` connections for `duration`. A request
/// counts as an error unless its status is `expected`.
pub async fn run(
    target: SocketAddr,
    concurrency: usize,
    duration: Duration,
    expected: u16,
    make: MakeRequest,
) -> anyhow::Result<Measured> {
    run_from(None, target, concurrency, duration, expected, make).await
}

/// Like [`run`], with the connections made from `source` (another
/// loopback address, say) when given.
pub async fn run_from(
    source: Option<IpAddr>,
    target: SocketAddr,
    concurrency: usize,
    duration: Duration,
    expected: u16,
    make: MakeRequest,
) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let make = make.clone();
        workers.push(tokio::spawn(async move {
            drive(source, target, worker, deadline, expected, make).await
        }));
    }
    let mut measured = Measured {
        requests: 0,
        errors: 0,
        seconds: 0.0,
        latencies_us: Vec::new(),
    };
    for worker in workers {
        let (requests, errors, latencies) = worker.await??;
        measured.requests += requests;
        measured.errors += errors;
        measured.latencies_us.extend(latencies);
    }
    measured.seconds = started.elapsed().as_secs_f64();
    measured.latencies_us.sort_unstable();
    Ok(measured)
}

async fn drive(
    source: Option<IpAddr>,
    target: SocketAddr,
    worker: usize,
    deadline: Instant,
    expected: u16,
    make: MakeRequest,
) -> anyhow::Result<(u64, u64, Vec<u32>)> {
    let stream = match source {
        Some(source) => {
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(source, 0))?;
            socket.connect(target).await?
        }
        None => TcpStream::connect(target).await?,
    };
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let (mut requests, mut errors) = (0u64, 0u64);
    let mut latencies = Vec::with_capacity(64 * 1024);
    while Instant::now() < deadline {
        let request = make(worker, requests);
        sender.ready().await?;
        let sent = Instant::now();
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        response.into_body().collect().await?;
        latencies.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        requests += 1;
        if status != expected {
            errors += 1;
        }
    }
    Ok((requests, errors, latencies))
}
