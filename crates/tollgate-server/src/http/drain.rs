//! Draining at shutdown: keep-alive connections end between requests, at a
//! moment the client knows of, not under a request it is already sending.
//!
//! Closing an idle keep-alive connection races with its client: a request
//! the client has just written is lost with the connection. So when
//! shutdown begins, every answer finished from then on carries
//! `Connection: close`: a busy client learns that its connection ends
//! with the answer to the request it sent, and sends the next one
//! elsewhere. Connections that stay idle are closed once the drain period
//! is over.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Whether shutdown has begun; shared by the accept loop and every request.
#[derive(Debug, Default, Clone)]
pub struct Drain {
    draining: Arc<AtomicBool>,
}

impl Drain {
    /// From now on, answers close their connections.
    pub fn begin(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// `answer`, closing its connection if it is finished during a drain.
    pub fn watch<F>(&self, answer: F) -> Closing<F> {
        Closing {
            answer,
            drain: self.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// An answer that carries `Connection: close` once draining has begun.
    pub struct Closing<F> {
        #[pin]
        answer: F,
        drain: Drain,
    }
}

impl<F, E> Future for Closing<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut answer = ready!(this.answer.poll(cx));
        if this.drain.is_draining()
            && let Ok(response) = &mut answer
        {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Poll::Ready(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_close_their_connection_only_once_draining() {
        let drain = Drain::default();
        let open = drain
            .watch(async { Ok::<_, ()>(Response::new(axum::body::Body::empty())) })
            .await
            .unwrap();
        assert_eq!(open.headers().get(header::CONNECTION), None);

        let pending = drain.watch(async { Ok::<_, ()>(Response::new(axum::body::Body::empty())) });
        drain.begin();
        let closing = pending.await.unwrap();
        assert_eq!(
            closing.headers().get(header::CONNECTION).unwrap(),
            "close",
            "an answer finished after the drain began closes its connection"
        );
    }
}
