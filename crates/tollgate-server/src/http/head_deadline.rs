//! How long a connection may take to send a request's headers, kept
//! without a timer operation per request.
//!
//! Hyper's own header timeout arms and disarms a timer for every request,
//! and every such operation takes the runtime's timer lock: on the paths
//! machines hammer that was a measurable share of the work. Here each
//! connection has one timer, armed lazily: a request only writes down when
//! the connection started waiting for the next headers (a clock read and
//! an atomic store), and the timer, when it fires early, is moved to the
//! deadline that holds by then. A connection that keeps serving requests
//! touches its timer about once per timeout, not twice per request.
//!
//! The wait for headers starts when the connection opens, and again when a
//! response has been produced; every write of a response that makes
//! progress restarts it, so a slow reader of a long answer is not cut off.
//! While a request is being served (its body read, its answer computed)
//! no header deadline runs; the body has its own ([`super::limits`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use hyper::rt::{Read, ReadBufCursor, Write};
use tokio::time::{Instant, Sleep};

/// `since` while a request is being served: no header deadline runs.
const SERVING: u64 = u64::MAX;

/// The instant `since` values count from.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn nanos_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(*EPOCH).as_nanos()).unwrap_or(SERVING - 1)
}

/// When one connection started waiting for a request's headers, shared by
/// its I/O (which enforces the deadline) and its service (which says when
/// a request starts and ends).
#[derive(Debug)]
pub struct HeadClock {
    /// Nanoseconds since [`EPOCH`], or [`SERVING`].
    since: AtomicU64,
}

impl HeadClock {
    /// A clock for a connection opened now: its first headers are awaited.
    pub fn started_now() -> Arc<Self> {
        Arc::new(Self {
            since: AtomicU64::new(nanos_since_epoch(Instant::now())),
        })
    }

    /// A request's headers are in: no header deadline until it is answered.
    pub fn serving(&self) {
        self.since.store(SERVING, Ordering::Relaxed);
    }

    /// The answer is out (or going out): the next headers are awaited from now.
    pub fn answered(&self) {
        self.since
            .store(nanos_since_epoch(Instant::now()), Ordering::Relaxed);
    }

    /// Some of an answer was written: if the next headers are already
    /// awaited, their wait restarts now.
    fn wrote(&self) {
        if self.since.load(Ordering::Relaxed) != SERVING {
            self.answered();
        }
    }

    /// The instant the awaited headers are due by, or `None` while serving.
    fn deadline(&self, timeout: Duration) -> Option<Instant> {
        match self.since.load(Ordering::Relaxed) {
            SERVING => None,
            since => Some(*EPOCH + Duration::from_nanos(since) + timeout),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request being served; its end restarts the wait for headers.
    pub struct Answering<F> {
        #[pin]
        answer: F,
        clock: Arc<HeadClock>,
    }
}

impl<F> Answering<F> {
    /// Marks `clock` as serving until `answer` completes.
    pub fn new(answer: F, clock: Arc<HeadClock>) -> Self {
        clock.serving();
        Self { answer, clock }
    }
}

impl<F: Future> Future for Answering<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let answer = ready!(this.answer.poll(cx));
        this.clock.answered();
        Poll::Ready(answer)
    }
}

/// A connection's I/O that fails a read with `TimedOut` once the awaited
/// headers are overdue, which makes hyper close the connection.
pub struct HeadDeadlineIo<T> {
    io: T,
    clock: Arc<HeadClock>,
    timeout: Duration,
    /// Fires at or before the deadline; moved forward when it fires early.
    timer: Pin<Box<Sleep>>,
}

impl<T> HeadDeadlineIo<T> {
    pub fn new(io: T, clock: Arc<HeadClock>, timeout: Duration) -> Self {
        Self {
            io,
            clock,
            timeout,
            timer: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    /// Passes a write's outcome on, noting progress on the clock.
    fn noted(&self, written: io::Result<usize>) -> io::Result<usize> {
        if matches!(written, Ok(n) if n > 0) {
            self.clock.wrote();
        }
        written
    }

    /// Called when a read has to wait: `Ready` with an error once the
    /// headers are overdue; otherwise the timer is left registered to wake
    /// this connection no later than the deadline.
    fn poll_overdue(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            let due = self.clock.deadline(self.timeout);
            if let Some(due) = due {
                if Instant::now() >= due {
                    return Poll::Ready(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request headers did not arrive in time",
                    ));
                }
                if self.timer.deadline() > due {
                    self.timer.as_mut().reset(due);
                }
            }
            ready!(self.timer.as_mut().poll(cx));
            // Fired early: the wait restarted since the timer was set (or a
            // request is being served). Move it on; the next turn registers it.
            let next = due.unwrap_or_else(|| Instant::now() + self.timeout);
            self.timer.as_mut().reset(next);
        }
    }
}

impl<T: Read + Unpin> Read for HeadDeadlineIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => this.poll_overdue(cx).map(Err),
            read => read,
        }
    }
}

impl<T: Write + Unpin> Write for HeadDeadlineIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.io).poll_write(cx, buf));
        Poll::Ready(this.noted(written))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.io).poll_write_vectored(cx, bufs));
        Poll::Ready(this.noted(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_due_a_timeout_after_the_wait_starts_and_never_while_serving() {
        let timeout = Duration::from_secs(20);
        let before = Instant::now();
        let clock = HeadClock::started_now();
        let opened_due = clock.deadline(timeout).expect("awaiting the first headers");
        assert!(opened_due >= before + timeout && opened_due <= Instant::now() + timeout);

        clock.serving();
        assert_eq!(clock.deadline(timeout), None);
        clock.wrote();
        assert_eq!(
            clock.deadline(timeout),
            None,
            "a 100-continue while serving"
        );

        std::thread::sleep(Duration::from_millis(2));
        clock.answered();
        let answered_due = clock.deadline(timeout).expect("awaiting the next headers");
        assert!(answered_due > opened_due);

        std::thread::sleep(Duration::from_millis(2));
        clock.wrote();
        let written_due = clock.deadline(timeout).expect("still awaiting");
        assert!(
            written_due > answered_due,
            "a slow answer's writes restart the wait"
        );
    }
}
