//! The durability engine's RPCs: the durability ledger and repair progress
//! (`trireme repair status|lost`), named background workers and their run-time settings
//! (`trireme worker list|set`), and scrub control (`trireme scrub start|pause|status`).
//!
//! The ledger counts, for every chunk the metadata references, its healthy replicas: those
//! on a chunkserver Raft records as up, on a disk whose state holds healthy replicas, and
//! not dropped as corrupt or missing. It is computed by a sweep over the metadata on the
//! leader, so a new leader has it after its first sweep.

use crate::ids::{ChunkId, ChunkserverId, DiskId};
use crate::rpc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ---------------------------------------------------------------- ledger and repair

/// Chunks by number of healthy replicas. `three` counts three or more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaCounts {
    pub three: u64,
    pub two: u64,
    pub one: u64,
    pub zero: u64,
    /// Chunks with fewer healthy replicas than they should have (usually 3).
    pub under_replicated: u64,
    /// Their bytes (one copy each).
    pub under_replicated_bytes: u64,
}

impl ReplicaCounts {
    /// Counts one chunk with `healthy` healthy replicas out of `want`.
    pub fn add(&mut self, healthy: usize, want: usize, length: u64) {
        match healthy {
            0 => self.zero += 1,
            1 => self.one += 1,
            2 => self.two += 1,
            _ => self.three += 1,
        }
        if healthy < want {
            self.under_replicated += 1;
            self.under_replicated_bytes += length;
        }
    }

    pub fn total(&self) -> u64 {
        self.three + self.two + self.one + self.zero
    }
}

/// The ledger of one disk: the chunks with a replica on it, by healthy replica count
/// (their "risk if this disk failed now" is `one`, then `two`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskLedger {
    pub chunkserver: ChunkserverId,
    pub disk: DiskId,
    pub counts: ReplicaCounts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkserverLedger {
    pub chunkserver: ChunkserverId,
    pub counts: ReplicaCounts,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Every referenced chunk.
    pub total: ReplicaCounts,
    pub by_chunkserver: Vec<ChunkserverLedger>,
    pub by_disk: Vec<DiskLedger>,
    /// Unix ms when the sweep that computed this ledger started.
    pub swept_at_ms: u64,
    /// How long that sweep took.
    pub sweep_ms: u64,
}

/// The durability ledger and repair progress, from the leader.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RepairStatus {}
rpc!(RepairStatus => RepairStatusResponse, "/v1/meta/repair_status", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RepairStatusResponse {
    /// None until this leader's first sweep.
    pub ledger: Option<Ledger>,
    pub repair: RepairProgress,
    /// The last sweep found every chunk with as many healthy replicas as it should have, and
    /// no repair ran since it started: repair is complete, proven by that sweep.
    pub complete: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RepairProgress {
    /// Copies in flight now.
    pub active: u32,
    /// Chunks waiting for a copy (as of the last sweep).
    pub queued: u64,
    /// Since this node became leader.
    pub repaired_chunks: u64,
    pub repaired_bytes: u64,
    pub failed_copies: u64,
    /// Bytes per second over the last minute of repair.
    pub rate_bytes_per_s: f64,
    /// Seconds until the under-replicated bytes are repaired at that rate.
    pub eta_s: Option<u64>,
    /// Unix ms of the last successful copy.
    pub last_repair_ms: Option<u64>,
}

/// Objects with a chunk that has no healthy replica left.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListLost {
    /// At most this many objects (1..=10000).
    pub limit: u32,
}
rpc!(ListLost => ListLostResponse, "/v1/meta/list_lost", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListLostResponse {
    pub objects: Vec<LostObject>,
    /// Chunks with no healthy replica (referenced by objects or by multipart parts).
    pub lost_chunks: u64,
    pub truncated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostObject {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// Its chunks without a healthy replica.
    pub chunks: Vec<ChunkId>,
    /// Whether some replica still exists (on a dead chunkserver or failed disk), so the
    /// object may come back if that chunkserver or disk does; false: no copy is known.
    pub recoverable: bool,
}

// ---------------------------------------------------------------- workers

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    #[default]
    Idle,
    Busy,
    /// Has work but waits for its rate or concurrency limit.
    Throttled,
    Paused,
}

/// One named background worker on one server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerStatus {
    /// "repair", "ledger", "liveness", "scrub", "health", "inventory", "gc".
    pub name: String,
    /// Where it runs: "meta-1", "chunkserver-3".
    #[serde(default)]
    pub node: String,
    pub state: WorkerState,
    /// Items (chunks, probes, reports) processed since start.
    pub items: u64,
    /// Bytes processed since start.
    pub bytes: u64,
    pub errors: u64,
    #[serde(default)]
    pub last_error: Option<String>,
    /// Progress of the current pass, in words ("412/1000 chunks").
    #[serde(default)]
    pub progress: Option<String>,
}

/// Every worker of the cluster: the leader's own, and each live chunkserver's (from its last
/// heartbeat).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListWorkers {}
rpc!(ListWorkers => ListWorkersResponse, "/v1/meta/list_workers", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListWorkersResponse {
    pub workers: Vec<WorkerStatus>,
    /// Every setting with its current value (defaults included).
    pub settings: BTreeMap<String, String>,
}

/// Changes one worker setting for the whole cluster, through Raft (so it survives leader
/// changes and reaches every chunkserver with its next heartbeat).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetWorkerSetting {
    /// One of [`WORKER_SETTINGS`].
    pub key: String,
    pub value: String,
}
rpc!(SetWorkerSetting => ListWorkersResponse, "/v1/meta/set_worker_setting", leader);

/// A run-time setting: key, default, meaning. Every value is an unsigned integer.
pub struct WorkerSetting {
    pub key: &'static str,
    pub default: u64,
    pub help: &'static str,
}

/// The settings `trireme worker set` accepts.
pub const WORKER_SETTINGS: &[WorkerSetting] = &[
    WorkerSetting {
        key: "repair.concurrency",
        default: 4,
        help: "chunk copies in flight at once (0 pauses repair)",
    },
    WorkerSetting {
        key: "repair.bandwidth_mib",
        default: 200,
        help: "repair copy bandwidth, MiB/s for the whole cluster",
    },
    WorkerSetting {
        key: "scrub.bandwidth_mib",
        default: 32,
        help: "scrub read bandwidth per chunkserver, MiB/s",
    },
    WorkerSetting {
        key: "scrub.interval_s",
        default: 7 * 24 * 3600,
        help: "a full scrub pass starts this long after the previous one started",
    },
    WorkerSetting {
        key: "gc.enabled",
        default: 1,
        help: "1: delete unreferenced replicas older than the grace period; 0: keep them",
    },
];

/// The default of a setting, if the key is known.
pub fn setting_default(key: &str) -> Option<u64> {
    WORKER_SETTINGS
        .iter()
        .find(|s| s.key == key)
        .map(|s| s.default)
}

/// A setting's value from a settings map, falling back to its default (0 for unknown keys).
pub fn setting(settings: &BTreeMap<String, String>, key: &str) -> u64 {
    settings
        .get(key)
        .and_then(|v| v.parse().ok())
        .or_else(|| setting_default(key))
        .unwrap_or(0)
}

// ---------------------------------------------------------------- scrub

/// Whether scrub runs, as every chunkserver learns it from heartbeat answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrubControl {
    pub running: bool,
    /// Incremented by `trireme scrub start`: start a new pass now.
    pub epoch: u64,
}

impl Default for ScrubControl {
    fn default() -> Self {
        ScrubControl {
            running: true,
            epoch: 0,
        }
    }
}

/// One chunkserver's scrub pass.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrubProgress {
    /// The control epoch the current (or last) pass belongs to.
    pub epoch: u64,
    pub state: WorkerState,
    /// Unix ms when the current pass started (None: no pass yet).
    pub pass_started_ms: Option<u64>,
    /// Unix ms when the last complete pass finished.
    pub last_pass_completed_ms: Option<u64>,
    /// Epoch of the last complete pass.
    #[serde(default)]
    pub last_pass_epoch: Option<u64>,
    pub chunks_done: u64,
    pub chunks_total: u64,
    pub bytes_done: u64,
    /// Bad replicas found (corrupt, truncated, unreadable) since the chunkserver started.
    pub bad_found: u64,
    /// Chunks verified since the chunkserver started.
    pub verified_total: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScrubAction {
    /// Run, and start a new pass on every chunkserver now.
    Start,
    /// Stop reading until resumed (a started pass keeps its place).
    Pause,
    /// Continue the current pass.
    Resume,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ControlScrub {
    pub action: ScrubAction,
}
rpc!(ControlScrub => ScrubStatusResponse, "/v1/meta/control_scrub", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ScrubStatus {}
rpc!(ScrubStatus => ScrubStatusResponse, "/v1/meta/scrub_status", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ScrubStatusResponse {
    pub control: ScrubControl,
    pub chunkservers: Vec<ChunkserverScrub>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkserverScrub {
    pub chunkserver: ChunkserverId,
    pub alive: bool,
    pub progress: Option<ScrubProgress>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_healthy_replicas() {
        let mut c = ReplicaCounts::default();
        c.add(3, 3, 10);
        c.add(4, 3, 10);
        c.add(2, 3, 10);
        c.add(0, 3, 7);
        c.add(1, 1, 5);
        assert_eq!((c.three, c.two, c.one, c.zero), (2, 1, 1, 1));
        assert_eq!(c.under_replicated, 2);
        assert_eq!(c.under_replicated_bytes, 17);
        assert_eq!(c.total(), 5);
    }

    #[test]
    fn settings_fall_back_to_defaults() {
        let mut m = BTreeMap::new();
        assert_eq!(setting(&m, "repair.concurrency"), 4);
        m.insert("repair.concurrency".into(), "9".into());
        assert_eq!(setting(&m, "repair.concurrency"), 9);
        assert_eq!(setting(&m, "nope"), 0);
    }
}
