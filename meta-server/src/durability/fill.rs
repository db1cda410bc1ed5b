//! Refilling a new disk (the end of a disk swap): after each sweep, the leader plans moves of
//! healthy replicas from the fullest disks onto every disk with an unfinished refill, until
//! the disk holds its target share. A move is a repair copy (the new disk pulls and verifies
//! the chunk) whose `AddReplica` drops the source replica in the same command, so a chunk
//! never has fewer healthy replicas than it wants. The source file is then collected by the
//! chunkserver's inventory like any unreferenced copy.
//!
//! Only fully healthy chunks move, and never onto a chunkserver that already holds another
//! replica of the chunk (one replica per chunkserver); a replica on another disk of the new
//! disk's own chunkserver may move across. Moves queue behind repairs and drains.

use super::ledger::RepairItem;
use super::view::HealthView;
use crate::store::read::Reader;
use crate::store::StoreError;
use crate::types::ChunkserverRecord;
use std::collections::{HashMap, HashSet};
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};
use trireme_api::object::Replica;
use trireme_api::ops::DiskAdminState;

/// The most moves one sweep plans per disk (the next sweep plans the rest).
const MAX_MOVES: usize = 20_000;

/// One planned move of a replica onto a disk being refilled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillMove {
    pub target: Replica,
    pub source: Replica,
}

/// A disk with an unfinished refill, and where it stands after this sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillState {
    pub chunkserver: ChunkserverId,
    pub disk: DiskId,
    pub target_bytes: u64,
    pub bytes: u64,
    pub chunks: u64,
    /// Moves planned by this sweep.
    pub planned: u64,
}

pub struct FillPlan {
    pub moves: Vec<RepairItem>,
    pub fills: Vec<FillState>,
}

struct Candidate {
    chunk: ChunkId,
    length: u64,
    replicas: Vec<Replica>,
    want: usize,
}

/// Disks being refilled: in service, healthy, with an unfinished fill.
pub fn filling(records: &[ChunkserverRecord]) -> Vec<(ChunkserverId, DiskId, u64)> {
    records
        .iter()
        .flat_map(|r| r.disks.iter().map(move |d| (r.id, d)))
        .filter(|(_, d)| d.admin == DiskAdminState::InService && d.state.holds_healthy_replicas())
        .filter_map(|(cs, d)| {
            let f = d.fill.as_ref().filter(|f| f.finished_ms.is_none())?;
            Some((cs, d.disk_id.clone(), f.target_bytes))
        })
        .collect()
}

/// Plans the moves of one sweep. Reads replicated state only.
pub fn plan(
    reader: &Reader,
    records: &[ChunkserverRecord],
    view: &HealthView,
) -> Result<FillPlan, StoreError> {
    let targets = filling(records);
    if targets.is_empty() {
        return Ok(FillPlan {
            moves: Vec::new(),
            fills: Vec::new(),
        });
    }
    let mut bytes_by_disk: HashMap<(ChunkserverId, DiskId), u64> = HashMap::new();
    let mut fills: Vec<FillState> = targets
        .iter()
        .map(|(cs, disk, target)| FillState {
            chunkserver: *cs,
            disk: disk.clone(),
            target_bytes: *target,
            bytes: 0,
            chunks: 0,
            planned: 0,
        })
        .collect();
    let mut candidates = Vec::new();
    reader.for_each_chunk(|id, e| {
        for r in &e.replicas {
            *bytes_by_disk
                .entry((r.chunkserver, r.disk.clone()))
                .or_default() += e.length;
        }
        let mut on_target = false;
        for f in fills.iter_mut() {
            if e.replicas
                .iter()
                .any(|r| r.chunkserver == f.chunkserver && r.disk == f.disk)
            {
                f.bytes += e.length;
                f.chunks += 1;
                on_target = true;
            }
        }
        let movable = !on_target
            && e.replicas.len() >= e.want as usize
            && e.replicas
                .iter()
                .all(|r| view.is_healthy(r) && !view.is_draining(r));
        if movable && candidates.len() < MAX_MOVES * 4 {
            candidates.push(Candidate {
                chunk: id,
                length: e.length,
                replicas: e.replicas,
                want: e.want as usize,
            });
        }
    })?;
    let mut moves = Vec::new();
    let mut planned: HashSet<ChunkId> = HashSet::new();
    for f in fills.iter_mut() {
        let mut have = f.bytes;
        for c in &candidates {
            if have >= f.target_bytes || f.planned as usize >= MAX_MOVES {
                break;
            }
            let same_cs: Vec<&Replica> = c
                .replicas
                .iter()
                .filter(|r| r.chunkserver == f.chunkserver)
                .collect();
            // One replica per chunkserver: a replica on the new disk's chunkserver must be
            // the one that moves; otherwise the fullest disk gives one up.
            let source = match same_cs.as_slice() {
                [one] => Some((*one).clone()),
                [] => c
                    .replicas
                    .iter()
                    .max_by_key(|r| bytes_by_disk.get(&(r.chunkserver, r.disk.clone())))
                    .cloned(),
                _ => None,
            };
            let Some(source) = source else { continue };
            let key = (source.chunkserver, source.disk.clone());
            let source_bytes = bytes_by_disk.get(&key).copied().unwrap_or(0);
            // Never move from a disk that would end up poorer than the new one.
            if source_bytes < have + c.length {
                continue;
            }
            if !planned.insert(c.chunk.clone()) {
                continue;
            }
            bytes_by_disk.insert(key, source_bytes - c.length);
            have += c.length;
            f.planned += 1;
            moves.push(RepairItem {
                chunk: c.chunk.clone(),
                healthy: c.replicas.len(),
                want: c.want,
                length: c.length,
                drain: false,
                fill: Some(FillMove {
                    target: Replica {
                        chunkserver: f.chunkserver,
                        disk: f.disk.clone(),
                    },
                    source,
                }),
            });
        }
    }
    Ok(FillPlan { moves, fills })
}
