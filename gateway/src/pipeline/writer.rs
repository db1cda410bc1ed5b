//! Writing one chunk to `replicas` distinct chunkservers.
//!
//! All targets of a placement are written in parallel; each chunkserver acks after fsync. A
//! failed target is replaced by asking AllocateChunks for new targets, excluding the
//! chunkservers that failed and those already holding the chunk, and the write is retried
//! (bounded). The chunk keeps its id: a placement's id is only a suggestion until commit.
//!
//! A straggler counts as failed: once every other target of a round has acked, the last one
//! gets [`straggler_deadline`] (a multiple of how long the others took, at least
//! [`STRAGGLER_MIN`]) and is then abandoned and replaced, so a stopped or fail-slow
//! chunkserver delays a PUT by about that long rather than by the transport timeout. The
//! abandoned replica, if it lands after all, is an unreferenced file that garbage collection
//! removes.

use super::chunker::Chunk;
use super::DataPath;
use crate::error::PutError;
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trireme_api::ids::ChunkserverId;
use trireme_api::meta::{AllocateChunks, ChunkPlacement, ReplicaTarget};
use trireme_api::object::{ChunkRef, Replica};
use trireme_api::ErrorCode;
use trireme_client::{ClientError, MetaClient};

/// The least time the last target of a round gets after the others acked.
pub const STRAGGLER_MIN: Duration = Duration::from_secs(2);
/// ... or this many times as long as the others took, if that is longer.
pub const STRAGGLER_FACTOR: u32 = 4;

/// When the last unfinished target of a round is given up, `others` after the round started
/// (the time the other targets took to ack).
pub fn straggler_deadline(others: Duration) -> Duration {
    (others * STRAGGLER_FACTOR).max(STRAGGLER_MIN)
}

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
        // Chunkservers that failed or straggled since this placement was made are skipped up
        // front (the placement may predate the failure), unless that leaves too few.
        let soft: BTreeSet<ChunkserverId> = self.avoid.current().into_iter().collect();
        let mut targets = pick_targets(placement.targets, &soft, want);

        for attempt in 0..self.write_attempts {
            let started = Instant::now();
            let (id_ref, chunk_ref) = (&id, &chunk);
            let mut pending: FuturesUnordered<_> = targets
                .iter()
                .map(|t| async move {
                    let r = self
                        .chunks
                        .put_chunk(
                            &t.addr,
                            &t.replica.disk,
                            id_ref,
                            &chunk_ref.blake3,
                            chunk_ref.data.clone(),
                        )
                        .await;
                    (t, r)
                })
                .collect();
            let mut acked_this_round = 0;
            let mut cutoff: Option<Instant> = None;
            loop {
                let next = match cutoff {
                    Some(at) => match tokio::time::timeout_at(at.into(), pending.next()).await {
                        Ok(next) => next,
                        Err(_) => {
                            // The last target: abandoned (dropping `pending` cancels it).
                            let stragglers: Vec<&ReplicaTarget> = targets
                                .iter()
                                .filter(|t| {
                                    !held.contains(&t.replica)
                                        && !failed.contains(&t.replica.chunkserver)
                                })
                                .collect();
                            for t in stragglers {
                                tracing::warn!(chunk = %id, addr = %t.addr, waited_ms = (Instant::now() - started).as_millis() as u64, "chunk replica write straggling: replaced");
                                last_error = format!("{} did not ack in time", t.addr);
                                failed.insert(t.replica.chunkserver);
                                self.avoid.mark_failed(t.replica.chunkserver);
                            }
                            break;
                        }
                    },
                    None => pending.next().await,
                };
                let Some((t, r)) = next else { break };
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
                if matches!(held.last(), Some(r) if r == &t.replica) {
                    acked_this_round += 1;
                }
                if pending.len() == 1 && acked_this_round > 0 && cutoff.is_none() {
                    cutoff = Some(Instant::now() + straggler_deadline(started.elapsed()));
                }
            }
            drop(pending);
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
            let mut hard: BTreeSet<ChunkserverId> = failed.clone();
            hard.extend(held.iter().map(|r| r.chunkserver));
            match self.replacements(need, &hard, &soft).await? {
                Ok(t) => targets = t,
                Err(e) => {
                    last_error = e.to_string();
                    break;
                }
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

impl DataPath {
    /// Up to `need` new targets on chunkservers outside `hard` (failed this chunk, or holding
    /// it) and, if there are enough others, outside `soft` (failed recently). `Ok(Err(_))`
    /// when the leader has too few chunkservers to offer.
    async fn replacements(
        &self,
        need: usize,
        hard: &BTreeSet<ChunkserverId>,
        soft: &BTreeSet<ChunkserverId>,
    ) -> Result<Result<Vec<ReplicaTarget>, ClientError>, PutError> {
        let mut exclude = hard.clone();
        exclude.extend(soft.iter().copied());
        loop {
            match allocate(
                &self.meta,
                1,
                need as u32,
                exclude.iter().copied().collect(),
            )
            .await
            {
                Ok(p) => {
                    let offered = p.into_iter().next().map(|p| p.targets).unwrap_or_default();
                    return Ok(Ok(pick_targets(offered, &exclude, need)));
                }
                Err(PutError::Meta(e)) if is_capacity(&e) && exclude.len() > hard.len() => {
                    exclude = hard.clone();
                }
                Err(PutError::Meta(e)) if is_capacity(&e) => return Ok(Err(e)),
                Err(e) => return Err(e),
            }
        }
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
    fn stragglers_get_a_multiple_of_the_others_time() {
        assert_eq!(straggler_deadline(Duration::from_millis(5)), STRAGGLER_MIN);
        assert_eq!(
            straggler_deadline(Duration::from_secs(3)),
            Duration::from_secs(12)
        );
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
