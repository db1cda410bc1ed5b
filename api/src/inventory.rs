//! Inventory reconciliation, like HDFS block reports: every chunkserver periodically reports the
//! chunks it holds on each disk; the meta leader answers with the ones no object or recorded
//! multipart part references and that are older than the garbage-collection grace period (so a
//! chunk written for a PUT that has not committed yet is never collected), and the chunkserver
//! deletes them. Because the answer is computed from every record (mark and sweep), chunks
//! shared by copies are safe.

use crate::ids::{ChunkId, ChunkserverId, DiskId};
use crate::rpc;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryEntry {
    pub chunk: ChunkId,
    /// Milliseconds since the chunk file was written, when the inventory was taken.
    pub age_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskInventory {
    pub disk: DiskId,
    pub chunks: Vec<InventoryEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportInventory {
    pub chunkserver: ChunkserverId,
    pub disks: Vec<DiskInventory>,
}
rpc!(ReportInventory => ReportInventoryResponse, "/v1/meta/report_inventory", leader);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkOnDisk {
    pub disk: DiskId,
    pub chunk: ChunkId,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReportInventoryResponse {
    /// Unreferenced replicas older than the grace period: delete them.
    pub delete: Vec<ChunkOnDisk>,
}
