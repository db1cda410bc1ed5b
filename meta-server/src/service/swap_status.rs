//! `SwapStatus`: one view of a disk swap from drain to refill, by the old disk's id or the
//! new one's, with the next step in plain words. Computed from Raft state (disk records,
//! chunk index) and the chunkserver's latest slot report, so it can be asked any time, from
//! any CLI, across leader changes.

use super::Serve;
use crate::error::MetaResult;
use crate::node::{lock, now_ms, MetaNode};
use crate::types::{ChunkserverRecord, DiskRecord};
use trireme_api::ids::DiskId;
use trireme_api::meta::ChunkserverState;
use trireme_api::ops::{DiskAdminState, DiskRef, DrainStatusResponse};

const DAY_MS: u64 = 86_400_000;
use trireme_api::swap::*;

impl Serve<SwapStatus> for MetaNode {
    async fn serve(&self, req: SwapStatus) -> MetaResult<SwapStatusResponse> {
        self.linearizable().await?;
        let (cs, named) = self.find_disk(&req.disk)?;
        // Named by the new disk's id: the swap is its predecessor's.
        let old_id = named.replaces.clone().unwrap_or(named.disk_id.clone());
        let old = self.drain_status(cs.id, &old_id, req.list_objects.min(1000))?;
        let new = cs
            .disks
            .iter()
            .find(|d| d.replaces.as_ref() == Some(&old_id))
            .cloned();
        let slot = lock(&self.heartbeats)
            .get(&cs.id)
            .and_then(|s| s.slots.iter().find(|x| x.path == old.path).cloned());
        let fill = new.as_ref().map(|d| self.fill_status(&cs, d)).transpose()?;
        let phase = phase(&old, slot.as_ref(), new.as_ref());
        let next_step = next_step(phase, &cs, &old, slot.as_ref(), fill.as_ref());
        Ok(SwapStatusResponse {
            phase,
            old,
            slot,
            new: fill,
            next_step,
        })
    }
}

impl Serve<ListSwaps> for MetaNode {
    async fn serve(&self, _req: ListSwaps) -> MetaResult<ListSwapsResponse> {
        self.linearizable().await?;
        let records = self.reader.list_chunkservers()?;
        let mut swaps = Vec::new();
        for cs in records.iter().filter(|c| c.state == ChunkserverState::Up) {
            for d in &cs.disks {
                let replaced = cs
                    .disks
                    .iter()
                    .any(|n| n.replaces.as_ref() == Some(&d.disk_id));
                let wanted = match d.admin {
                    DiskAdminState::Draining => true,
                    // A removed disk awaits its successor (for a day; decommissioned
                    // chunkservers are not `Up`).
                    DiskAdminState::Removed => {
                        !replaced
                            && d.admin_since_ms
                                .is_some_and(|t| now_ms().saturating_sub(t) < DAY_MS)
                    }
                    DiskAdminState::InService => {
                        d.fill.as_ref().is_some_and(|f| f.finished_ms.is_none())
                    }
                };
                if wanted {
                    let req = SwapStatus {
                        disk: DiskRef {
                            disk: d.disk_id.clone(),
                            chunkserver: Some(cs.id),
                        },
                        list_objects: 0,
                    };
                    swaps.push(self.serve(req).await?);
                }
            }
        }
        Ok(ListSwapsResponse { swaps })
    }
}

impl MetaNode {
    fn fill_status(&self, cs: &ChunkserverRecord, d: &DiskRecord) -> MetaResult<FillStatus> {
        let (mut bytes, mut chunks) = (0u64, 0u64);
        for id in self.reader.chunks_on_disk(cs.id, &d.disk_id)? {
            if let Some(e) = self.reader.get_chunk(&id)? {
                bytes += e.length;
                chunks += 1;
            }
        }
        let fill = d.fill.clone();
        let target_bytes = fill.as_ref().map(|f| f.target_bytes).unwrap_or(0);
        let finished_ms = fill.as_ref().and_then(|f| f.finished_ms);
        let rate = self.durability.progress(self).rate_bytes_per_s;
        let left = target_bytes.saturating_sub(bytes);
        Ok(FillStatus {
            chunkserver: cs.id,
            disk: d.disk_id.clone(),
            path: d.path.clone(),
            started_ms: fill
                .as_ref()
                .map(|f| f.started_ms)
                .or(d.admin_since_ms)
                .unwrap_or(0),
            finished_ms: finished_ms.or(fill.is_none().then_some(0)),
            target_bytes,
            bytes,
            chunks,
            rate_bytes_per_s: rate,
            eta_s: (finished_ms.is_none() && rate > 0.0 && left > 0)
                .then(|| (left as f64 / rate).ceil() as u64),
        })
    }
}

fn phase(
    old: &DrainStatusResponse,
    slot: Option<&SlotReport>,
    new: Option<&DiskRecord>,
) -> SwapPhase {
    if let Some(n) = new {
        return match &n.fill {
            Some(f) if f.finished_ms.is_none() => SwapPhase::Filling,
            _ => SwapPhase::Done,
        };
    }
    match old.admin {
        DiskAdminState::InService => SwapPhase::InService,
        DiskAdminState::Draining if old.safe_to_pull => SwapPhase::SafeToRemove,
        DiskAdminState::Draining => SwapPhase::Draining,
        DiskAdminState::Removed => match slot.map(|s| s.state) {
            Some(SlotState::Blank) => SwapPhase::ReadyToFormat,
            _ => SwapPhase::AwaitingDisk,
        },
    }
}

fn next_step(
    phase: SwapPhase,
    cs: &ChunkserverRecord,
    old: &DrainStatusResponse,
    slot: Option<&SlotReport>,
    fill: Option<&FillStatus>,
) -> String {
    let d: &DiskId = &old.disk;
    match phase {
        SwapPhase::InService if matches!(old.state.as_str(), "failed" | "offline") => {
            format!("the disk failed: trireme disk replace {d} confirms the loss once repaired and brings a new disk in")
        }
        SwapPhase::InService => format!("start the swap: trireme disk swap {d}"),
        SwapPhase::Draining => format!(
            "wait for the drain ({} of {} chunks still to copy); trireme disk swap {d} continues it",
            old.chunks_left, old.chunks
        ),
        SwapPhase::SafeToRemove => {
            format!("safe to remove: trireme disk swap {d} verifies the copies and removes it")
        }
        SwapPhase::AwaitingDisk => {
            let what = slot
                .map(|s| s.detail.clone())
                .unwrap_or_else(|| "the chunkserver has not reported the slot yet".into());
            format!(
                "pull disk {d} from chunkserver {} ({}), slot {}, and insert a blank disk there; the slot now: {what}",
                cs.id, cs.addr, old.path
            )
        }
        SwapPhase::ReadyToFormat => format!(
            "a blank disk is in slot {}: trireme disk swap {d} formats it and refills it",
            old.path
        ),
        SwapPhase::Filling => {
            let f = fill.cloned().unwrap_or_default();
            format!(
                "new disk {} is in service and being refilled ({} of {} MiB)",
                f.disk,
                f.bytes >> 20,
                f.target_bytes >> 20
            )
        }
        SwapPhase::Done => {
            let n = fill.map(|f| f.disk.to_string()).unwrap_or_default();
            format!("done: disk {d} was replaced by disk {n}")
        }
    }
}
