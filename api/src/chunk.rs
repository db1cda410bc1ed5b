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

use crate::ids::{ChunkserverId, DiskId};
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
