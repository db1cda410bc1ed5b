//! Reading one chunk slice from its replicas: failover, hedging, verification.
//!
//! The replicas are tried in [`super::reader::ReplicaHealth::order`]. One read is sent at a
//! time, except that a read which has not completed within `read_hedge` is *hedged*: the same
//! read goes to the next replica too, and another one each further `read_hedge` while
//! replicas remain. A read that fails (error, short answer, bad bytes) is replaced by the
//! next replica at once. The first complete, verified answer wins; the reads still in flight
//! are dropped (their connections closed), and a replica that lost to a hedge is tried last
//! for a while, like a failed one.
//!
//! Verification: the chunkserver checks every block it returns against the chunk file's
//! block digests; here every answer must have the asked length, and a whole-chunk answer must
//! match the record's BLAKE3. Bytes that fail either check are never returned.

use super::DataPath;
use crate::error::ReadError;
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use trireme_api::ids::{ChunkserverId, DiskId};
use trireme_api::object::{ChunkRef, Replica};
use trireme_api::ErrorCode;

/// Why one replica's answer was not used.
struct Failure {
    message: String,
    /// Report the replica as bad, with this reason.
    report: Option<String>,
}

/// A replica read that was started: whether it was a hedge, and whether it finished.
struct Started {
    replica: Replica,
    hedge: bool,
    finished: bool,
}

type AttemptFuture<'a> = Pin<Box<dyn Future<Output = (usize, Result<Bytes, Failure>)> + Send + 'a>>;

/// The reads of one slice: the replicas not tried yet, and those started (by start order).
struct Race<'a> {
    dp: &'a DataPath,
    chunk: &'a ChunkRef,
    offset: u64,
    length: u64,
    queue: VecDeque<(Replica, String)>,
    started: Vec<Started>,
    pending: FuturesUnordered<AttemptFuture<'a>>,
}

impl<'a> Race<'a> {
    /// Starts a read on the next replica; false if none is left.
    fn start_next(&mut self, hedge: bool) -> bool {
        let Some((replica, addr)) = self.queue.pop_front() else {
            return false;
        };
        let seq = self.started.len();
        self.pending.push(attempt(
            self.dp,
            self.chunk,
            seq,
            addr,
            replica.disk.clone(),
            self.offset,
            self.length,
        ));
        self.started.push(Started {
            replica,
            hedge,
            finished: false,
        });
        true
    }

    /// A timer for the next hedge, if hedging is on and a replica is left to hedge to.
    fn hedge_timer(&self) -> Option<Pin<Box<tokio::time::Sleep>>> {
        match self.dp.read_hedge {
            Some(delay) if !self.queue.is_empty() => Some(Box::pin(tokio::time::sleep(delay))),
            _ => None,
        }
    }
}

/// Resolves when the hedge timer fires; never without one.
async fn hedge_due(timer: Option<&mut Pin<Box<tokio::time::Sleep>>>) {
    match timer {
        Some(t) => t.as_mut().await,
        None => std::future::pending().await,
    }
}

impl DataPath {
    /// Reads `[offset, offset+length)` of `chunk` from the first replica that answers with
    /// verified bytes, hedging slow replicas (see the module doc).
    pub async fn read_slice(
        &self,
        chunk: &ChunkRef,
        addrs: &BTreeMap<ChunkserverId, String>,
        offset: u64,
        length: u64,
    ) -> Result<Bytes, ReadError> {
        if chunk.replicas.is_empty() {
            self.metrics.unreadable_chunk();
            return Err(ReadError::NoHealthyReplica {
                chunk: chunk.id.clone(),
            });
        }
        let mut last_error = String::from("the chunk has no replica");
        let mut race = Race {
            dp: self,
            chunk,
            offset,
            length,
            queue: VecDeque::new(),
            started: Vec::new(),
            pending: FuturesUnordered::new(),
        };
        for replica in self.health.order(&chunk.replicas) {
            match addrs.get(&replica.chunkserver) {
                Some(addr) => race.queue.push_back((replica, addr.clone())),
                None => last_error = format!("no address for chunkserver {}", replica.chunkserver),
            }
        }
        let mut timer = None;
        loop {
            if race.pending.is_empty() {
                if !race.start_next(false) {
                    self.metrics.unreadable_chunk();
                    return Err(ReadError::AllReplicasFailed {
                        chunk: chunk.id.clone(),
                        last_error,
                    });
                }
                timer = race.hedge_timer();
            }
            tokio::select! {
                Some((seq, result)) = race.pending.next() => {
                    let Some(s) = race.started.get_mut(seq) else { continue };
                    s.finished = true;
                    let (replica, hedge) = (s.replica.clone(), s.hedge);
                    match result {
                        Ok(data) => {
                            self.health.mark_ok(&replica);
                            if hedge {
                                self.metrics.hedge_won();
                            }
                            // Reads started before the winner and still running are slow.
                            for slow in race.started[..seq].iter().filter(|o| !o.finished) {
                                tracing::info!(chunk = %chunk.id, replica = ?slow.replica,
                                    "a hedged read beat this replica; it goes last for a while");
                                self.health.mark_failed(&slow.replica);
                            }
                            return Ok(data);
                        }
                        Err(f) => {
                            self.metrics.replica_failover();
                            self.health.mark_failed(&replica);
                            if let Some(reason) = f.report {
                                self.report_bad(chunk, &replica, reason);
                            }
                            last_error = f.message;
                            // Replace the failed read with the next replica now.
                            if race.start_next(false) {
                                timer = race.hedge_timer();
                            }
                        }
                    }
                }
                () = hedge_due(timer.as_mut()) => {
                    if race.start_next(true) {
                        self.metrics.hedged_read();
                        tracing::debug!(chunk = %chunk.id, "hedged a slow chunk read");
                    }
                    timer = race.hedge_timer();
                }
            }
        }
    }
}

/// One replica read with its checks; resolves to its sequence number and the result.
fn attempt<'a>(
    dp: &'a DataPath,
    chunk: &'a ChunkRef,
    seq: usize,
    addr: String,
    disk: DiskId,
    offset: u64,
    length: u64,
) -> AttemptFuture<'a> {
    Box::pin(async move {
        let got = dp
            .chunks
            .get_chunk(
                &addr,
                &disk,
                &chunk.id,
                Some((offset, length)),
                Some(&chunk.blake3),
            )
            .await;
        let whole = offset == 0 && length == chunk.length;
        let result = match got {
            Ok(data) if data.len() as u64 != length => {
                let message = format!("{addr} returned {} bytes, expected {length}", data.len());
                tracing::warn!(chunk = %chunk.id, %addr, "{message}");
                Err(Failure {
                    message,
                    report: None,
                })
            }
            Ok(data) if whole && blake3::hash(&data).to_hex().as_str() != chunk.blake3 => {
                let message = format!("{addr} returned data failing BLAKE3 verification");
                tracing::error!(chunk = %chunk.id, %addr, "{message}");
                Err(Failure {
                    message,
                    report: Some("gateway BLAKE3 mismatch".into()),
                })
            }
            Ok(data) => Ok(data),
            Err(e) => {
                tracing::warn!(chunk = %chunk.id, %addr, error = %e, "chunk replica read failed");
                let report = matches!(e.code(), Some(ErrorCode::Corrupt | ErrorCode::NotFound))
                    .then(|| e.to_string());
                Err(Failure {
                    message: e.to_string(),
                    report,
                })
            }
        };
        (seq, result)
    })
}
