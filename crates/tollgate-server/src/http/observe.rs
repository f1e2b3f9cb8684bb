//! What every request leaves behind, on every surface: one log line
//! (method, path, status, latency and request id; never the query, headers
//! or body), its count and latency in the metrics, and its request id in
//! the answer's `X-Request-Id`.
//!
//! The request id is the client's `X-Request-Id` when it sent a usable one
//! (1 to 128 visible ASCII characters), so that a proxy's id follows the
//! request through; otherwise a new random one.
//!
//! A request whose client leaves is logged as aborted, whenever it leaves:
//! while its answer is computed ([`Observe`]), and also before the router
//! first ran it ([`Routing`]), which happens when the request and the
//! connection's end arrive together.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use axum::response::Response;
use tower::{Layer, Service};

use crate::ops::metrics::{Metrics, UNMATCHED_ROUTE};

/// The header that carries a request's id, both ways.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-chosen request id kept.
const MAX_REQUEST_ID_BYTES: usize = 128;

/// The layer that observes every request routed (the outermost one).
#[derive(Clone)]
pub struct ObserveLayer {
    metrics: Arc<Metrics>,
}

impl ObserveLayer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// A route's service, observed. A hand-written service rather than
/// `middleware::from_fn`, which boxes every request's future and runs the
/// route through a `Next` of its own: on the hot paths that was 1,000
/// instructions a request.
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let line = RequestLine {
            started: Instant::now(),
            method: request.method().clone(),
            uri: request.uri().clone(),
            request_id: request_id(request.headers()),
            answered: false,
        };
        let route = request.extensions().get::<MatchedPath>().cloned();
        Observed {
            answer: self.inner.call(request),
            line,
            route,
            metrics: self.metrics.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request being answered, logged and counted when it is.
    pub struct Observed<F> {
        #[pin]
        answer: F,
        line: RequestLine,
        route: Option<MatchedPath>,
        metrics: Arc<Metrics>,
    }
}

impl<F> Future for Observed<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = ready!(this.answer.poll(cx));
        let line = this.line;
        let mut response = super::complete_framework_error(line.uri.path(), response);
        line.answered = true;
        let took = line.started.elapsed();
        let status = response.status().as_u16();
        this.metrics.answered(
            this.route
                .as_ref()
                .map_or(UNMATCHED_ROUTE, MatchedPath::as_str),
            &line.method,
            status,
            took,
        );
        tracing::info!(
            target: "tollgate::http",
            request_id = line.id(),
            "{} {} {} {:.3}ms",
            line.method,
            line.uri.path(),
            status,
            took.as_secs_f64() * 1000.0
        );
        response
            .headers_mut()
            .insert(REQUEST_ID.clone(), line.request_id.clone());
        Poll::Ready(Ok(response))
    }
}

/// The request's id: the client's `X-Request-Id` if usable, else a new one.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    client_request_id(headers).unwrap_or_else(generated_id)
}

/// The client's `X-Request-Id`, if usable.
fn client_request_id(headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get(&REQUEST_ID)
        .filter(|id| usable(id.as_bytes()))
        .cloned()
}

/// Whether a client's request id may be kept: short, visible ASCII.
fn usable(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_BYTES).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

/// A new request id: 128 bits from a per-thread generator, as 32 hex digits.
fn generated_id() -> HeaderValue {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (high, low) = STATE.with(|state| (splitmix64(state), splitmix64(state)));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    let mut id = [0u8; 32];
    for (pair, byte) in id.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    HeaderValue::from_bytes(&id).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// A thread's starting point, from the operating system's CSPRNG.
fn seed() -> u64 {
    use rand_core::{OsRng, RngCore};
    OsRng.next_u64()
}

/// The next value of a SplitMix64 sequence: ids that do not repeat within
/// a thread, and threads that start far apart. Not a secret.
fn splitmix64(state: &Cell<u64>) -> u64 {
    let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(next);
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pin_project_lite::pin_project! {
    /// A request handed to the router, logged as aborted should it be
    /// dropped before the router first ran it (and so before [`Observe`]
    /// saw it): axum's routes call their services on first poll, and hyper
    /// drops an unpolled answer when it reads the connection's end first.
    pub struct Routing<F> {
        #[pin]
        answer: F,
        unrouted: Option<Unrouted>,
    }

    impl<F> PinnedDrop for Routing<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(unrouted) = this.project().unrouted.take() {
                unrouted.log_abort();
            }
        }
    }
}

impl<F> Routing<F> {
    /// `answer`, the router's future for a request that `unrouted` describes.
    pub fn new(unrouted: Unrouted, answer: F) -> Self {
        Self {
            answer,
            unrouted: Some(unrouted),
        }
    }
}

impl<F: Future> Future for Routing<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // Polled once, the route's service has been called: from here on
        // its own `Observe` logs the request however it ends.
        *this.unrouted = None;
        this.answer.poll(cx)
    }
}

/// What the log needs of a request that has not reached the router yet.
pub struct Unrouted {
    method: Method,
    uri: Uri,
    /// The client's usable request id; a new one is made only if logged.
    request_id: Option<HeaderValue>,
}

impl Unrouted {
    pub fn of<B>(request: &axum::http::Request<B>) -> Self {
        Self {
            method: request.method().clone(),
            uri: request.uri().clone(),
            request_id: client_request_id(request.headers()),
        }
    }

    fn log_abort(self) {
        let request_id = self.request_id.unwrap_or_else(generated_id);
        log_abort(&self.method, &self.uri, &request_id, "before it was routed");
    }
}

/// The log line of one request; dropped unanswered, it logs the abort.
struct RequestLine {
    started: Instant,
    method: Method,
    /// A shared handle on the request's own bytes, not a copy.
    uri: Uri,
    request_id: HeaderValue,
    answered: bool,
}

impl RequestLine {
    fn id(&self) -> &str {
        // Kept ids are visible ASCII and generated ones hex.
        self.request_id.to_str().unwrap_or_default()
    }
}

impl Drop for RequestLine {
    fn drop(&mut self) {
        if !self.answered {
            let took = format!("{:.3}ms", self.started.elapsed().as_secs_f64() * 1000.0);
            log_abort(&self.method, &self.uri, &self.request_id, &took);
        }
    }
}

/// The log line of a request whose client left before its answer; `when`
/// says how far it got.
fn log_abort(method: &Method, uri: &Uri, request_id: &HeaderValue, when: &str) {
    tracing::info!(
        target: "tollgate::http",
        request_id = request_id.to_str().unwrap_or_default(),
        "{method} {} aborted {when} (the client closed the connection before the answer)",
        uri.path(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_request_id_is_kept_only_when_short_and_visible() {
        assert!(usable(b"req-42_abc.DEF"));
        assert!(!usable(b""));
        assert!(!usable(b"has space"));
        assert!(!usable(&[b'a'; MAX_REQUEST_ID_BYTES + 1]));
    }

    #[test]
    fn generated_ids_are_32_hex_digits_and_differ() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| generated_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 32 && id.as_bytes().iter().all(u8::is_ascii_hexdigit))
        );
    }
}
