//! The listening socket: accepts connections up to a cap and serves each
//! as HTTP/1.1 (over TLS when configured) under the [`ConnectionLimits`],
//! then, on shutdown, stops accepting, serves what the kernel had already
//! accepted, drains keep-alive connections ([`super::drain`]) and lets
//! every connection finish the request it is serving, within the shutdown
//! grace.
//!
//! Per request, before the router: the request line and headers are
//! measured (414, 431), the client's address is attached (as axum's
//! `ConnectInfo`), a body gets its deadline (408 from the extractors), and
//! what the log needs is kept in case the client leaves before routing.
//! Past the cap, a connection is still accepted, briefly, to be told 503
//! in its surface's format (429 past its client's own cap,
//! [`super::per_address`]); past a second, small cap for those, it is closed.

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
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tollgate_api::registry_rules::Subnet;
use tower::Service;

use super::drain::{Closing, Drain};
use super::head_deadline::{Answering, HeadClock, HeadDeadlineIo};
use super::limits::{ConnectionLimits, DeadlineBody, Overrun};
use super::observe;
use super::per_address::{Counted, PerAddress, Place};

/// Connections being told 503 or 429 at once; more are closed unanswered.
const TURNED_AWAY_AT_ONCE: usize = 64;

/// How long a connection that is only to be told why it is not served
/// may take to send its request's headers: a client that sends nothing
/// cannot hold one of the few places for long.
const TURNED_AWAY_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Headers past this many bytes are refused by the HTTP layer itself (a
/// bare 431) before they are read into memory; below it, past
/// [`ConnectionLimits::max_header_bytes`], the refusal has a body.
const HEADER_BYTES_READ_AT_MOST: usize = 64 * 1024;

/// How long, at shutdown, busy keep-alive connections are given to end
/// after an answer (see [`super::drain`]) before the idle ones are closed.
const DRAIN_PERIOD: Duration = Duration::from_secs(1);

/// Connections the kernel accepted before shutdown that are still taken
/// and served, at most.
const BACKLOG_TAKEN_AT_MOST: usize = 4096;

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown`
/// completes; then stops accepting, still serves the connections the
/// kernel had already accepted, and lets every connection finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
    trusted_proxies: Vec<Subnet>,
    shutdown: impl Future<Output = ()>,
) {
    let per_client = PerAddress::new(limits.max_connections_per_client, trusted_proxies);
    let connections = Connections::new(router, limits, tls, per_client);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => connections.open(stream, peer),
                Err(e) => accept_failed(e).await,
            },
            () = &mut shutdown => break,
        }
    }
    connections.drain.begin();
    take_the_backlog(listener, &connections);
    connections.close(limits.shutdown_grace).await;
}

/// Accepts what is already waiting in the listen backlog, without
/// waiting: closing the socket would reset those connections, whose
/// clients may already have sent a request.
fn take_the_backlog(listener: TcpListener, connections: &Connections) {
    let Ok(listener) = listener.into_std() else {
        return;
    };
    for _ in 0..BACKLOG_TAKEN_AT_MOST {
        match listener.accept() {
            Ok((stream, peer)) => {
                match stream
                    .set_nonblocking(true)
                    .and_then(|()| TcpStream::from_std(stream))
                {
                    Ok(stream) => connections.open(stream, peer),
                    Err(e) => tracing::debug!("cannot serve a connection from {peer}: {e}"),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => continue,
            Err(_) => break,
        }
    }
}

/// Every open connection, under the caps, and how each is served.
struct Connections {
    router: Router,
    /// `router` with the body size limit, for requests that carry a body.
    router_for_bodies: Router,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
    http: http1::Builder,
    served: Arc<Semaphore>,
    turned_away: Arc<Semaphore>,
    per_client: Arc<PerAddress>,
    graceful: GracefulShutdown,
    drain: Drain,
}

impl Connections {
    fn new(
        router: Router,
        limits: ConnectionLimits,
        tls: Option<TlsAcceptor>,
        per_client: Arc<PerAddress>,
    ) -> Self {
        let mut http = http1::Builder::new();
        // The header read timeout is kept by `HeadDeadlineIo`, not by hyper.
        http.max_header_size(HEADER_BYTES_READ_AT_MOST.max(limits.max_header_bytes + 1024));
        Self {
            router_for_bodies: super::with_body_limit(router.clone()),
            router,
            limits,
            tls,
            http,
            served: Arc::new(Semaphore::new(limits.max_connections)),
            turned_away: Arc::new(Semaphore::new(TURNED_AWAY_AT_ONCE)),
            per_client,
            graceful: GracefulShutdown::new(),
            drain: Drain::default(),
        }
    }

    /// Serves `stream` on a task of its own (after the TLS handshake,
    /// with TLS), or closes it when both caps are reached.
    fn open(&self, stream: TcpStream, peer: SocketAddr) {
        let Some(admission) = self.admit(peer) else {
            return;
        };
        // Answers go out whole; waiting to coalesce them only adds latency.
        let _ = stream.set_nodelay(true);
        let clock = HeadClock::started_now();
        let service = PerRequest {
            router: self.router.clone(),
            router_for_bodies: self.router_for_bodies.clone(),
            peer,
            limits: self.limits,
            turned_away: admission.turned_away,
            clock: clock.clone(),
            drain: self.drain.clone(),
        };
        let timeout = match admission.turned_away {
            Some(_) => TURNED_AWAY_HEADER_TIMEOUT.min(self.limits.header_read_timeout),
            None => self.limits.header_read_timeout,
        };
        let Some(acceptor) = &self.tls else {
            let io = HeadDeadlineIo::new(TokioIo::new(stream), clock, timeout);
            let connection = self.graceful.watch(self.http.serve_connection(io, service));
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!("connection from {peer} ended: {e}");
                }
                drop(admission);
            });
            return;
        };
        let handshake = acceptor.accept(stream);
        let http = self.http.clone();
        let watcher = self.graceful.watcher();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(timeout, handshake).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!("TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake with {peer} took too long");
                    return;
                }
            };
            let io = HeadDeadlineIo::new(TokioIo::new(stream), clock, timeout);
            if let Err(e) = watcher.watch(http.serve_connection(io, service)).await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
            drop(admission);
        });
    }

    /// A place under the caps, or under the second cap to be told why not.
    fn admit(&self, peer: SocketAddr) -> Option<Admission> {
        let refused = match self.per_client.admit(peer.ip()) {
            Counted::Admitted(place) => match self.served.clone().try_acquire_owned() {
                Ok(permit) => {
                    return Some(Admission {
                        _permit: permit,
                        _place: place,
                        turned_away: None,
                    });
                }
                Err(_) => Overrun::TooManyConnections,
            },
            Counted::OverLimit { limit } => Overrun::TooManyFromClient { limit },
        };
        if let Ok(permit) = self.turned_away.clone().try_acquire_owned() {
            return Some(Admission {
                _permit: permit,
                _place: None,
                turned_away: Some(refused),
            });
        }
        tracing::debug!("closed a connection from {peer}: {refused:?}");
        None
    }

    /// Connections open now (handshaking, serving or idle).
    fn open_now(&self) -> usize {
        (self.limits.max_connections - self.served.available_permits())
            + (TURNED_AWAY_AT_ONCE - self.turned_away.available_permits())
    }

    /// Waits the drain period for busy connections to end after an
    /// answer, then closes the idle ones and waits, within `grace` in all,
    /// for the requests in flight.
    async fn close(self, grace: Duration) {
        let started = tokio::time::Instant::now();
        let drained_by = started + DRAIN_PERIOD.min(grace);
        while self.open_now() > 0 && tokio::time::Instant::now() < drained_by {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if tokio::time::timeout_at(started + grace, self.graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                "requests still in flight after {} s of shutdown grace; closing their connections",
                grace.as_secs()
            );
        }
    }
}

/// A connection's place under one of the caps, given back when it closes.
struct Admission {
    _permit: OwnedSemaphorePermit,
    /// Its place in its client's count, if counted.
    _place: Option<Place>,
    /// Open only to be told why it is not served.
    turned_away: Option<Overrun>,
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
    router_for_bodies: Router,
    peer: SocketAddr,
    limits: ConnectionLimits,
    turned_away: Option<Overrun>,
    clock: Arc<HeadClock>,
    drain: Drain,
}

impl hyper::service::Service<hyper::Request<Incoming>> for PerRequest {
    type Response = Response;
    type Error = Infallible;
    type Future = Closing<
        Answering<
            Either<
                std::future::Ready<Result<Response, Infallible>>,
                observe::Routing<axum::routing::future::RouteFuture<Infallible>>,
            >,
        >,
    >;

    fn call(&self, mut request: hyper::Request<Incoming>) -> Self::Future {
        let overrun = self
            .turned_away
            .or_else(|| Overrun::of_head(&request, &self.limits));
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
            return self.drain.watch(Answering::new(
                Either::Left(std::future::ready(Ok(answer))),
                self.clock.clone(),
            ));
        }
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let unrouted = observe::Unrouted::of(&request);
        let answer = if http_body::Body::is_end_stream(request.body()) {
            self.router.clone().call(request)
        } else {
            let timeout = self.limits.body_read_timeout;
            self.router_for_bodies
                .clone()
                .call(request.map(|body| DeadlineBody::new(body, timeout)))
        };
        self.drain.watch(Answering::new(
            Either::Right(observe::Routing::new(unrouted, answer)),
            self.clock.clone(),
        ))
    }
}
