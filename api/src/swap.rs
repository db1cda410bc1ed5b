//! The disk swap after the drain: disk slots (the configured disk paths of a chunkserver) and
//! what each holds now, formatting a blank disk with a new identity, bringing it into service
//! and refilling it, and the one status that follows a swap from drain to refill.
//!
//! A chunkserver reports every slot in its heartbeats. A slot whose disk was removed from
//! service is *released* (no I/O at all, so the disk can be unmounted and pulled); the slot
//! then shows what was put in its place: nothing mounted, a blank disk (ready to format), the
//! old disk itself (refused: a removed disk never rejoins), a disk of another cluster or
//! chunkserver (refused), or a disk with unknown files (refused: never formatted over).

use crate::ids::{ChunkId, ChunkserverId, DiskId};
use crate::meta::DiskReport;
use crate::ops::{DiskRef, DrainStatusResponse};
use crate::rpc;
use serde::{Deserialize, Serialize};

/// What a disk slot holds now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotState {
    /// A disk of this chunkserver, open (in service as far as the chunkserver knows).
    InService,
    /// The disk was removed from service; the chunkserver no longer touches it. Pull it.
    Released,
    /// Nothing usable there: the path is missing or unreadable, or (with
    /// `require_mounted_disks`) no filesystem is mounted on it.
    NoDisk,
    /// An empty filesystem (or directory): ready to be formatted as a new disk.
    Blank,
    /// The removed disk itself, put back: refused.
    Retired,
    /// A disk of another cluster or another chunkserver: refused.
    Foreign,
    /// Files but no Trireme identity: refused (never formatted over).
    NotEmpty,
}

impl SlotState {
    pub fn as_str(self) -> &'static str {
        match self {
            SlotState::InService => "in_service",
            SlotState::Released => "released",
            SlotState::NoDisk => "no_disk",
            SlotState::Blank => "blank",
            SlotState::Retired => "retired",
            SlotState::Foreign => "foreign",
            SlotState::NotEmpty => "not_empty",
        }
    }
}

/// One slot as its chunkserver sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotReport {
    /// Position in the chunkserver's configured disk list.
    pub index: u32,
    pub path: String,
    pub state: SlotState,
    /// The disk id in the slot's identity file (in service, released, retired or foreign).
    #[serde(default)]
    pub disk: Option<DiskId>,
    /// A filesystem of its own is mounted on the path.
    #[serde(default)]
    pub mounted: bool,
    /// Plain words: what is there and what the operator can do.
    #[serde(default)]
    pub detail: String,
}

/// Chunkserver RPC (meta leader -> chunkserver): format the blank disk in slot `path` with a
/// new identity and take it into service. Refused unless the slot is [`SlotState::Blank`];
/// `removed` lists this chunkserver's removed disks (an identity among them is the old disk
/// reinserted).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FormatDisk {
    pub path: String,
    #[serde(default)]
    pub removed: Vec<DiskId>,
}
rpc!(FormatDisk => FormatDiskResponse, "/v1/disk/format", any);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FormatDiskResponse {
    pub disk: DiskId,
    pub report: DiskReport,
}

/// Operator RPC: bring the blank disk in slot `path` of `chunkserver` into service: the leader
/// has the chunkserver format it, records it, and (with `fill`) refills it from the other
/// disks until it holds its share of the data. `replaces` links it to the removed disk of the
/// swap (shown by swap status).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdmitDisk {
    pub chunkserver: ChunkserverId,
    pub path: String,
    #[serde(default)]
    pub replaces: Option<DiskId>,
    #[serde(default = "yes")]
    pub fill: bool,
    #[serde(default)]
    pub reason: Option<String>,
}
rpc!(AdmitDisk => AdmitDiskResponse, "/v1/meta/admit_disk", leader);

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdmitDiskResponse {
    pub disk: DiskId,
    pub chunkserver: ChunkserverId,
    pub path: String,
    /// Bytes the refill aims for (its share of the cluster's data); 0 without fill.
    pub fill_target_bytes: u64,
}

/// Asks the holders of the *other* replicas of every chunk on a disk to verify them now
/// (read and check BLAKE3), one page at a time: the swap's "verify" step before the disk is
/// pulled. A bad replica is quarantined, reported and repaired, and the gate stays closed
/// until the repair is done.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifyDiskCopies {
    pub disk: DiskRef,
    /// Continue after this chunk (None: from the start).
    #[serde(default)]
    pub after: Option<ChunkId>,
    /// Chunks per page (default 64).
    #[serde(default)]
    pub limit: u32,
}
rpc!(VerifyDiskCopies => VerifyDiskCopiesResponse, "/v1/meta/verify_disk_copies", leader);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyDiskCopiesResponse {
    /// Chunks with a replica on the disk.
    pub total_chunks: u64,
    /// Chunks in this page, and their replicas elsewhere that verified good, bad, or could
    /// not be checked (holder unreachable).
    pub chunks: u64,
    pub good: u64,
    pub bad: u64,
    pub unreachable: u64,
    /// Where the next page starts (None: done).
    pub next: Option<ChunkId>,
}

/// Where a swap stands, by the old disk's id or the new one's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SwapStatus {
    pub disk: DiskRef,
    #[serde(default)]
    pub list_objects: u32,
}
rpc!(SwapStatus => SwapStatusResponse, "/v1/meta/swap_status", leader);

/// The steps of a swap, in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwapPhase {
    /// The disk is in service; nothing started.
    #[default]
    InService,
    /// Its chunks are being copied elsewhere.
    Draining,
    /// Drained: every chunk has its wanted healthy replicas elsewhere; remove it next.
    SafeToRemove,
    /// Removed: pull it and put a blank disk in its slot.
    AwaitingDisk,
    /// A blank disk is in the slot: format it (`trireme disk swap` does).
    ReadyToFormat,
    /// The new disk is in service and being refilled.
    Filling,
    /// The new disk holds its share; the swap is over.
    Done,
}

impl SwapPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            SwapPhase::InService => "in_service",
            SwapPhase::Draining => "draining",
            SwapPhase::SafeToRemove => "safe_to_remove",
            SwapPhase::AwaitingDisk => "awaiting_disk",
            SwapPhase::ReadyToFormat => "ready_to_format",
            SwapPhase::Filling => "filling",
            SwapPhase::Done => "done",
        }
    }
}

/// The refill of a new disk.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FillStatus {
    pub chunkserver: ChunkserverId,
    pub disk: DiskId,
    pub path: String,
    pub started_ms: u64,
    /// When the refill reached its target or ran out of chunks to move (None: running).
    pub finished_ms: Option<u64>,
    pub target_bytes: u64,
    /// Bytes and chunks on the new disk now (chunk index).
    pub bytes: u64,
    pub chunks: u64,
    pub rate_bytes_per_s: f64,
    pub eta_s: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SwapStatusResponse {
    pub phase: SwapPhase,
    /// The old disk: drain progress and the gate (from `DrainStatus`).
    pub old: DrainStatusResponse,
    /// The slot the old disk was in, as its chunkserver reports it now.
    pub slot: Option<SlotReport>,
    /// The new disk, once formatted.
    pub new: Option<FillStatus>,
    /// What to do next, in plain words.
    pub next_step: String,
}

/// Every swap in progress (for `trireme cluster status`): disks draining, removed disks
/// whose slot awaits a new disk, and new disks being refilled.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListSwaps {}
rpc!(ListSwaps => ListSwapsResponse, "/v1/meta/list_swaps", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListSwapsResponse {
    pub swaps: Vec<SwapStatusResponse>,
}
