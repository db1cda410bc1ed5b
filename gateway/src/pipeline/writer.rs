//! Writing one chunk to `replicas` distinct chunkservers.
//!
//! All targets of a placement are written in parallel; each chunkserver acks after fsync. A
//! failed target is replaced by asking AllocateChunks for new targets, excluding the
//! chunkservers that failed and those already holding the chunk, and the write is retried
//! (bounded). The chunk keeps its id: a placement's id is only a suggestion until commit.

use super::chunker::Chunk;
use super::DataPath;
use crate::error::PutError;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trireme_api::ids::ChunkserverId;
use trireme_api::meta::{AllocateChunks, ChunkPlacement, ReplicaTarget};
use trireme_api::object::{ChunkRef, Replica};
use trireme_api::ErrorCode;
use trireme_client::{ClientError, MetaClient};

/// Chunkservers that failed a write recently: new placements avoid them for `penalty`
/// (the meta leader only notices a dead chunkserver after its heartbeat timeout).
#[derive(Debug)]
pub struct WriteAvoidance {
    failed: Mutex<HashMap<ChunkserverId, Instant>>,
    penalty: Duration,
}

impl WriteAvoidance {
    pub fn new(penalty: Duration) -> Self {
        WriteAvoidance {
            failed: Mutex::new(HashMap::new()),
            penalty,
        }
    }

    pub fn mark_failed(&self, cs: ChunkserverId) {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cs, Instant::now());
    }

    /// The chunkservers to avoid now.
    pub fn current(&self) -> Vec<ChunkserverId> {
        let mut m = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, t| t.elapsed() < self.penalty);
        m.keys().copied().collect()
    }
}

/// Placements for new chunks avoiding recently failed chunkservers, or, if that leaves too
/// few, any chunkservers.
pub async fn allocate_avoiding(
    meta: &MetaClient,
    avoid: &WriteAvoidance,
    count: u32,
    replicas: u32,
) -> Result<Vec<ChunkPlacement>, PutError> {
    let exclude = avoid.current();
    if exclude.is_empty() {
        return allocate(meta, count, replicas, exclude).await;
    }
    match allocate(meta, count, replicas, exclude).await {
        Err(PutError::Meta(e)) if is_capacity(&e) => {
            allocate(meta, count, replicas, Vec::new()).await
        }
        other => other,
    }
}

/// Asks the meta leader for `count` placements of `replicas` targets each.
pub async fn allocate(
    meta: &MetaClient,
    count: u32,
    replicas: u32,
    exclude: Vec<ChunkserverId>,
) -> Result<Vec<ChunkPlacement>, PutError> {
    let resp = meta
        .call(&AllocateChunks {
            count,
            replicas,
            exclude,
        })
        .await?;
    Ok(resp.chunks)
}

/// Picks at most `need` targets on distinct chunkservers not in `avoid`.
pub fn pick_targets(
    targets: Vec<ReplicaTarget>,
    avoid: &BTreeSet<ChunkserverId>,
    need: usize,
) -> Vec<ReplicaTarget> {
    let mut seen = avoid.clone();
    let mut out = Vec::new();
    for t in targets {
        if out.len() == need {
            break;
        }
        if seen.insert(t.replica.chunkserver) {
            out.push(t);
        }
    }
    out
}

impl DataPath {
    /// Writes `chunk` until `replicas` chunkservers hold it, or fails with
    /// [`PutError::Placement`] after `write_attempts` rounds.
    pub async fn write_chunk(
        &self,
        placement: ChunkPlacement,
        chunk: Chunk,
    ) -> Result<ChunkRef, PutError> {
        let want = self.replicas as usize;
        let id = placement.id;
        let mut held: Vec<Replica> = Vec::new();
        let mut failed: BTreeSet<ChunkserverId> = BTreeSet::new();
        let mut last_error = String::from("no target offered");
        let mut targets = pick_targets(placement.targets, &BTreeSet::new(), want);

        for attempt in 0..self.write_attempts {
            let writes = targets.iter().map(|t| {
                self.chunks.put_chunk(
                    &t.addr,
                    &t.replica.disk,
                    &id,
                    &chunk.blake3,
                    chunk.data.clone(),
                )
            });
            let results = futures::future::join_all(writes).await;
            for (t, r) in targets.iter().zip(results) {
                match r {
                    Ok(ack)
                        if ack.length == chunk.data.len() as u64 && ack.blake3 == chunk.blake3 =>
                    {
                        held.push(t.replica.clone());
                    }
                    Ok(ack) => {
                        last_error = format!(
                            "{} acked length {} digest {}",
                            t.addr, ack.length, ack.blake3
                        );
                        tracing::warn!(chunk = %id, addr = %t.addr, "chunk write acked with the wrong length or digest");
                        failed.insert(t.replica.chunkserver);
                        self.avoid.mark_failed(t.replica.chunkserver);
                    }
                    Err(e) => {
                        tracing::warn!(chunk = %id, addr = %t.addr, error = %e, "chunk replica write failed");
                        last_error = e.to_string();
                        failed.insert(t.replica.chunkserver);
                        if e.is_retryable() {
                            self.avoid.mark_failed(t.replica.chunkserver);
                        }
                    }
                }
            }
            if held.len() >= want {
                return Ok(ChunkRef {
                    id,
                    length: chunk.data.len() as u64,
                    blake3: chunk.blake3,
                    replicas: held,
                });
            }
            if attempt + 1 == self.write_attempts {
                break;
            }
            let need = want - held.len();
            let mut avoid: BTreeSet<ChunkserverId> = failed.clone();
            avoid.extend(held.iter().map(|r| r.chunkserver));
            match allocate(&self.meta, 1, need as u32, avoid.iter().copied().collect()).await {
                Ok(p) => {
                    let offered = p.into_iter().next().map(|p| p.targets).unwrap_or_default();
                    targets = pick_targets(offered, &avoid, need);
                }
                Err(PutError::Meta(e)) if is_capacity(&e) => {
                    last_error = e.to_string();
                    break;
                }
                Err(e) => return Err(e),
            }
            if targets.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt + 1))).await;
        }
        Err(PutError::Placement {
            chunk: id,
            written: held.len(),
            wanted: self.replicas,
            last_error,
        })
    }
}

fn is_capacity(e: &ClientError) -> bool {
    e.code() == Some(ErrorCode::InsufficientCapacity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::ids::DiskId;

    fn t(cs: u64) -> ReplicaTarget {
        ReplicaTarget {
            replica: Replica {
                chunkserver: cs,
                disk: DiskId(format!("d{cs}")),
            },
            addr: format!("a{cs}"),
        }
    }

    #[test]
    fn avoidance_expires() {
        let a = WriteAvoidance::new(Duration::from_millis(0));
        a.mark_failed(3);
        assert!(a.current().is_empty());
        let a = WriteAvoidance::new(Duration::from_secs(60));
        a.mark_failed(3);
        assert_eq!(a.current(), vec![3]);
    }

    #[test]
    fn picks_distinct_unavoided_targets() {
        let avoid: BTreeSet<u64> = [2].into_iter().collect();
        let got = pick_targets(vec![t(1), t(1), t(2), t(3), t(4)], &avoid, 2);
        let ids: Vec<u64> = got.iter().map(|t| t.replica.chunkserver).collect();
        assert_eq!(ids, vec![1, 3]);
        assert!(pick_targets(vec![t(2)], &avoid, 3).is_empty());
    }
}
