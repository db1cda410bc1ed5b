//! The Raft type configuration and the commands the state machine applies.
//!
//! Commands are persisted in the Raft log and replayed on restart, so their serde form is a
//! persisted format: variants are only ever added, never renamed or changed incompatibly.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trireme_api::durability::ScrubControl;
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};
use trireme_api::meta::{
    AccessKeyInfo, BucketInfo, ChunkserverState, DiskState, Permissions, WriteCondition,
};
use trireme_api::multipart::{PartRecord, UploadInfo, UploadMetadata};
use trireme_api::object::{ObjectRecord, Replica};
use trireme_api::ops::DiskAdminState;
use trireme_api::ApiError;

openraft::declare_raft_types!(
    /// Trireme's Raft types: u64 node ids, nodes addressed by their RPC address.
    pub TypeConfig:
        D = Command,
        R = CommandResult,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = crate::store::snapshot_data::SnapshotData,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type NodeId = u64;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type StoredMembership = openraft::StoredMembership<NodeId, openraft::BasicNode>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, openraft::BasicNode>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;

/// One state-machine mutation. Everything it needs (times included) is in the command, so
/// applying it is deterministic on every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    CreateBucket {
        name: String,
        owner: String,
        created_ms: u64,
    },
    DeleteBucket {
        name: String,
    },
    PutObject {
        bucket: String,
        key: String,
        object: ObjectRecord,
        #[serde(default)]
        condition: Option<WriteCondition>,
    },
    DeleteObject {
        bucket: String,
        key: String,
    },
    CreateAccessKey {
        key: AccessKeyInfo,
    },
    UpsertChunkserver {
        chunkserver: ChunkserverRecord,
    },
    CopyObject {
        src_bucket: String,
        src_key: String,
        dst_bucket: String,
        dst_key: String,
        src_etag: Option<String>,
        replace_metadata: Option<UploadMetadata>,
        condition: Option<WriteCondition>,
        last_modified_ms: u64,
    },
    DeleteObjects {
        bucket: String,
        keys: Vec<String>,
    },
    CreateUpload {
        upload: UploadInfo,
    },
    PutPart {
        bucket: String,
        key: String,
        upload_id: String,
        part: PartRecord,
    },
    CompleteUpload {
        bucket: String,
        key: String,
        upload_id: String,
        parts: Vec<(u32, String)>,
        etag: String,
        checksums: BTreeMap<String, String>,
        condition: Option<WriteCondition>,
        last_modified_ms: u64,
    },
    AbortUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
    DeleteAccessKey {
        access_key: String,
    },
    SetBucketGrant {
        bucket: String,
        access_key: String,
        permissions: Permissions,
    },
    /// The leader's liveness worker: no heartbeat for the timeout (`Dead`).
    SetChunkserverState {
        id: ChunkserverId,
        state: ChunkserverState,
    },
    /// A repair copy is durable on `replica`: add it to the chunk's locations and drop
    /// `drop` (replicas on dead chunkservers or failed disks, once enough healthy ones exist).
    /// Refused with `NotFound` if the chunk is no longer referenced.
    AddReplica {
        chunk: ChunkId,
        replica: Replica,
        #[serde(default)]
        drop: Vec<Replica>,
    },
    /// A replica is corrupt or missing: remove it from the chunk's locations.
    DropReplica {
        chunk: ChunkId,
        replica: Replica,
        reason: String,
    },
    /// `trireme worker set`.
    SetWorkerSetting {
        key: String,
        value: String,
    },
    /// `trireme scrub start|pause|resume`.
    SetScrubControl {
        control: ScrubControl,
    },
    /// `trireme disk drain|undrain`: the operator's intent for a disk.
    SetDiskAdmin {
        chunkserver: ChunkserverId,
        disk: DiskId,
        admin: DiskAdminState,
        at_ms: u64,
    },
    /// `trireme disk remove`: drops every replica on the disk and marks it removed. Refused
    /// if a chunk would lose its last healthy replica, or (without `force`) drop below its
    /// wanted count.
    RemoveDisk {
        chunkserver: ChunkserverId,
        disk: DiskId,
        force: bool,
        at_ms: u64,
    },
    /// An admin action by an operator and its audit entry, applied atomically: `command` is
    /// applied as usual and `audit` is recorded under this entry's log index with the result
    /// (refused commands are recorded too). See `store/apply_admin.rs`.
    Audited {
        audit: trireme_api::admin::AuditEntry,
        command: Box<Command>,
    },
    /// An audit entry for an admin action that wrote no command of its own (a read of
    /// secrets, a refusal before any write, a membership change).
    RecordAudit {
        audit: trireme_api::admin::AuditEntry,
    },
    /// `trireme token create`: only the token's SHA-256 (hex) is replicated.
    CreateToken {
        hash: String,
        token: trireme_api::admin::TokenInfo,
    },
    /// `trireme token revoke`. Refused for the last admin token.
    RevokeToken {
        name: String,
    },
    /// A blank disk formatted by its chunkserver enters service (`trireme disk swap|replace`):
    /// recorded in service, linked to the removed disk it `replaces`, with a refill `fill`.
    AdmitDisk {
        chunkserver: ChunkserverId,
        disk: DiskId,
        path: String,
        replaces: Option<DiskId>,
        fill: Option<FillRecord>,
    },
    /// A refill reached its target (or found nothing more to move).
    FinishFill {
        chunkserver: ChunkserverId,
        disk: DiskId,
        at_ms: u64,
    },
    /// Group commit: concurrent commands proposed as one Raft entry (`group_commit.rs`),
    /// applied in order, each as if alone (it sees the ones before it), each with its own
    /// result. Never nested.
    Batch {
        commands: Vec<Command>,
    },
}

/// The result of applying one command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandResult {
    Done,
    Bucket(BucketInfo),
    Deleted {
        existed: bool,
    },
    DeletedMany {
        existed: Vec<bool>,
    },
    Copied {
        etag: String,
        size: u64,
    },
    AccessKey(AccessKeyInfo),
    /// The results of a [`Command::Batch`], in order.
    Batch(Vec<CommandResult>),
    /// The command was refused by the state machine (e.g. bucket not empty); nothing changed.
    Refused(ApiError),
}

/// A chunkserver as the metadata knows it (identity and disks; liveness is soft state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkserverRecord {
    pub id: ChunkserverId,
    pub addr: String,
    pub disks: Vec<DiskRecord>,
    #[serde(default)]
    pub state: ChunkserverState,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskRecord {
    pub disk_id: DiskId,
    pub path: String,
    /// As the chunkserver last reported it; a change is a Raft command (it drives repair).
    #[serde(default = "healthy")]
    pub state: DiskState,
    /// The operator's intent (drain, removed); only `SetDiskAdmin`/`RemoveDisk` change it.
    #[serde(default)]
    pub admin: DiskAdminState,
    /// When `admin` last changed (unix ms).
    #[serde(default)]
    pub admin_since_ms: Option<u64>,
    /// The removed disk this one replaced (a disk swap).
    #[serde(default)]
    pub replaces: Option<DiskId>,
    /// The refill of a disk brought in by a swap: moves replicas onto it until it holds its
    /// share.
    #[serde(default)]
    pub fill: Option<FillRecord>,
}

/// A new disk's refill (Raft state, so any leader carries it on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillRecord {
    /// Bytes of chunks the disk should hold (its share by capacity when it was admitted).
    pub target_bytes: u64,
    pub started_ms: u64,
    /// When it reached the target or ran out of chunks to move.
    #[serde(default)]
    pub finished_ms: Option<u64>,
}

fn healthy() -> DiskState {
    DiskState::Healthy
}
