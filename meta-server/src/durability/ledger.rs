//! The durability ledger sweep: one pass over the chunk index counting every chunk's healthy
//! replicas (in total, per chunkserver, per disk) and listing the under-replicated ones,
//! fewest healthy replicas first, for the repair worker. The sweep reads only replicated
//! state, so any leader computes the same ledger.

use super::view::HealthView;
use crate::store::read::Reader;
use crate::store::StoreError;
use std::collections::BTreeMap;
use trireme_api::durability::{ChunkserverLedger, DiskLedger, Ledger, ReplicaCounts};
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};

/// The most chunks one sweep queues for repair (the next sweep queues the rest).
pub const MAX_QUEUE: usize = 100_000;

/// A chunk below its wanted number of healthy replicas (or with one on a draining disk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepairItem {
    pub chunk: ChunkId,
    pub healthy: usize,
    pub want: usize,
    pub length: u64,
    /// Not under-replicated, but a replica is on a draining disk and must be replaced.
    pub drain: bool,
    /// A move onto a disk being refilled (see `fill`); queued after repairs and drains.
    pub fill: Option<super::fill::FillMove>,
}

pub struct Sweep {
    pub ledger: Ledger,
    /// Fewest healthy replicas first; chunks with none are not queued (nothing to copy).
    pub queue: Vec<RepairItem>,
}

pub fn sweep(reader: &Reader, view: &HealthView, started_ms: u64) -> Result<Sweep, StoreError> {
    let t0 = std::time::Instant::now();
    let mut total = ReplicaCounts::default();
    let mut by_cs: BTreeMap<ChunkserverId, ReplicaCounts> = BTreeMap::new();
    let mut by_disk: BTreeMap<(ChunkserverId, DiskId), ReplicaCounts> = BTreeMap::new();
    let mut queue = Vec::new();
    reader.for_each_chunk(|id, e| {
        let healthy = view.healthy_count(&e.replicas);
        let want = e.want as usize;
        total.add(healthy, want, e.length);
        let mut seen_cs = Vec::with_capacity(e.replicas.len());
        for r in &e.replicas {
            by_disk
                .entry((r.chunkserver, r.disk.clone()))
                .or_default()
                .add(healthy, want, e.length);
            if !seen_cs.contains(&r.chunkserver) {
                seen_cs.push(r.chunkserver);
                by_cs
                    .entry(r.chunkserver)
                    .or_default()
                    .add(healthy, want, e.length);
            }
        }
        let draining = e.replicas.iter().filter(|r| view.is_draining(r)).count();
        let drain = healthy >= want && draining > 0 && healthy - draining < want;
        if (healthy < want && healthy > 0) || drain {
            queue.push(RepairItem {
                chunk: id,
                healthy,
                want,
                length: e.length,
                drain,
                fill: None,
            });
        }
    })?;
    // Under-replicated first, fewest healthy replicas first; then drains. Stable: within
    // one class, chunk id order (random ids, so no hot spot).
    queue.sort_by_key(|i| (i.drain, i.healthy));
    queue.truncate(MAX_QUEUE);
    Ok(Sweep {
        ledger: Ledger {
            total,
            by_chunkserver: by_cs
                .into_iter()
                .map(|(chunkserver, counts)| ChunkserverLedger {
                    chunkserver,
                    counts,
                })
                .collect(),
            by_disk: by_disk
                .into_iter()
                .map(|((chunkserver, disk), counts)| DiskLedger {
                    chunkserver,
                    disk,
                    counts,
                })
                .collect(),
            swept_at_ms: started_ms,
            sweep_ms: t0.elapsed().as_millis() as u64,
        },
        queue,
    })
}
