//! [`Md5Stream`]: the MD5 of one byte stream, hashed on the lanes when the CPU has them,
//! inline otherwise.

use crate::service;
use crate::worker::Msg;
use bytes::Bytes;
use md5::{Digest, Md5};
use std::collections::VecDeque;
use std::sync::mpsc::Sender;
use tokio::sync::oneshot;

/// Buffers a stream may have handed to the lanes and not yet seen hashed before
/// [`Md5Stream::ready`] waits: bounds the memory the hashing thread keeps alive.
const MAX_PENDING: usize = 1;

/// The hashing thread went away (it never should; the caller fails the request).
#[derive(Debug, thiserror::Error)]
#[error("the MD5 hashing thread stopped")]
pub struct LanesGone;

/// The MD5 of a stream of [`Bytes`], fed in order with [`push`](Md5Stream::push).
pub struct Md5Stream {
    inner: Inner,
}

enum Inner {
    Inline(Md5),
    Lanes {
        id: u64,
        tx: Sender<Msg>,
        pending: VecDeque<oneshot::Receiver<()>>,
        finished: bool,
    },
}

impl Md5Stream {
    /// A stream hashed on the lanes if this CPU has them, else inline. Worth it for streams
    /// of a megabyte and more: each buffer is a message to another thread.
    pub fn new() -> Self {
        match service::sender() {
            Some((id, tx)) => Md5Stream {
                inner: Inner::Lanes {
                    id,
                    tx,
                    pending: VecDeque::new(),
                    finished: false,
                },
            },
            None => Self::inline(),
        }
    }

    /// A stream hashed on the caller's thread, as it is pushed.
    pub fn inline() -> Self {
        Md5Stream {
            inner: Inner::Inline(Md5::new()),
        }
    }

    /// Whether the lanes hash this stream.
    pub fn on_lanes(&self) -> bool {
        matches!(self.inner, Inner::Lanes { .. })
    }

    /// Appends `data`. On the lanes this only hands the buffer over (it stays alive until it
    /// is hashed); call [`ready`](Self::ready) before producing much more.
    pub fn push(&mut self, data: Bytes) {
        match &mut self.inner {
            Inner::Inline(h) => h.update(&data),
            Inner::Lanes {
                id, tx, pending, ..
            } => {
                let (done, rx) = oneshot::channel();
                // A send error means the thread is gone: `finish` reports it.
                let _ = tx.send(Msg::Data {
                    id: *id,
                    data,
                    done,
                });
                pending.push_back(rx);
            }
        }
    }

    /// Waits until at most [`MAX_PENDING`] pushed buffers are still unhashed.
    pub async fn ready(&mut self) {
        if let Inner::Lanes { pending, .. } = &mut self.inner {
            while pending.len() > MAX_PENDING {
                if let Some(rx) = pending.pop_front() {
                    let _ = rx.await;
                }
            }
        }
    }

    /// The digest of everything pushed.
    pub async fn finish(mut self) -> Result<[u8; 16], LanesGone> {
        match &mut self.inner {
            Inner::Inline(h) => Ok(std::mem::take(h).finalize().into()),
            Inner::Lanes {
                id, tx, finished, ..
            } => {
                let (reply, rx) = oneshot::channel();
                tx.send(Msg::Finish { id: *id, reply })
                    .map_err(|_| LanesGone)?;
                *finished = true;
                rx.await.map_err(|_| LanesGone)
            }
        }
    }
}

impl Default for Md5Stream {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Md5Stream {
    fn drop(&mut self) {
        if let Inner::Lanes {
            id, tx, finished, ..
        } = &self.inner
        {
            if !finished {
                let _ = tx.send(Msg::Abort { id: *id });
            }
        }
    }
}
