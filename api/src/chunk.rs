//! The chunkserver data RPC. Chunk bodies are raw bytes, not JSON:
//!
//! - `PUT /v1/chunk/{disk}/{chunk}`: body is the chunk; header [`BLAKE3_HEADER`] is the
//!   expected whole-chunk digest. The chunkserver verifies it, writes tmp -> fsync -> rename ->
//!   fsync(dir), and only then answers 200 with [`PutChunkResponse`]. Idempotent: a second PUT
//!   of the same id with the same digest succeeds without rewriting.
//! - `GET /v1/chunk/{disk}/{chunk}?offset=O&length=L`: the bytes `[O, O+L)` (whole chunk when
//!   omitted), every block they touch verified first. Header [`BLAKE3_HEADER`] may carry the
//!   digest the metadata expects; a chunk whose header disagrees is `Corrupt`. A failed
//!   verification is an [`crate::ApiError`] with code `Corrupt`, never data.
//! - `DELETE /v1/chunk/{disk}/{chunk}`: removes the replica.
//! - `POST /v1/chunkserver/status` ([`ChunkserverStatusRequest`]): disks and counters.
//! - `POST /v1/chunk/pull` ([`PullChunk`]): repair. The chunkserver copies a replica from a
//!   source chunkserver onto one of its disks, verifying it block by block and as a whole,
//!   and answers only once it is fsynced.
//! - `POST /v1/chunk/verify` ([`VerifyChunk`]): re-reads one replica completely now; a bad one
//!   is quarantined (moved aside, never deleted) and reported to the meta leader.
//! - `GET /metrics`: Prometheus text (no cluster secret needed).

use crate::ids::{ChunkId, ChunkserverId, DiskId};
use crate::meta::DiskReport;
use serde::{Deserialize, Serialize};

/// Header with a lowercase hex BLAKE3 digest of a whole chunk.
pub const BLAKE3_HEADER: &str = "x-trireme-blake3";

/// Path of a chunk on a chunkserver.
pub fn chunk_path(disk: &DiskId, chunk: &crate::ids::ChunkId) -> String {
    format!("/v1/chunk/{disk}/{chunk}")
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutChunkResponse {
    pub length: u64,
    pub blake3: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadChunkQuery {
    #[serde(default)]
    pub offset: Option<u64>,
    #[serde(default)]
    pub length: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ChunkserverStatusRequest {}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChunkserverStatusResponse {
    pub id: ChunkserverId,
    pub cluster_id: String,
    pub disks: Vec<DiskReport>,
}

crate::rpc!(ChunkserverStatusRequest => ChunkserverStatusResponse, "/v1/chunkserver/status", any);

/// Where a repair copy can be read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullSource {
    /// The source chunkserver's data RPC address.
    pub addr: String,
    pub disk: DiskId,
}

/// Copies a replica onto `disk` of this chunkserver from the first source that serves it
/// intact. Idempotent, like a PUT of the same chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullChunk {
    pub disk: DiskId,
    pub chunk: ChunkId,
    pub length: u64,
    /// The whole-chunk BLAKE3 the metadata records, lowercase hex.
    pub blake3: String,
    /// Tried in order.
    pub sources: Vec<PullSource>,
}
crate::rpc!(PullChunk => PutChunkResponse, "/v1/chunk/pull", any);

/// Verifies one replica completely now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyChunk {
    pub disk: DiskId,
    pub chunk: ChunkId,
    /// The digest the metadata records, if the caller knows it.
    #[serde(default)]
    pub blake3: Option<String>,
}
crate::rpc!(VerifyChunk => VerifyChunkResponse, "/v1/chunk/verify", any);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyChunkResponse {
    pub ok: bool,
    /// Why it is bad, in words.
    #[serde(default)]
    pub reason: Option<String>,
    /// The bad replica was moved to the disk's quarantine directory.
    #[serde(default)]
    pub quarantined: bool,
}
