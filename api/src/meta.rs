//! Metadata RPCs served by every meta-server at `POST /v1/meta/...`. Requests marked `leader`
//! are answered by the Raft leader only; a follower answers `NotLeader` with the leader's
//! address and the client (trireme-client) retries there. Reads marked `leader` are
//! linearizable (`ensure_linearizable` before reading).

use crate::ids::{ChunkId, ChunkserverId, DiskId, NodeId};
use crate::object::{ObjectRecord, Replica};
use crate::rpc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ---------------------------------------------------------------- cluster

/// Forms a new cluster with these voters (node id -> RPC address). Sent to one uninitialised
/// node; `AlreadyInitialized` if it already has a membership.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InitCluster {
    pub members: BTreeMap<NodeId, String>,
}
rpc!(InitCluster => Empty, "/v1/meta/init", any);

/// An empty response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// This node's view of the Raft group. Answered by any node (not linearizable).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ClusterStatus {}
rpc!(ClusterStatus => ClusterStatusResponse, "/v1/meta/status", any);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterStatusResponse {
    pub cluster_id: String,
    pub node_id: NodeId,
    pub leader: Option<NodeId>,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub last_applied: Option<u64>,
    pub members: Vec<MemberInfo>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemberInfo {
    pub id: NodeId,
    pub addr: String,
    pub voter: bool,
    /// On the leader: the last log index known replicated to this member.
    pub matched_index: Option<u64>,
}

// ---------------------------------------------------------------- buckets

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketInfo {
    pub name: String,
    /// Access key id of the owner.
    pub owner: String,
    pub created_ms: u64,
    /// Permissions granted to other access keys on this bucket.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grants: BTreeMap<String, Permissions>,
}

/// What a key may do on a bucket it does not own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub write: bool,
    /// Owner rights: delete the bucket, change grants.
    #[serde(default)]
    pub owner: bool,
}

impl Permissions {
    pub fn is_empty(&self) -> bool {
        !(self.read || self.write || self.owner)
    }
}

/// Grants (or, with all flags false, revokes) a key's permissions on a bucket.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetBucketGrant {
    pub bucket: String,
    pub access_key: String,
    pub permissions: Permissions,
}
rpc!(SetBucketGrant => BucketInfo, "/v1/meta/set_bucket_grant", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateBucket {
    pub name: String,
    pub owner: String,
}
rpc!(CreateBucket => BucketInfo, "/v1/meta/create_bucket", leader);

/// Deletes a bucket; `BucketNotEmpty` unless it holds no objects.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteBucket {
    pub name: String,
}
rpc!(DeleteBucket => Empty, "/v1/meta/delete_bucket", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetBucket {
    pub name: String,
}
rpc!(GetBucket => BucketInfo, "/v1/meta/get_bucket", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListBuckets {}
rpc!(ListBuckets => ListBucketsResponse, "/v1/meta/list_buckets", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListBucketsResponse {
    pub buckets: Vec<BucketInfo>,
}

// ---------------------------------------------------------------- objects

/// Commits an object record, replacing any previous version of the key. The leader stamps
/// `last_modified_ms`. Answered only after the Raft entry is committed and applied.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CommitObject {
    pub bucket: String,
    pub key: String,
    pub object: ObjectRecord,
    /// Decided atomically by the state machine: two racing conditional writers never both win.
    #[serde(default)]
    pub condition: Option<WriteCondition>,
}

/// A condition on the current version of a key, checked when a write is applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteCondition {
    /// `If-None-Match: *`: the key must not exist (else PreconditionFailed).
    IfNoneMatchAny,
    /// `If-Match: etag`: the key must exist (else NoSuchKey) with this ETag (else PreconditionFailed).
    IfMatch(String),
}

/// Copies an object's record to another key, sharing its chunks (no data moves). The source
/// is read when the command is applied, so the copy is of one consistent version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CopyObject {
    pub src_bucket: String,
    pub src_key: String,
    pub dst_bucket: String,
    pub dst_key: String,
    /// The ETag the gateway saw when it checked copy-source conditions: the copy fails with
    /// PreconditionFailed if the source changed since.
    #[serde(default)]
    pub src_etag: Option<String>,
    /// REPLACE: the new metadata; None: COPY the source's.
    #[serde(default)]
    pub replace_metadata: Option<crate::multipart::UploadMetadata>,
    #[serde(default)]
    pub condition: Option<WriteCondition>,
}
rpc!(CopyObject => CopyObjectResponse, "/v1/meta/copy_object", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CopyObjectResponse {
    pub etag: String,
    pub last_modified_ms: u64,
    pub size: u64,
}

/// Deletes many keys in one Raft command.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteObjects {
    pub bucket: String,
    pub keys: Vec<String>,
}
rpc!(DeleteObjects => DeleteObjectsResponse, "/v1/meta/delete_objects", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteObjectsResponse {
    /// Per key, in request order: whether it existed.
    pub existed: Vec<bool>,
}
rpc!(CommitObject => CommitObjectResponse, "/v1/meta/commit_object", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CommitObjectResponse {
    pub last_modified_ms: u64,
}

/// Linearizable read of one object's record, with the addresses of the chunkservers that
/// hold its replicas.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetObject {
    pub bucket: String,
    pub key: String,
}
rpc!(GetObject => GetObjectResponse, "/v1/meta/get_object", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetObjectResponse {
    pub object: ObjectRecord,
    /// chunkserver id -> data RPC address, for every chunkserver named by a replica.
    pub chunkservers: BTreeMap<ChunkserverId, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteObject {
    pub bucket: String,
    pub key: String,
}
rpc!(DeleteObject => DeleteObjectResponse, "/v1/meta/delete_object", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteObjectResponse {
    pub existed: bool,
}

/// One page of a bucket listing, in key (byte) order.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListObjects {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub delimiter: Option<String>,
    /// List keys strictly after this one (S3 StartAfter / Marker).
    #[serde(default)]
    pub start_after: Option<String>,
    /// Resume after the last entry of a previous page (`next_marker`): skips that key, or
    /// every key under it if it was a common prefix.
    #[serde(default)]
    pub continue_after: Option<String>,
    /// 0..=1000; the server clamps larger values to 1000.
    pub max_keys: u32,
}
rpc!(ListObjects => ListObjectsResponse, "/v1/meta/list_objects", leader);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSummary {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified_ms: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListObjectsResponse {
    pub objects: Vec<ObjectSummary>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// When truncated: the last key or common prefix returned; pass as `continue_after`.
    pub next_marker: Option<String>,
}

// ---------------------------------------------------------------- access keys

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyInfo {
    pub access_key: String,
    /// Present in `GetAccessKey` and `CreateAccessKey` answers, absent in listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    pub name: String,
    pub created_ms: u64,
    /// Whether the key may create buckets (it owns the buckets it creates).
    #[serde(default = "yes")]
    pub allow_create_bucket: bool,
}

fn yes() -> bool {
    true
}

/// Creates an access key. Without `access_key`/`secret_key` the leader generates them
/// (with both, it imports a pair the admin chose).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateAccessKey {
    pub name: String,
    #[serde(default)]
    pub access_key: Option<String>,
    #[serde(default)]
    pub secret_key: Option<String>,
    #[serde(default = "yes")]
    pub allow_create_bucket: bool,
}
rpc!(CreateAccessKey => AccessKeyInfo, "/v1/meta/create_key", leader);

impl Default for CreateAccessKey {
    fn default() -> Self {
        CreateAccessKey {
            name: String::new(),
            access_key: None,
            secret_key: None,
            allow_create_bucket: true,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetAccessKey {
    pub access_key: String,
}
rpc!(GetAccessKey => AccessKeyInfo, "/v1/meta/get_key", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteAccessKey {
    pub access_key: String,
}
rpc!(DeleteAccessKey => Empty, "/v1/meta/delete_key", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListAccessKeys {}
rpc!(ListAccessKeys => ListAccessKeysResponse, "/v1/meta/list_keys", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListAccessKeysResponse {
    pub keys: Vec<AccessKeyInfo>,
}

// ---------------------------------------------------------------- placement

/// Asks the leader where to write new chunks. No Raft write: chunk ids are random and a
/// chunk becomes known to the metadata only when an object naming it commits.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AllocateChunks {
    pub count: u32,
    /// Replicas per chunk (3 in production).
    pub replicas: u32,
    /// Chunkservers not to use (e.g. one that just failed a write).
    #[serde(default)]
    pub exclude: Vec<ChunkserverId>,
}
rpc!(AllocateChunks => AllocateChunksResponse, "/v1/meta/allocate_chunks", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AllocateChunksResponse {
    pub chunks: Vec<ChunkPlacement>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChunkPlacement {
    pub id: ChunkId,
    /// One target per replica, each on a different chunkserver.
    pub targets: Vec<ReplicaTarget>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaTarget {
    pub replica: Replica,
    /// The chunkserver's data RPC address.
    pub addr: String,
}

/// A replica that failed a read, a scrub or an inventory check.
///
/// From a chunkserver about its own replica (`Corrupt`, `Missing`, `IoError`) the report is
/// authoritative: the chunkserver has already quarantined the file, and the leader drops the
/// replica from the chunk's locations through Raft, which starts its repair. From a gateway
/// (`Suspect`: the bytes it received did not verify) the leader first asks the chunkserver to
/// verify the replica itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportBadReplica {
    pub chunk: ChunkId,
    pub replica: Replica,
    pub reason: String,
    #[serde(default)]
    pub kind: BadReplicaKind,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadReplicaKind {
    /// A reader saw bad bytes; the holder has not confirmed it.
    #[default]
    Suspect,
    /// The holder verified the replica and it is corrupt (quarantined).
    Corrupt,
    /// The holder does not have the file.
    Missing,
    /// The holder's disk returned an I/O error for it.
    IoError,
}
rpc!(ReportBadReplica => Empty, "/v1/meta/report_bad_replica", leader);

// ---------------------------------------------------------------- chunkservers

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskState {
    Healthy,
    Suspect,
    Failed,
    Draining,
    Offline,
}

impl DiskState {
    /// Whether replicas on a disk in this state count as healthy copies (readable).
    pub fn holds_healthy_replicas(self) -> bool {
        matches!(
            self,
            DiskState::Healthy | DiskState::Suspect | DiskState::Draining
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DiskState::Healthy => "healthy",
            DiskState::Suspect => "suspect",
            DiskState::Failed => "failed",
            DiskState::Draining => "draining",
            DiskState::Offline => "offline",
        }
    }
}

/// One disk as its chunkserver reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskReport {
    pub disk_id: DiskId,
    pub path: String,
    pub state: DiskState,
    pub capacity_bytes: u64,
    pub free_bytes: u64,
    /// Bytes in chunk files.
    pub used_bytes: u64,
    pub chunk_count: u64,
    /// Health checks and I/O counters behind `state`.
    #[serde(default)]
    pub health: DiskHealth,
}

/// What the chunkserver's health worker and its I/O paths measured on one disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskHealth {
    /// Latency of the last probe (write + fsync + read back of a small file), microseconds.
    #[serde(default)]
    pub probe_latency_us: Option<u64>,
    /// Milliseconds since the last probe finished.
    #[serde(default)]
    pub last_probe_ms_ago: Option<u64>,
    /// Probes that failed in a row (0 when the last one passed).
    #[serde(default)]
    pub consecutive_failures: u32,
    /// I/O errors (EIO, EROFS, failed probes, ...) since the chunkserver started.
    #[serde(default)]
    pub io_errors: u64,
    /// Replicas found corrupt (reads and scrub) since the chunkserver started.
    #[serde(default)]
    pub corrupt_replicas: u64,
    /// Latency percentiles of chunk reads and writes on real traffic, microseconds.
    #[serde(default)]
    pub read_p50_us: Option<u64>,
    #[serde(default)]
    pub read_p99_us: Option<u64>,
    #[serde(default)]
    pub write_p50_us: Option<u64>,
    #[serde(default)]
    pub write_p99_us: Option<u64>,
    /// The last error seen, in words.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Why the state is not healthy, in words.
    #[serde(default)]
    pub reason: Option<String>,
    /// Unix ms when the last full scrub pass of this disk finished.
    #[serde(default)]
    pub last_scrub_ms: Option<u64>,
}

/// Sent by each chunkserver to the leader every heartbeat interval.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Heartbeat {
    pub chunkserver: ChunkserverId,
    /// The chunkserver's data RPC address.
    pub addr: String,
    pub disks: Vec<DiskReport>,
    /// This chunkserver's background workers (health, scrub, inventory, repair copies).
    #[serde(default)]
    pub workers: Vec<crate::durability::WorkerStatus>,
    /// Progress of the current scrub pass.
    #[serde(default)]
    pub scrub: Option<crate::durability::ScrubProgress>,
    /// Every configured disk slot and what it holds now (see [`crate::swap`]).
    #[serde(default)]
    pub slots: Vec<crate::swap::SlotReport>,
}
rpc!(Heartbeat => HeartbeatResponse, "/v1/meta/heartbeat", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    pub cluster_id: String,
    /// Current worker settings (`trireme worker set`), key -> value; see
    /// [`crate::durability::WORKER_SETTINGS`]. Missing keys take their default.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Whether scrub runs, and which pass the operator asked for (`trireme scrub start`
    /// increments `epoch`: a chunkserver that sees a new epoch starts a new pass now).
    #[serde(default)]
    pub scrub: crate::durability::ScrubControl,
    /// This chunkserver's disks that the operator removed from service: the chunkserver
    /// releases them (no I/O at all) so they can be pulled, and never takes them back.
    #[serde(default)]
    pub removed_disks: Vec<DiskId>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListChunkservers {}
rpc!(ListChunkservers => ListChunkserversResponse, "/v1/meta/list_chunkservers", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListChunkserversResponse {
    pub chunkservers: Vec<ChunkserverInfo>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChunkserverInfo {
    pub id: ChunkserverId,
    pub addr: String,
    /// Heartbeat seen within the liveness timeout.
    pub alive: bool,
    /// Milliseconds since the last heartbeat this leader saw (None: none since it became leader).
    pub last_heartbeat_ms_ago: Option<u64>,
    pub disks: Vec<DiskReport>,
    /// The state Raft records ("up" or "dead"); drives repair.
    #[serde(default)]
    pub state: ChunkserverState,
}

/// A chunkserver's state as the replicated metadata records it. The leader commits `Dead`
/// when no heartbeat came for the liveness timeout and `Up` when one comes again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkserverState {
    #[default]
    Up,
    Dead,
}
