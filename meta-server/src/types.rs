//! The Raft type configuration and the commands the state machine applies.
//!
//! Commands are persisted in the Raft log and replayed on restart, so their serde form is a
//! persisted format: variants are only ever added, never renamed or changed incompatibly.

use serde::{Deserialize, Serialize};
use std::io::Cursor;
use trireme_api::ids::{ChunkserverId, DiskId};
use trireme_api::meta::{AccessKeyInfo, BucketInfo};
use trireme_api::object::ObjectRecord;
use trireme_api::ApiError;

openraft::declare_raft_types!(
    /// Trireme's Raft types: u64 node ids, nodes addressed by their RPC address.
    pub TypeConfig:
        D = Command,
        R = CommandResult,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
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
    AccessKey(AccessKeyInfo),
    /// The command was refused by the state machine (e.g. bucket not empty); nothing changed.
    Refused(ApiError),
}

/// A chunkserver as the metadata knows it (identity and disks; liveness is soft state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkserverRecord {
    pub id: ChunkserverId,
    pub addr: String,
    pub disks: Vec<DiskRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskRecord {
    pub disk_id: DiskId,
    pub path: String,
}
