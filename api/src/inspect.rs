//! Inspection RPCs for operators: one object's chunks and every replica's health
//! (`trireme object explain`), one chunkserver or one disk in detail with what is at risk if it
//! failed now (`trireme chunkserver show`, `trireme disk show`).
//!
//! All are served by the leader after a linearizable read, from the chunk index (the authority
//! on where replicas are: object records keep only their initial placement), the replicated
//! chunkserver and disk states (what decides whether a replica counts as healthy) and the
//! leader's soft state from heartbeats (liveness, capacity, health figures, last scrub).

use crate::durability::{ReplicaCounts, ScrubProgress, WorkerStatus};
use crate::ids::{ChunkId, ChunkserverId, DiskId};
use crate::meta::{ChunkserverInfo, ChunkserverState, DiskReport, DiskState};
use crate::rpc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most objects one show request may list.
pub const MAX_LIST_OBJECTS: u32 = 10_000;

// ---------------------------------------------------------------- object explain

/// One object's metadata and, for each chunk in order, where its replicas are and whether
/// each counts as healthy.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExplainObject {
    pub bucket: String,
    pub key: String,
}
rpc!(ExplainObject => ExplainObjectResponse, "/v1/meta/explain_object", leader);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainObjectResponse {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified_ms: u64,
    #[serde(default)]
    pub content_type: Option<String>,
    /// Checksums by algorithm name, as the S3 API encodes them.
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    /// Multipart objects: each part's size, in order.
    #[serde(default)]
    pub part_sizes: Vec<u64>,
    /// A small object stored in its metadata record (no chunks).
    #[serde(default)]
    pub inline: bool,
    pub chunks: Vec<ChunkExplain>,
    pub summary: ExplainSummary,
}

/// One chunk of an object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkExplain {
    pub id: ChunkId,
    /// Offset of its first byte in the object.
    pub offset: u64,
    pub length: u64,
    /// BLAKE3 of its bytes, lowercase hex.
    pub blake3: String,
    /// Multipart objects: the part (1-based) the chunk belongs to.
    #[serde(default)]
    pub part: Option<u32>,
    /// Object and part records naming it (more than 1: shared with copies). None: the chunk
    /// index has no entry for it (the replicas shown are then the record's).
    pub refs: Option<u64>,
    /// Healthy replicas it should have.
    pub want: u32,
    /// Replicas that count as healthy now.
    pub healthy: u32,
    pub replicas: Vec<ReplicaExplain>,
}

/// One replica of a chunk, with the state of its chunkserver and disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaExplain {
    pub chunkserver: ChunkserverId,
    /// The chunkserver's data address (None: unknown chunkserver).
    pub addr: Option<String>,
    /// The chunkserver's state as Raft records it (None: unknown chunkserver).
    pub chunkserver_state: Option<ChunkserverState>,
    /// Its heartbeats reach the leader now.
    pub alive: bool,
    pub disk: DiskId,
    /// The disk's path on its chunkserver (None: unknown disk).
    pub path: Option<String>,
    /// The disk's state as Raft records it (None: unknown disk).
    pub disk_state: Option<DiskState>,
    /// The replica counts as a healthy copy (up chunkserver, disk holding healthy replicas).
    pub healthy: bool,
    /// Unix ms when the disk's last full scrub pass finished (every replica on it was
    /// re-read and verified then): the best "last verified" time there is.
    pub last_scrub_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainSummary {
    pub chunks: u64,
    /// Chunks with fewer healthy replicas than they want.
    pub under_replicated: u64,
    /// Chunks with no healthy replica.
    pub lost: u64,
    /// The fewest healthy replicas of any chunk (None: no chunk).
    pub min_healthy: Option<u32>,
}

// ---------------------------------------------------------------- chunkserver and disk show

/// One chunkserver in detail: its states, its disks, scrub and workers, and what is at risk
/// if it failed now.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShowChunkserver {
    pub id: ChunkserverId,
    /// List at most this many objects that would lose data (0..=[`MAX_LIST_OBJECTS`]).
    pub limit: u32,
}
rpc!(ShowChunkserver => ShowChunkserverResponse, "/v1/meta/show_chunkserver", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShowChunkserverResponse {
    /// As in `ListChunkservers` (disks as last reported, or as recorded without a heartbeat).
    pub chunkserver: ChunkserverInfo,
    pub disks: Vec<DiskDetail>,
    /// Its scrub pass, from its last heartbeat.
    pub scrub: Option<ScrubProgress>,
    /// Its background workers, from its last heartbeat.
    pub workers: Vec<WorkerStatus>,
    pub risk: AtRisk,
}

/// Names one disk: by id, by chunkserver and position, or by path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskSelector {
    Id(DiskId),
    /// The `index`-th disk (from 0) of the chunkserver, in its configured order.
    Index {
        chunkserver: ChunkserverId,
        index: u32,
    },
    /// The disk's path as its chunkserver reports it (a trailing `/` is ignored).
    Path(String),
}

/// One disk in detail and what is at risk if it failed now.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShowDisk {
    pub disk: DiskSelector,
    /// List at most this many objects that would lose data (0..=[`MAX_LIST_OBJECTS`]).
    pub limit: u32,
}
rpc!(ShowDisk => ShowDiskResponse, "/v1/meta/show_disk", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShowDiskResponse {
    pub chunkserver: ChunkserverId,
    pub chunkserver_addr: String,
    pub chunkserver_state: ChunkserverState,
    pub chunkserver_alive: bool,
    pub last_heartbeat_ms_ago: Option<u64>,
    pub disk: DiskDetail,
    pub risk: AtRisk,
}

/// A disk as reported and as recorded, with its chunk count from the location index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskDetail {
    /// Its position (from 0) among its chunkserver's disks.
    pub index: u32,
    /// As its chunkserver last reported it (health figures, capacity); without a heartbeat
    /// since this leader took over, the recorded identity and state with zero figures.
    pub report: DiskReport,
    /// Whether `report` comes from a heartbeat.
    pub reported: bool,
    /// The state Raft records (drives the ledger and repair); None if not recorded.
    pub recorded_state: Option<DiskState>,
    /// Chunks the location index places on the disk.
    pub indexed_chunks: u64,
}

/// What is at risk if a disk or chunkserver failed now, computed fresh from the location index
/// and the replicated states.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtRisk {
    /// Chunks with a replica here, by their healthy replicas now (the disk's own counted).
    pub now: ReplicaCounts,
    /// The same chunks by the healthy replicas they would keep if this failed now; `zero`
    /// counts also the chunks that have no healthy replica already.
    pub if_failed: ReplicaCounts,
    /// Bytes of the chunks with a replica here (one copy each).
    pub bytes: u64,
    /// Chunks whose every healthy replica is here: they would be lost.
    pub would_lose_chunks: u64,
    /// Objects with such a chunk, in key order (at most `limit`).
    pub objects: Vec<ExposedObject>,
    /// More objects would lose data than are listed.
    pub objects_truncated: bool,
}

/// An object that would lose data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposedObject {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// Its chunks whose only healthy replicas are here.
    pub chunks: Vec<ChunkId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_wire_forms() {
        let s = serde_json::to_string(&DiskSelector::Index {
            chunkserver: 3,
            index: 1,
        })
        .expect("json");
        assert_eq!(s, r#"{"index":{"chunkserver":3,"index":1}}"#);
        let s = serde_json::to_string(&DiskSelector::Id(DiskId("ab".into()))).expect("json");
        assert_eq!(s, r#"{"id":"ab"}"#);
        let back: DiskSelector = serde_json::from_str(r#"{"path":"/d/0"}"#).expect("parse");
        assert_eq!(back, DiskSelector::Path("/d/0".into()));
    }
}
