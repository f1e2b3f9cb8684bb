//! The listening socket: accepts connections up to a cap and serves each
//! as HTTP/1.1 under the [`ConnectionLimits`], then, on shutdown, stops
//! accepting and lets every connection finish the request it is serving
//! (within the shutdown grace; keep-alive connections close once idle).
//!
//! Per request, before the router: the request line and headers are
//! measured (414, 431), the client's address is attached (as axum's
//! `ConnectInfo`), and a body gets its deadline (408 from the extractors).
//! Past the cap, a connection is still accepted, briefly, to be told 503
//! in its surface's format; past a second, small cap for those, it is closed.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::Response;
use futures_util::future::Either;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::Service;

use super::head_deadline::{Answering, HeadClock, HeadDeadlineIo};
use super::limits::{ConnectionLimits, DeadlineBody, Overrun};
use super::observe;

/// Connections being told 503 at once; more are closed unanswered.
const TURNED_AWAY_AT_ONCE: usize = 64;

/// Headers past this many bytes are refused by the HTTP layer itself (a
/// bare 431) before they are read into memory; below it, past
/// [`ConnectionLimits::max_header_bytes`], the refusal has a body.
const HEADER_BYTES_READ_AT_MOST: usize = 64 * 1024;

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let served = Arc::new(Semaphore::new(limits.max_connections));
    let turned_away = Arc::new(Semaphore::new(TURNED_AWAY_AT_ONCE));
    let mut http = http1::Builder::new();
    // The header read timeout is kept by `HeadDeadlineIo`, not by hyper.
    http.max_header_size(HEADER_BYTES_READ_AT_MOST.max(limits.max_header_bytes + 1024));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let admission = match served.clone().try_acquire_owned() {
            Ok(permit) => Admission {
                _permit: permit,
                turned_away: false,
            },
            Err(_) => match turned_away.clone().try_acquire_owned() {
                Ok(permit) => Admission {
                    _permit: permit,
                    turned_away: true,
                },
                Err(_) => {
                    tracing::debug!("closed a connection from {peer}: too many open");
                    continue;
                }
            },
        };
        // Answers go out whole; waiting to coalesce them only adds latency.
        let _ = stream.set_nodelay(true);
        let clock = HeadClock::started_now();
        let io = HeadDeadlineIo::new(
            TokioIo::new(stream),
            clock.clone(),
            limits.header_read_timeout,
        );
        let service = PerRequest {
            router: router.clone(),
            peer,
            limits,
            turned_away: admission.turned_away,
            clock,
        };
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
            drop(admission);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in flight after {} s of shutdown grace; closing their connections",
            limits.shutdown_grace.as_secs()
        );
    }
}

/// A connection's place under one of the caps, given back when it closes.
struct Admission {
    _permit: OwnedSemaphorePermit,
    /// Open only to be told 503.
    turned_away: bool,
}

/// An accept error is about one connection (reset before it was taken) or
/// about this process (out of file descriptors): log it, and for the
/// latter give closing connections a moment instead of spinning.
async fn accept_failed(error: std::io::Error) {
    let out_of_descriptors = matches!(error.raw_os_error(), Some(23 | 24));
    if out_of_descriptors {
        tracing::warn!("cannot accept a connection: {error}; waiting a moment");
        tokio::time::sleep(Duration::from_millis(100)).await;
    } else {
        tracing::debug!("cannot accept a connection: {error}");
    }
}

/// What each request on one connection goes through before the router.
#[derive(Clone)]
struct PerRequest {
    router: Router,
    peer: SocketAddr,
    limits: ConnectionLimits,
    turned_away: bool,
    clock: Arc<HeadClock>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for PerRequest {
    type Response = Response;
    type Error = Infallible;
    type Future = Answering<
        Either<
            std::future::Ready<Result<Response, Infallible>>,
            axum::routing::future::RouteFuture<Infallible>,
        >,
    >;

    fn call(&self, mut request: hyper::Request<Incoming>) -> Self::Future {
        let overrun = if self.turned_away {
            Some(Overrun::TooManyConnections)
        } else {
            Overrun::of_head(&request, &self.limits)
        };
        if let Some(overrun) = overrun {
            let path = request.uri().path();
            let request_id = observe::request_id(request.headers());
            let mut answer = overrun.answer(path);
            tracing::info!(
                target: "tollgate::http",
                request_id = request_id.to_str().unwrap_or_default(),
                "{} {} {} ({overrun:?})",
                request.method(),
                super::clip_path(path),
                answer.status().as_u16(),
            );
            answer
                .headers_mut()
                .insert(observe::REQUEST_ID.clone(), request_id);
            return Answering::new(
                Either::Left(std::future::ready(Ok(answer))),
                self.clock.clone(),
            );
        }
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let mut router = self.router.clone();
        let answer = if http_body::Body::is_end_stream(request.body()) {
            router.call(request)
        } else {
            let timeout = self.limits.body_read_timeout;
            router.call(request.map(|body| DeadlineBody::new(body, timeout)))
        };
        Answering::new(Either::Right(answer), self.clock.clone())
    }
}
