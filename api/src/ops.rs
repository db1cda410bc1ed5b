//! Disk operations: drain a disk (no new replicas; its chunks copied elsewhere), follow the
//! drain, check the gate, and remove the disk from service once pulling it loses nothing.
//!
//! The operator's intent ([`DiskAdminState`]) is Raft state, so a drain survives CLI exits
//! and leader changes and is resumed by whichever leader runs repair. Progress is computed
//! from the chunk index on demand, so `trireme disk swap status` can be left and re-attached.

use crate::ids::{ChunkserverId, DiskId};
use crate::rpc;
use serde::{Deserialize, Serialize};

/// What the operator wants of a disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskAdminState {
    /// Takes new replicas (if healthy).
    #[default]
    InService,
    /// No new replicas; every chunk with a replica here gets its wanted count elsewhere. Its
    /// replicas still count as healthy copies and serve reads until the disk is removed.
    Draining,
    /// Out of service: its replicas are no longer listed (the disk may be pulled).
    Removed,
}

impl DiskAdminState {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskAdminState::InService => "in_service",
            DiskAdminState::Draining => "draining",
            DiskAdminState::Removed => "removed",
        }
    }
}

/// Names a disk: by its id, optionally checked against a chunkserver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskRef {
    pub disk: DiskId,
    #[serde(default)]
    pub chunkserver: Option<ChunkserverId>,
}

/// Starts (or, with `undo`, cancels) draining a disk.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DrainDisk {
    pub disk: DiskRef,
    #[serde(default)]
    pub undo: bool,
    #[serde(default)]
    pub reason: Option<String>,
}
rpc!(DrainDisk => DrainStatusResponse, "/v1/meta/drain_disk", leader);

/// Where a drain stands, and whether pulling the disk now would lose anything.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DrainStatus {
    pub disk: DiskRef,
    /// How many objects at risk to name (0: none).
    #[serde(default)]
    pub list_objects: u32,
}
rpc!(DrainStatus => DrainStatusResponse, "/v1/meta/drain_status", leader);

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DrainStatusResponse {
    pub chunkserver: ChunkserverId,
    pub disk: DiskId,
    pub path: String,
    pub admin: DiskAdminState,
    /// The disk's health state as last recorded.
    pub state: String,
    /// Unix ms when the drain started (None: not draining).
    pub started_ms: Option<u64>,
    /// Chunks with a replica on this disk.
    pub chunks: u64,
    pub bytes: u64,
    /// Of those, chunks with their wanted number of healthy replicas elsewhere.
    pub chunks_safe: u64,
    /// Chunks still to copy, and their bytes.
    pub chunks_left: u64,
    pub bytes_left: u64,
    /// Chunks with no healthy replica anywhere else: pulling the disk loses them.
    pub chunks_last_copy: u64,
    /// The repair rate (bytes/s over the last minute) and the time left at that rate.
    pub rate_bytes_per_s: f64,
    pub eta_s: Option<u64>,
    /// Every chunk that had a replica here has its wanted number of healthy replicas on
    /// other disks: the disk can be pulled.
    pub safe_to_pull: bool,
    /// Objects that would drop below their wanted replicas (first `list_objects`).
    #[serde(default)]
    pub at_risk: Vec<ObjectAtRisk>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAtRisk {
    pub bucket: String,
    pub key: String,
    /// Healthy replicas its worst chunk would have left without this disk.
    pub replicas_left: u32,
}

/// Takes a disk out of service: its replicas are dropped from the metadata. Refused while any
/// chunk with a replica on it lacks its wanted healthy replicas elsewhere (the answer names
/// the objects), unless `force`; refused even with `force` if any chunk would lose its last
/// healthy replica.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RemoveDisk {
    pub disk: DiskRef,
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub reason: Option<String>,
}
rpc!(RemoveDisk => DrainStatusResponse, "/v1/meta/remove_disk", leader);

/// What removing a disk would take, before doing anything.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanDiskRemove {
    pub disk: DiskRef,
}
rpc!(PlanDiskRemove => PlanResponse, "/v1/meta/plan_disk_remove", leader);

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanResponse {
    pub status: DrainStatusResponse,
    /// Free bytes on the disks that could take the copies (healthy, in service, other
    /// chunkservers), minus the placement floor.
    pub room_bytes: u64,
    pub enough_room: bool,
    /// Chunks for which no eligible target exists (every chunkserver with room already holds
    /// a replica): the placement rules would not be satisfiable.
    pub unplaceable_chunks: u64,
    /// `repair.bandwidth_mib` now, and how long the copy takes at that throttle.
    pub bandwidth_bytes_per_s: u64,
    pub estimated_s: u64,
    /// Plain-words verdict.
    pub verdict: String,
}
