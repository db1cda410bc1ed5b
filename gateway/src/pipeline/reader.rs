//! Reading chunk slices from replicas with failover, and streaming an object's body.
//!
//! Replicas are tried in random order, except that one which failed recently goes last. A
//! replica answering `Corrupt` (or `NotFound`) is reported to the meta leader (fire and
//! forget: the report is bounded by the meta client's deadline and only logged). A whole
//! chunk read is also re-verified here against the record's BLAKE3, so a client never gets
//! bytes that failed verification; when no replica can serve a slice the stream ends with an
//! error and the client sees a truncated body.

use super::range::ChunkSlice;
use super::DataPath;
use crate::error::ReadError;
use bytes::Bytes;
use futures::Stream;
use rand::seq::SliceRandom;
use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use trireme_api::ids::ChunkserverId;
use trireme_api::meta::ReportBadReplica;
use trireme_api::object::{ChunkRef, Replica};
use trireme_api::ErrorCode;

/// Replicas that failed a read recently; they are tried last for `penalty`.
#[derive(Debug)]
pub struct ReplicaHealth {
    failed: Mutex<HashMap<Replica, Instant>>,
    penalty: Duration,
}

impl ReplicaHealth {
    pub fn new(penalty: Duration) -> Self {
        ReplicaHealth {
            failed: Mutex::new(HashMap::new()),
            penalty,
        }
    }

    pub fn mark_failed(&self, replica: &Replica) {
        let mut m = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        m.retain(|_, t| now.duration_since(*t) < self.penalty);
        m.insert(replica.clone(), now);
    }

    pub fn mark_ok(&self, replica: &Replica) {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(replica);
    }

    fn recently_failed(&self, replica: &Replica) -> bool {
        let m = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        m.get(replica).is_some_and(|t| t.elapsed() < self.penalty)
    }

    /// The order to try `replicas` in: shuffled, recently failed ones last.
    pub fn order(&self, replicas: &[Replica]) -> Vec<Replica> {
        let mut v = replicas.to_vec();
        v.shuffle(&mut rand::thread_rng());
        v.sort_by_key(|r| self.recently_failed(r));
        v
    }
}

impl DataPath {
    /// Reads `[offset, offset+length)` of `chunk` from the first replica that can serve it.
    pub async fn read_slice(
        &self,
        chunk: &ChunkRef,
        addrs: &BTreeMap<ChunkserverId, String>,
        offset: u64,
        length: u64,
    ) -> Result<Bytes, ReadError> {
        let mut last_error = String::from("the chunk has no replica");
        let whole = offset == 0 && length == chunk.length;
        for replica in self.health.order(&chunk.replicas) {
            let Some(addr) = addrs.get(&replica.chunkserver) else {
                last_error = format!("no address for chunkserver {}", replica.chunkserver);
                continue;
            };
            let got = self
                .chunks
                .get_chunk(
                    addr,
                    &replica.disk,
                    &chunk.id,
                    Some((offset, length)),
                    Some(&chunk.blake3),
                )
                .await;
            match got {
                Ok(data) if data.len() as u64 != length => {
                    last_error = format!("{addr} returned {} bytes, expected {length}", data.len());
                    tracing::warn!(chunk = %chunk.id, %addr, "{last_error}");
                    self.health.mark_failed(&replica);
                }
                Ok(data) if whole && blake3::hash(&data).to_hex().as_str() != chunk.blake3 => {
                    last_error = format!("{addr} returned data failing BLAKE3 verification");
                    tracing::error!(chunk = %chunk.id, %addr, "{last_error}");
                    self.health.mark_failed(&replica);
                    self.report_bad(chunk, &replica, "gateway BLAKE3 mismatch".into());
                }
                Ok(data) => {
                    self.health.mark_ok(&replica);
                    return Ok(data);
                }
                Err(e) => {
                    tracing::warn!(chunk = %chunk.id, %addr, error = %e, "chunk replica read failed");
                    last_error = e.to_string();
                    self.health.mark_failed(&replica);
                    if matches!(e.code(), Some(ErrorCode::Corrupt | ErrorCode::NotFound)) {
                        self.report_bad(chunk, &replica, e.to_string());
                    }
                }
            }
        }
        Err(ReadError::AllReplicasFailed {
            chunk: chunk.id.clone(),
            last_error,
        })
    }

    /// Tells the meta leader a replica is bad, in the background.
    fn report_bad(&self, chunk: &ChunkRef, replica: &Replica, reason: String) {
        let meta = self.meta.clone();
        let req = ReportBadReplica {
            chunk: chunk.id.clone(),
            replica: replica.clone(),
            reason,
            kind: Default::default(),
        };
        tokio::spawn(async move {
            match meta.call(&req).await {
                Ok(_) => {
                    tracing::info!(chunk = %req.chunk, replica = ?req.replica, "reported bad replica")
                }
                Err(e) => {
                    tracing::warn!(chunk = %req.chunk, error = %e, "could not report a bad replica")
                }
            }
        });
    }

    /// Starts reading `slices` of `chunks` in order, one slice ahead of the consumer. Returns
    /// the first slice's result (so the caller can answer an error before any body byte) and
    /// the stream of the rest.
    pub async fn open_stream(
        &self,
        chunks: Arc<Vec<ChunkRef>>,
        addrs: Arc<BTreeMap<ChunkserverId, String>>,
        slices: Vec<ChunkSlice>,
    ) -> Result<ObjectBody, ReadError> {
        let (tx, mut rx) = mpsc::channel::<Result<Bytes, ReadError>>(1);
        let dp = self.clone();
        let task = tokio::spawn(async move {
            for s in slices {
                // Wait for room first: at most one slice read ahead of the one being sent.
                let Ok(permit) = tx.reserve().await else {
                    return;
                };
                let r = match chunks.get(s.index) {
                    Some(c) => dp.read_slice(c, &addrs, s.offset, s.length).await,
                    None => Err(ReadError::Internal(format!("no chunk {}", s.index))),
                };
                let failed = r.is_err();
                permit.send(r);
                if failed {
                    return;
                }
            }
        });
        let task = AbortOnDrop(task);
        let first = match rx.recv().await {
            Some(Ok(b)) => Some(b),
            Some(Err(e)) => return Err(e),
            None => None,
        };
        Ok(ObjectBody {
            first,
            rx,
            _task: task,
        })
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An object body being streamed from chunkservers. Dropping it stops the reads.
pub struct ObjectBody {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Result<Bytes, ReadError>>,
    _task: AbortOnDrop,
}

impl Stream for ObjectBody {
    type Item = Result<Bytes, ReadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(b) = self.first.take() {
            return Poll::Ready(Some(Ok(b)));
        }
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::ids::DiskId;

    fn r(cs: u64) -> Replica {
        Replica {
            chunkserver: cs,
            disk: DiskId("d".into()),
        }
    }

    #[test]
    fn failed_replicas_go_last() {
        let h = ReplicaHealth::new(Duration::from_secs(60));
        h.mark_failed(&r(2));
        for _ in 0..20 {
            let o = h.order(&[r(1), r(2), r(3)]);
            assert_eq!(o.len(), 3);
            assert_eq!(o[2], r(2));
        }
        h.mark_ok(&r(2));
        let mut last_seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            last_seen.insert(h.order(&[r(1), r(2), r(3)])[2].chunkserver);
        }
        assert_eq!(last_seen.len(), 3, "shuffled once healthy");
    }
}
