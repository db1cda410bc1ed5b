//! Reports of this chunkserver's bad replicas to the meta leader
//! ([`trireme_api::meta::ReportBadReplica`]). Reads, scrub and verification call
//! [`Reporter::report`], which never blocks: the report joins a small pending queue that
//! [`Reporter::run`] sends in order, retrying while the meta is unreachable. The same
//! replica and kind is not queued twice, nor sent again within [`RESEND_AFTER`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};
use trireme_api::meta::{BadReplicaKind, ReportBadReplica};
use trireme_api::object::Replica;
use trireme_client::MetaClient;

/// Reports waiting beyond this many are dropped (and counted).
pub const MAX_PENDING: usize = 10_000;
/// A report sent is not sent again for this long.
pub const RESEND_AFTER: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The pending queue of bad-replica reports.
#[derive(Debug)]
pub struct Reporter {
    chunkserver: ChunkserverId,
    /// False without meta addresses: reports are only logged.
    enabled: bool,
    queue: Mutex<Queue>,
    wake: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    pending: VecDeque<ReportBadReplica>,
    recent: HashMap<String, Instant>,
    sent: u64,
    dropped: u64,
}

fn key(r: &ReportBadReplica) -> String {
    format!("{}/{}/{:?}", r.chunk, r.replica.disk, r.kind)
}

impl Reporter {
    pub fn new(chunkserver: ChunkserverId, enabled: bool) -> Self {
        Reporter {
            chunkserver,
            enabled,
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a report about this chunkserver's replica of `chunk` on `disk`.
    pub fn report(&self, disk: &DiskId, chunk: &ChunkId, kind: BadReplicaKind, reason: &str) {
        tracing::info!(%disk, %chunk, ?kind, reason, "bad replica");
        if !self.enabled {
            return;
        }
        let report = ReportBadReplica {
            chunk: chunk.clone(),
            replica: Replica {
                chunkserver: self.chunkserver,
                disk: disk.clone(),
            },
            reason: reason.to_string(),
            kind,
        };
        let k = key(&report);
        {
            let mut q = self.lock();
            let recently = q
                .recent
                .get(&k)
                .is_some_and(|at| at.elapsed() < RESEND_AFTER);
            if recently || q.pending.iter().any(|p| key(p) == k) {
                return;
            }
            if q.pending.len() >= MAX_PENDING {
                q.dropped += 1;
                tracing::warn!(%disk, %chunk, "bad-replica report queue full; dropping a report");
                return;
            }
            q.pending.push_back(report);
        }
        self.wake.notify_one();
    }

    /// Reports waiting to be sent.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    /// Reports the meta leader accepted since start-up.
    pub fn sent(&self) -> u64 {
        self.lock().sent
    }

    /// Sends queued reports until `stop` turns true.
    pub async fn run(self: Arc<Self>, client: MetaClient, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(200);
        let mut failing = false;
        loop {
            let next = self.lock().pending.front().cloned();
            let Some(report) = next else {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    () = self.wake.notified() => continue,
                }
            };
            let result = tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                r = client.call(&report) => r,
            };
            match result {
                Err(e) if e.is_retryable() => {
                    if !failing {
                        tracing::warn!(error = %e, "cannot report bad replicas yet; will retry");
                        failing = true;
                    }
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
                Err(e) => {
                    let chunk = &report.chunk;
                    tracing::warn!(%chunk, error = %e, "bad-replica report refused");
                }
                Ok(_) => {}
            }
            failing = false;
            backoff = Duration::from_millis(200);
            let mut q = self.lock();
            q.pending.pop_front();
            q.sent += 1;
            if q.recent.len() >= MAX_PENDING {
                q.recent.retain(|_, at| at.elapsed() < RESEND_AFTER);
            }
            q.recent.insert(key(&report), Instant::now());
        }
        let pending = self.pending();
        tracing::debug!(pending, "bad-replica reporter stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_each_report_once() {
        let r = Reporter::new(3, true);
        let (d, c) = (DiskId("d".into()), ChunkId::from_u128(7));
        r.report(&d, &c, BadReplicaKind::Corrupt, "block 0");
        r.report(&d, &c, BadReplicaKind::Corrupt, "block 1");
        r.report(&d, &c, BadReplicaKind::Missing, "gone");
        assert_eq!(r.pending(), 2);
        let disabled = Reporter::new(3, false);
        disabled.report(&d, &c, BadReplicaKind::Corrupt, "x");
        assert_eq!(disabled.pending(), 0);
    }
}
