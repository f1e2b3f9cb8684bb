//! What one connection and one request may take: how long a client may
//! dawdle over its headers and its body, how many connections are served
//! at once (in all, and per client: [`super::per_address`]), how large the request line and headers may be. Each overrun is
//! answered in the format of the surface the path belongs to (the IONOS
//! error body, or Docker's on `/registry/`), with `Connection: close`.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::docker;
use super::ionos::error::ApiError;

/// The limits, as settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; more are answered 503.
    pub max_connections: usize,
    /// Connections one client (an IPv4 address, an IPv6 /64) may hold open
    /// at once, trusted proxies aside; more are answered 429. 0: no limit.
    pub max_connections_per_client: usize,
    /// How long a client may take to send a request's headers (also how
    /// long an idle keep-alive connection stays open).
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body, once its
    /// headers are in; a slower body is answered 408.
    pub body_read_timeout: Duration,
    /// The largest request line (path and query), in bytes; 414 past it.
    pub max_uri_bytes: usize,
    /// The largest header section, in bytes; 431 past it.
    pub max_header_bytes: usize,
    /// At shutdown, how long the requests in flight may take to finish
    /// before their connections are closed.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_client: 256,
            header_read_timeout: Duration::from_secs(20),
            body_read_timeout: Duration::from_secs(30),
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// A limit a client ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrun {
    UriTooLong { limit: usize },
    HeadersTooLarge { limit: usize },
    BodyTooSlow { seconds: u64 },
    TooManyConnections,
    TooManyFromClient { limit: usize },
}

impl Overrun {
    /// The overrun of `request`'s line or headers, if any.
    pub fn of_head<B>(request: &Request<B>, limits: &ConnectionLimits) -> Option<Overrun> {
        let uri_bytes = request
            .uri()
            .path_and_query()
            .map_or(0, |target| target.as_str().len());
        if uri_bytes > limits.max_uri_bytes {
            return Some(Overrun::UriTooLong {
                limit: limits.max_uri_bytes,
            });
        }
        // Each header line is `name: value\r\n`.
        let header_bytes: usize = request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        (header_bytes > limits.max_header_bytes).then_some(Overrun::HeadersTooLarge {
            limit: limits.max_header_bytes,
        })
    }

    pub fn status(self) -> StatusCode {
        match self {
            Overrun::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Overrun::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Overrun::BodyTooSlow { .. } => StatusCode::REQUEST_TIMEOUT,
            Overrun::TooManyConnections => StatusCode::SERVICE_UNAVAILABLE,
            Overrun::TooManyFromClient { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    pub fn ionos_code(self) -> &'static str {
        match self {
            Overrun::UriTooLong { .. } => "uri-too-long",
            Overrun::HeadersTooLarge { .. } => "headers-too-large",
            Overrun::BodyTooSlow { .. } => "request-timeout",
            Overrun::TooManyConnections | Overrun::TooManyFromClient { .. } => {
                "too-many-connections"
            }
        }
    }

    /// Seconds to wait before trying again, where waiting helps.
    pub fn retry_after(self) -> Option<i64> {
        matches!(
            self,
            Overrun::TooManyConnections | Overrun::TooManyFromClient { .. }
        )
        .then_some(1)
    }

    pub fn docker_code(self) -> &'static str {
        match self {
            Overrun::TooManyConnections => "UNAVAILABLE",
            Overrun::TooManyFromClient { .. } => "TOOMANYREQUESTS",
            _ => "INVALID_REQUEST",
        }
    }

    pub fn message(self) -> String {
        match self {
            Overrun::UriTooLong { limit } => format!(
                "the path and query string are longer than {limit} bytes; shorten the query"
            ),
            Overrun::HeadersTooLarge { limit } => {
                format!("the request headers are larger than {limit} bytes in all")
            }
            Overrun::BodyTooSlow { seconds } => format!(
                "the request body did not arrive within {seconds} seconds of its headers; send it again"
            ),
            Overrun::TooManyConnections => {
                "the service is serving as many connections as it may; try again in a second"
                    .to_owned()
            }
            Overrun::TooManyFromClient { limit } => format!(
                "your address already holds {limit} open connections, the most one client may; \
                 reuse them (keep-alive) or close idle ones, then try again"
            ),
        }
    }

    /// The answer, in the format of the surface serving `path`.
    pub fn answer(self, path: &str) -> Response {
        let mut response = if docker::serves(path) {
            docker::TokenError::from(self).into_response()
        } else {
            ApiError::from(self).into_response()
        };
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }

    /// The body deadline that failed reading a body, found in `error`'s
    /// chain of sources (the extractors wrap it).
    pub fn in_body_error(error: &(dyn std::error::Error + 'static)) -> Option<Overrun> {
        let mut cause = Some(error);
        while let Some(error) = cause {
            if let Some(passed) = error.downcast_ref::<BodyDeadlinePassed>() {
                return Some(Overrun::BodyTooSlow {
                    seconds: passed.seconds,
                });
            }
            cause = error.source();
        }
        None
    }
}

/// The error a [`DeadlineBody`] ends with when its deadline passes.
#[derive(Debug)]
pub struct BodyDeadlinePassed {
    seconds: u64,
}

impl fmt::Display for BodyDeadlinePassed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} seconds",
            self.seconds
        )
    }
}

impl std::error::Error for BodyDeadlinePassed {}

/// A request body that must arrive in full by a deadline, counted from
/// when its headers were read: a client trickling bytes cannot hold the
/// request open (a timeout between frames would let it).
pub struct DeadlineBody<B> {
    body: B,
    deadline: Instant,
    timeout: Duration,
    /// Armed at the first read that has to wait.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<B> DeadlineBody<B> {
    pub fn new(body: B, timeout: Duration) -> Self {
        Self {
            body,
            deadline: Instant::now() + timeout,
            timeout,
            sleep: None,
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyDeadlinePassed {
                seconds: this.timeout.as_secs(),
            }))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl From<Overrun> for ApiError {
    fn from(overrun: Overrun) -> Self {
        ApiError {
            retry_after: overrun.retry_after(),
            ..ApiError::new(overrun.status(), overrun.ionos_code(), overrun.message())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            max_uri_bytes: 64,
            max_header_bytes: 100,
            ..ConnectionLimits::default()
        }
    }

    #[test]
    fn long_request_lines_and_large_headers_are_overruns() {
        let fine = Request::get("/auth/v1/tokens?depth=1")
            .header("authorization", "Bearer x")
            .body(())
            .unwrap();
        assert_eq!(Overrun::of_head(&fine, &limits()), None);
        let long_query = format!("/auth/v1/tokens?q={}", "a".repeat(60));
        let long = Request::get(long_query.as_str()).body(()).unwrap();
        assert_eq!(
            Overrun::of_head(&long, &limits()),
            Some(Overrun::UriTooLong { limit: 64 })
        );
        let large = Request::get("/auth/v1/tokens")
            .header("x-padding", "b".repeat(90))
            .body(())
            .unwrap();
        assert_eq!(
            Overrun::of_head(&large, &limits()),
            Some(Overrun::HeadersTooLarge { limit: 100 })
        );
    }

    #[test]
    fn the_answer_takes_the_format_of_the_surface() {
        let ionos = Overrun::UriTooLong { limit: 8 }.answer("/auth/v1/tokens");
        assert_eq!(ionos.status(), StatusCode::URI_TOO_LONG);
        assert_eq!(ionos.headers()[header::CONNECTION], "close");
        let docker = Overrun::TooManyConnections.answer("/registry/token");
        assert_eq!(docker.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(docker.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn a_passed_deadline_is_found_under_the_extractors_wrapping() {
        let wrapped = axum::Error::new(BodyDeadlinePassed { seconds: 7 });
        assert_eq!(
            Overrun::in_body_error(&wrapped),
            Some(Overrun::BodyTooSlow { seconds: 7 })
        );
        let other = axum::Error::new(std::io::Error::other("reset"));
        assert_eq!(Overrun::in_body_error(&other), None);
    }
}
