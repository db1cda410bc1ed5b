//! Slow clients. A client that sends its request head slowly (slowloris) is cut off by
//! hyper's `header_read_timeout` (set in [`crate::server`] from the config's
//! `header_read_timeout_ms`); one that stops sending its body is cut off here: [`IdleBody`]
//! fails the body once the gateway has waited `body_idle_timeout_ms` for the next byte, the
//! operation answers 400 RequestTimeout (as Amazon S3 does) and hyper closes the connection.
//!
//! Only time spent waiting counts: while the gateway does not ask for the body (waiting on
//! chunkservers, say), the client is not blamed.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The error of a body that stayed idle too long; its text carries `RequestTimeout`, by
/// which [`crate::error::BodyError::classify`] recognises it through the s3s wrappers.
#[derive(Debug, thiserror::Error)]
#[error("RequestTimeout: the client sent no body data for {0:?}")]
pub struct BodyIdle(pub Duration);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body that fails with [`BodyIdle`] after waiting `timeout` for data.
pub struct IdleBody<B> {
    inner: B,
    timeout: Duration,
    /// Running while a poll of `inner` is pending; None between waits.
    wait: Option<Pin<Box<Sleep>>>,
}

impl<B> IdleBody<B> {
    pub fn new(inner: B, timeout: Duration) -> Self {
        IdleBody {
            inner,
            timeout,
            wait: None,
        }
    }
}

impl<B> Body for IdleBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.wait = None;
                Poll::Ready(frame.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let wait = this.wait.get_or_insert_with(|| {
                    Box::pin(tokio::time::sleep_until(Instant::now() + timeout))
                });
                match wait.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.wait = None;
                        Poll::Ready(Some(Err(Box::new(BodyIdle(timeout)))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};
    use std::convert::Infallible;

    type Frames = futures::channel::mpsc::UnboundedReceiver<Result<Frame<Bytes>, Infallible>>;
    type Sender = futures::channel::mpsc::UnboundedSender<Result<Frame<Bytes>, Infallible>>;

    const TIMEOUT: Duration = Duration::from_millis(300);

    fn channel_body() -> (Sender, IdleBody<StreamBody<Frames>>) {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        (tx, IdleBody::new(StreamBody::new(rx), TIMEOUT))
    }

    fn send(tx: &Sender, data: &'static [u8]) {
        tx.unbounded_send(Ok(Frame::data(Bytes::from_static(data))))
            .unwrap();
    }

    #[tokio::test]
    async fn steady_data_never_times_out() {
        let (tx, mut body) = channel_body();
        let feeder = tokio::spawn(async move {
            for _ in 0..6 {
                tokio::time::sleep(TIMEOUT / 2).await;
                send(&tx, b"x");
            }
        });
        let mut got = 0;
        while let Some(frame) = body.frame().await {
            got += frame.unwrap().into_data().unwrap().len();
        }
        feeder.await.unwrap();
        assert_eq!(got, 6);
    }

    #[tokio::test]
    async fn a_stalled_body_fails_after_the_timeout() {
        let (tx, mut body) = channel_body();
        send(&tx, b"a");
        assert!(body.frame().await.unwrap().is_ok());
        let started = std::time::Instant::now();
        let err = body.frame().await.unwrap().unwrap_err();
        assert!(started.elapsed() >= TIMEOUT);
        assert!(err.to_string().contains("RequestTimeout"), "{err}");
        drop(tx);
    }

    #[tokio::test]
    async fn time_not_spent_waiting_does_not_count() {
        let (tx, mut body) = channel_body();
        // The consumer is busy for longer than the timeout; the data was there all along.
        tokio::time::sleep(TIMEOUT * 2).await;
        send(&tx, b"a");
        assert!(body.frame().await.unwrap().is_ok());
        drop(tx);
        assert!(body.frame().await.is_none());
    }
}
