//! Which replica to read first, reports of bad replicas, and streaming an object's body.
//!
//! Replicas are tried in the order the meta leader gives them (healthy disks first, suspect
//! ones after), except that one which failed recently (or lost to a hedged read) goes last.
//! A replica answering `Corrupt` (or `NotFound`) or bytes that fail verification is reported
//! to the meta leader as `Suspect` (fire and forget: the report is bounded by the meta
//! client's deadline and only logged); the leader has its holder verify it. Reading one
//! slice (failover, hedging, verification) is [`super::hedge`].
//!
//! Before a body starts, every chunk it needs must have a replica: a chunk the metadata
//! lists with none (lost) fails the request up front ([`ReadError::NoHealthyReplica`], a 503
//! before any header). When no replica can serve a later slice the stream ends with an error
//! and the client sees a truncated body, never wrong bytes.

use super::range::ChunkSlice;
use super::DataPath;
use crate::error::ReadError;
use bytes::Bytes;
use futures::Stream;
use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use trireme_api::ids::ChunkserverId;
use trireme_api::meta::{BadReplicaKind, ReportBadReplica};
use trireme_api::object::{ChunkRef, Replica};

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

    /// The order to try `replicas` in: as given (the meta leader puts replicas on healthy
    /// disks first), recently failed ones last.
    pub fn order(&self, replicas: &[Replica]) -> Vec<Replica> {
        let mut v = replicas.to_vec();
        // A stable sort: the leader's order is kept within each group.
        v.sort_by_key(|r| self.recently_failed(r));
        v
    }
}

impl DataPath {
    /// Tells the meta leader a replica is bad, in the background.
    pub(crate) fn report_bad(&self, chunk: &ChunkRef, replica: &Replica, reason: String) {
        self.metrics.bad_replica_reported();
        let meta = self.meta.clone();
        let req = ReportBadReplica {
            chunk: chunk.id.clone(),
            replica: replica.clone(),
            reason,
            // A reader's report: the holder has not confirmed it (the leader asks it to verify).
            kind: BadReplicaKind::Suspect,
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
    /// the stream of the rest. Fails at once, before reading anything, if a chunk the slices
    /// touch has no replica.
    pub async fn open_stream(
        &self,
        chunks: Arc<Vec<ChunkRef>>,
        addrs: Arc<BTreeMap<ChunkserverId, String>>,
        slices: Vec<ChunkSlice>,
    ) -> Result<ObjectBody, ReadError> {
        if let Some(lost) = first_lost(&chunks, &slices) {
            self.metrics.unreadable_chunk();
            tracing::warn!(chunk = %lost.id, "read of a chunk with no healthy replica");
            return Err(ReadError::NoHealthyReplica {
                chunk: lost.id.clone(),
            });
        }
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

/// The first chunk touched by `slices` that has no replica left.
pub fn first_lost<'a>(chunks: &'a [ChunkRef], slices: &[ChunkSlice]) -> Option<&'a ChunkRef> {
    slices
        .iter()
        .filter_map(|s| chunks.get(s.index))
        .find(|c| c.replicas.is_empty())
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
        assert_eq!(h.order(&[r(3), r(1), r(2)]), vec![r(3), r(1), r(2)]);
    }

    #[test]
    fn the_leaders_order_is_kept() {
        let h = ReplicaHealth::new(Duration::from_secs(60));
        assert_eq!(h.order(&[r(2), r(3), r(1)]), vec![r(2), r(3), r(1)]);
        h.mark_failed(&r(2));
        h.mark_failed(&r(1));
        assert_eq!(h.order(&[r(2), r(3), r(1)]), vec![r(3), r(2), r(1)]);
    }

    #[test]
    fn lost_chunks_among_the_slices() {
        let chunk = |n: u128, replicas: Vec<Replica>| ChunkRef {
            id: trireme_api::ids::ChunkId::from_u128(n),
            length: 10,
            blake3: String::new(),
            replicas,
        };
        let chunks = vec![chunk(1, vec![r(1)]), chunk(2, vec![]), chunk(3, vec![r(2)])];
        let slice = |index| ChunkSlice {
            index,
            offset: 0,
            length: 10,
        };
        assert!(first_lost(&chunks, &[slice(0), slice(2)]).is_none());
        let lost = first_lost(&chunks, &[slice(0), slice(1), slice(2)]).unwrap();
        assert_eq!(lost.id, trireme_api::ids::ChunkId::from_u128(2));
    }
}
