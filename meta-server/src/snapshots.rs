//! The `snapshot` worker: decides when this node builds a Raft snapshot (and so purges its
//! log), on every node, leader or not.
//!
//! openraft's own policy builds one every N log entries whatever the state's size. A snapshot
//! dumps the whole state machine, so with a fixed N the work per PUT grows with the number of
//! objects (a million objects, a snapshot every 10,000 entries: 100 records dumped per PUT).
//! This worker waits instead for `max(snapshot_every_logs, live records / 2)` entries since the
//! last snapshot: the dump costs at most two records per applied entry, and the log never holds
//! more than about half as many entries as the state has records.
//!
//! Observable: it logs each trigger (entries since the last snapshot, the threshold, the
//! record estimate) and `snapshot built` with the time the build took (store/sm.rs).

use crate::node::MetaNode;
use crate::store::keys::SM_DATA_CFS;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a trigger may stay unanswered (no new snapshot) before it is sent again.
const RETRIGGER_AFTER: Duration = Duration::from_secs(60);

/// The number of entries after which the next snapshot is due.
pub fn threshold(every: u64, records: u64) -> u64 {
    every.max(records / 2)
}

/// RocksDB's estimate of the state machine's live records.
pub fn estimate_records(node: &MetaNode) -> u64 {
    let db = node.reader.db();
    SM_DATA_CFS
        .iter()
        .filter_map(|name| db.cf_handle(name))
        .filter_map(|h| {
            db.property_int_value_cf(h, "rocksdb.estimate-num-keys")
                .ok()
                .flatten()
        })
        .sum()
}

pub async fn run(node: Arc<MetaNode>) {
    let every = node.config.snapshot_every_logs;
    let mut metrics = node.raft.metrics();
    // (applied index when triggered, when)
    let mut pending: Option<(u64, Instant)> = None;
    // The record estimate, read at most once a second.
    let mut estimate: Option<(u64, Instant)> = None;
    loop {
        let (applied, snapshot) = {
            let m = metrics.borrow_and_update();
            (
                m.last_applied.map_or(0, |l| l.index),
                m.snapshot.map_or(0, |l| l.index),
            )
        };
        if let Some((at, when)) = pending {
            if snapshot >= at || when.elapsed() >= RETRIGGER_AFTER {
                pending = None;
            }
        }
        let since = applied.saturating_sub(snapshot);
        // Cheap test first: the estimate is only read once the fixed minimum is reached.
        if pending.is_none() && since >= every {
            let records = match estimate {
                Some((n, at)) if at.elapsed() < Duration::from_secs(1) => n,
                _ => {
                    let n = estimate_records(&node);
                    estimate = Some((n, Instant::now()));
                    n
                }
            };
            let due = threshold(every, records);
            if since >= due {
                tracing::info!(since, due, records, "snapshot: triggering a build");
                match node.raft.trigger().snapshot().await {
                    Ok(()) => pending = Some((applied, Instant::now())),
                    Err(e) => {
                        tracing::warn!("snapshot: trigger failed: {e}");
                        return;
                    }
                }
            }
        }
        // Wake on the next metrics change, and at least every second (the estimate moves
        // without Raft metrics changing only when nothing is applied: then nothing is due).
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::threshold;

    #[test]
    fn the_threshold_grows_with_the_state() {
        assert_eq!(threshold(10_000, 0), 10_000);
        assert_eq!(threshold(10_000, 19_999), 10_000);
        assert_eq!(threshold(10_000, 1_000_000), 500_000);
        assert_eq!(threshold(20, 100), 50);
    }
}
