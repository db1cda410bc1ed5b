//! Inventory reconciliation (HDFS block reports). For each disk a chunkserver reports, the
//! leader compares the chunk files it holds with the locations the chunk index gives that
//! disk:
//! - a file the index does not place there, of a chunk that lacks healthy replicas, on a
//!   chunkserver that holds no listed replica of it, is adopted (`AddReplica`): it may be the
//!   last good copy (a chunkserver back after its replicas were dropped).
//! - any other file the index does not place there (unreferenced chunk, or a replica repair
//!   moved away) and older than the grace period is garbage: the answer tells the chunkserver
//!   to delete it. The grace period protects chunks of PUTs that have not committed yet.
//! - a location the index has but the disk lacks in two reports in a row is missing: the
//!   replica is dropped through Raft and repair restores it. Two reports, because the first
//!   scan may have run before a concurrent write's file existed; the second scan started
//!   after the first report was answered, hence after any commit the first one could race.

use super::Serve;
use crate::error::MetaResult;
use crate::node::MetaNode;
use crate::types::Command;
use std::collections::BTreeSet;
use trireme_api::durability::{setting, WorkerState};
use trireme_api::ids::ChunkId;
use trireme_api::inventory::{ChunkOnDisk, ReportInventory, ReportInventoryResponse};
use trireme_api::object::Replica;

const NAME: &str = "reconcile";

impl Serve<ReportInventory> for MetaNode {
    async fn serve(&self, req: ReportInventory) -> MetaResult<ReportInventoryResponse> {
        // Linearizable: the index must include every commit acknowledged so far.
        self.linearizable().await?;
        let d = &self.durability;
        d.set_worker_state(self, NAME, WorkerState::Busy);
        let grace_ms = self.config.gc_grace.as_millis() as u64;
        let gc = setting(&self.reader.worker_settings()?, "gc.enabled") != 0;
        let records = self.reader.list_chunkservers()?;
        let view = crate::durability::view::HealthView::new(&records);
        let mut delete = Vec::new();
        let mut confirmed_missing: Vec<(ChunkId, Replica)> = Vec::new();
        let mut adopt: Vec<(ChunkId, Replica)> = Vec::new();
        let mut reported = 0u64;
        for disk in &req.disks {
            let expected = self.reader.chunks_on_disk(req.chunkserver, &disk.disk)?;
            let present: BTreeSet<&ChunkId> = disk.chunks.iter().map(|e| &e.chunk).collect();
            reported += disk.chunks.len() as u64;
            // Only a disk that can hold healthy replicas can be judged by its listing.
            let judged = view
                .disk_state(req.chunkserver, &disk.disk)
                .is_some_and(|s| s.holds_healthy_replicas());
            for entry in &disk.chunks {
                if expected.contains(&entry.chunk) {
                    continue;
                }
                // A copy the index does not place here (e.g. on a chunkserver that came back
                // after its replicas were dropped) is adopted while the chunk lacks healthy
                // replicas: it may be the last good copy. Otherwise it is garbage.
                if judged {
                    if let Some(e) = self.reader.get_chunk(&entry.chunk)? {
                        let short = view.healthy_count(&e.replicas) < e.want as usize;
                        let here = e.replicas.iter().any(|r| r.chunkserver == req.chunkserver);
                        if short && !here {
                            adopt.push((
                                entry.chunk.clone(),
                                Replica {
                                    chunkserver: req.chunkserver,
                                    disk: disk.disk.clone(),
                                },
                            ));
                            continue;
                        }
                    }
                }
                if gc && entry.age_ms >= grace_ms {
                    delete.push(ChunkOnDisk {
                        disk: disk.disk.clone(),
                        chunk: entry.chunk.clone(),
                    });
                }
            }
            let missing: BTreeSet<ChunkId> = if judged {
                expected
                    .iter()
                    .filter(|c| !present.contains(c))
                    .cloned()
                    .collect()
            } else {
                BTreeSet::new()
            };
            let key = (req.chunkserver, disk.disk.clone());
            let before = d.with(self, |g| g.suspects.remove(&key).unwrap_or_default());
            for c in missing.intersection(&before) {
                confirmed_missing.push((
                    c.clone(),
                    Replica {
                        chunkserver: req.chunkserver,
                        disk: disk.disk.clone(),
                    },
                ));
            }
            let still: BTreeSet<ChunkId> = missing.difference(&before).cloned().collect();
            if !still.is_empty() {
                d.with(self, |g| g.suspects.insert(key, still));
            }
        }
        for (chunk, replica) in &confirmed_missing {
            tracing::warn!(%chunk, chunkserver = replica.chunkserver, disk = %replica.disk, "replica missing from two inventories: dropping it");
            self.write(Command::DropReplica {
                chunk: chunk.clone(),
                replica: replica.clone(),
                reason: "missing from the disk's inventory".into(),
            })
            .await?;
        }
        for (chunk, replica) in &adopt {
            tracing::warn!(%chunk, chunkserver = replica.chunkserver, disk = %replica.disk, "adopting an unlisted copy of an under-replicated chunk");
            self.write(Command::AddReplica {
                chunk: chunk.clone(),
                replica: replica.clone(),
                drop: Vec::new(),
            })
            .await?;
        }
        if !confirmed_missing.is_empty() || !adopt.is_empty() {
            d.sweep_now.notify_one();
        }
        if !delete.is_empty() {
            tracing::info!(
                chunkserver = req.chunkserver,
                count = delete.len(),
                "unreferenced replicas to collect"
            );
        }
        d.worker(self, NAME, |w| {
            w.state = WorkerState::Idle;
            w.items += reported;
            w.progress = Some(format!(
                "last report from chunkserver {}: {} replicas, {} to collect, {} missing",
                req.chunkserver,
                reported,
                delete.len(),
                confirmed_missing.len()
            ));
        });
        Ok(ReportInventoryResponse { delete })
    }
}
