//! The durability engine on the meta leader: named background workers that keep every chunk
//! at its wanted number of healthy replicas.
//!
//! - [`view`]: which replicas are healthy, from replicated state only.
//! - [`failslow`]: a disk far slower than the other chunkservers' disks is suspect.
//! - [`fill`]: moves refilling a new disk (the end of a swap) from the fullest disks.
//! - [`ledger`]: the sweep counting healthy replicas per chunk, chunkserver and disk.
//! - [`sweeper`]: the "ledger" worker running sweeps (periodically and on state changes).
//! - [`liveness`]: the "liveness" worker committing `Dead` for silent chunkservers.
//! - [`repair`]: the "repair" worker copying under-replicated chunks, fewest replicas first,
//!   throttled by `repair.concurrency` and `repair.bandwidth_mib`.
//! - [`metrics`]: Prometheus text for `/metrics`.
//!
//! All of it is leader soft state, rebuilt by a new leader's first sweep: the facts it
//! derives from (chunk locations, chunkserver and disk states) are Raft state.

pub mod failslow;
pub mod fill;
pub mod ledger;
pub mod liveness;
pub mod metrics;
pub mod repair;
pub mod sweeper;
pub mod view;

use crate::node::{lock, now_ms, MetaNode};
use ledger::RepairItem;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use trireme_api::durability::{Ledger, RepairProgress, WorkerState, WorkerStatus};
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};

/// The leader's durability soft state.
#[derive(Default)]
pub struct Durability {
    pub inner: std::sync::Mutex<Inner>,
    /// Wakes the ledger worker for a sweep now.
    pub sweep_now: Notify,
    /// Wakes the repair worker (new queue, a finished copy, a changed setting).
    pub repair_wake: Notify,
}

#[derive(Default)]
pub struct Inner {
    /// The leadership this state belongs to (the `leader_since` instant).
    pub epoch: Option<Instant>,
    pub ledger: Option<Ledger>,
    pub sweep_started: Option<Instant>,
    pub queue: VecDeque<RepairItem>,
    pub inflight: HashSet<ChunkId>,
    pub repaired_chunks: u64,
    pub repaired_bytes: u64,
    pub failed_copies: u64,
    pub last_repair: Option<Instant>,
    pub last_repair_ms: Option<u64>,
    /// (when, bytes) of recent copies, for the rate.
    pub recent: VecDeque<(Instant, u64)>,
    pub workers: BTreeMap<&'static str, WorkerStatus>,
    /// Per disk, chunks the last inventory lacked: missing if the next one lacks them too.
    pub suspects: HashMap<(ChunkserverId, DiskId), BTreeSet<ChunkId>>,
    /// Fail-slow streaks per disk (`failslow`).
    pub slow_disks: HashMap<(ChunkserverId, DiskId), failslow::Streak>,
    /// Refills in progress as the last sweep found them.
    pub fills: Vec<fill::FillState>,
}

const RATE_WINDOW: Duration = Duration::from_secs(60);

impl Durability {
    /// Runs `f` on the state, first resetting it if leadership changed since it was built.
    /// The lock is held only inside `f` (which must not call back into `Durability`), so no
    /// guard can outlive a statement or cross an await.
    pub fn with<R>(&self, node: &MetaNode, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.state(node))
    }

    fn state(&self, node: &MetaNode) -> std::sync::MutexGuard<'_, Inner> {
        let epoch = *lock(&node.leader_since);
        let mut g = lock(&self.inner);
        if g.epoch != epoch {
            let workers = std::mem::take(&mut g.workers);
            *g = Inner {
                epoch,
                workers,
                ..Inner::default()
            };
        }
        g
    }

    /// Updates (creating) a named worker's status.
    pub fn worker(&self, node: &MetaNode, name: &'static str, f: impl FnOnce(&mut WorkerStatus)) {
        let mut g = self.state(node);
        let w = g.workers.entry(name).or_insert_with(|| WorkerStatus {
            name: name.to_string(),
            node: format!("meta-{}", node.id),
            ..WorkerStatus::default()
        });
        f(w);
    }

    pub fn set_worker_state(&self, node: &MetaNode, name: &'static str, state: WorkerState) {
        self.worker(node, name, |w| w.state = state);
    }

    pub fn worker_error(&self, node: &MetaNode, name: &'static str, error: String) {
        tracing::warn!(worker = name, %error, "worker error");
        self.worker(node, name, |w| {
            w.errors += 1;
            w.last_error = Some(error);
        });
    }

    /// Records a finished copy.
    pub fn repaired(&self, node: &MetaNode, bytes: u64) {
        let mut g = self.state(node);
        let now = Instant::now();
        g.repaired_chunks += 1;
        g.repaired_bytes += bytes;
        g.last_repair = Some(now);
        g.last_repair_ms = Some(now_ms());
        g.recent.push_back((now, bytes));
        while g
            .recent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            g.recent.pop_front();
        }
    }

    pub fn progress(&self, node: &MetaNode) -> RepairProgress {
        let g = self.state(node);
        let now = Instant::now();
        let recent: Vec<&(Instant, u64)> = g
            .recent
            .iter()
            .filter(|(t, _)| now.duration_since(*t) <= RATE_WINDOW)
            .collect();
        let rate = match (recent.first(), recent.len()) {
            (Some((first, _)), n) if n > 0 => {
                let bytes: u64 = recent.iter().map(|(_, b)| b).sum();
                let secs = now.duration_since(*first).as_secs_f64().max(1.0);
                bytes as f64 / secs
            }
            _ => 0.0,
        };
        let remaining = g
            .ledger
            .as_ref()
            .map(|l| l.total.under_replicated_bytes)
            .unwrap_or(0);
        let eta_s = (rate > 0.0 && remaining > 0).then(|| (remaining as f64 / rate).ceil() as u64);
        RepairProgress {
            active: g.inflight.len() as u32,
            queued: g.queue.len() as u64,
            repaired_chunks: g.repaired_chunks,
            repaired_bytes: g.repaired_bytes,
            failed_copies: g.failed_copies,
            rate_bytes_per_s: rate,
            eta_s,
            last_repair_ms: g.last_repair_ms,
        }
    }

    /// Repair is complete when the last sweep found nothing under-replicated, and nothing
    /// was copied or in flight since that sweep started.
    pub fn complete(&self, node: &MetaNode) -> bool {
        let g = self.state(node);
        let Some(ledger) = &g.ledger else {
            return false;
        };
        let copied_since = match (g.last_repair, g.sweep_started) {
            (Some(r), Some(s)) => r >= s,
            _ => false,
        };
        ledger.total.under_replicated == 0 && g.inflight.is_empty() && !copied_since
    }
}

/// Starts the leader's workers; they idle on followers. Returns their handles.
pub fn spawn_workers(node: Arc<MetaNode>) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(sweeper::run(node.clone())),
        tokio::spawn(liveness::run(node.clone())),
        tokio::spawn(repair::run(node)),
    ]
}
