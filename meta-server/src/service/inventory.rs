//! Inventory reports: the answer names the replicas to garbage-collect.

use super::Serve;
use crate::error::MetaResult;
use crate::node::MetaNode;
use trireme_api::inventory::{ChunkOnDisk, ReportInventory, ReportInventoryResponse};

impl Serve<ReportInventory> for MetaNode {
    async fn serve(&self, req: ReportInventory) -> MetaResult<ReportInventoryResponse> {
        // Linearizable: the referenced set must include every commit acknowledged so far.
        self.linearizable().await?;
        let referenced = self.reader.referenced_chunks()?;
        let grace_ms = self.config.gc_grace.as_millis() as u64;
        let mut delete = Vec::new();
        for disk in req.disks {
            for entry in disk.chunks {
                if entry.age_ms >= grace_ms && !referenced.contains(&entry.chunk) {
                    delete.push(ChunkOnDisk {
                        disk: disk.disk.clone(),
                        chunk: entry.chunk,
                    });
                }
            }
        }
        if !delete.is_empty() {
            tracing::info!(
                chunkserver = req.chunkserver,
                count = delete.len(),
                "unreferenced chunks to collect"
            );
        }
        Ok(ReportInventoryResponse { delete })
    }
}
