//! Disk operations: drain (and undrain), drain status and the removal gate, removal, and the
//! what-if plan. The state is Raft state (`SetDiskAdmin`, `RemoveDisk`); the repair worker
//! does the copying (drain items queue behind under-replicated chunks); progress is computed
//! from the chunk index whenever asked.

use super::Serve;
use crate::durability::view::HealthView;
use crate::error::MetaResult;
use crate::node::{lock, now_ms, MetaNode};
use crate::service::placement::MIN_FREE_BYTES;
use crate::store::apply_ops::remaining_elsewhere;
use crate::types::{ChunkserverRecord, Command, DiskRecord};
use std::collections::BTreeMap;
use trireme_api::durability::setting;
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};
use trireme_api::meta::DiskState;
use trireme_api::ops::*;
use trireme_api::{ApiError, ErrorCode};

/// Objects named when a removal is refused.
const NAME_AT_MOST: u32 = 20;

impl MetaNode {
    pub(crate) fn find_disk(&self, r: &DiskRef) -> MetaResult<(ChunkserverRecord, DiskRecord)> {
        for cs in self.reader.list_chunkservers()? {
            if r.chunkserver.is_some_and(|id| id != cs.id) {
                continue;
            }
            if let Some(d) = cs.disks.iter().find(|d| d.disk_id == r.disk).cloned() {
                return Ok((cs, d));
            }
        }
        Err(ApiError::new(ErrorCode::NotFound, format!("no disk {}", r.disk)).into())
    }

    /// Where the drain of a disk stands; names up to `list_objects` objects at risk.
    pub fn drain_status(
        &self,
        chunkserver: ChunkserverId,
        disk: &DiskId,
        list_objects: u32,
    ) -> MetaResult<DrainStatusResponse> {
        let records = self.reader.list_chunkservers()?;
        let view = HealthView::new(&records);
        let record = records
            .iter()
            .find(|c| c.id == chunkserver)
            .and_then(|c| c.disks.iter().find(|d| &d.disk_id == disk))
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no disk {disk}")))?;
        let mut s = DrainStatusResponse {
            chunkserver,
            disk: disk.clone(),
            path: record.path.clone(),
            admin: record.admin,
            state: record.state.as_str().to_string(),
            started_ms: (record.admin == DiskAdminState::Draining)
                .then_some(record.admin_since_ms)
                .flatten(),
            ..Default::default()
        };
        let mut at_risk: BTreeMap<ChunkId, u32> = BTreeMap::new();
        remaining_elsewhere(
            &self.reader,
            &view,
            chunkserver,
            disk,
            |id, e, elsewhere| {
                s.chunks += 1;
                s.bytes += e.length;
                if elsewhere >= e.want as usize {
                    s.chunks_safe += 1;
                } else {
                    s.chunks_left += 1;
                    s.bytes_left += e.length;
                    if elsewhere == 0 {
                        s.chunks_last_copy += 1;
                    }
                    at_risk.insert(id.clone(), elsewhere as u32);
                }
            },
        )?;
        let progress = self.durability.progress(self);
        s.rate_bytes_per_s = progress.rate_bytes_per_s;
        s.eta_s = (s.rate_bytes_per_s > 0.0 && s.bytes_left > 0)
            .then(|| (s.bytes_left as f64 / s.rate_bytes_per_s).ceil() as u64);
        s.safe_to_pull = s.chunks_left == 0;
        if list_objects > 0 && !at_risk.is_empty() {
            self.reader.for_each_object(|bucket, key, rec| {
                let worst = rec.chunks.iter().filter_map(|c| at_risk.get(&c.id)).min();
                if let Some(w) = worst {
                    s.at_risk.push(ObjectAtRisk {
                        bucket,
                        key,
                        replicas_left: *w,
                    });
                }
                s.at_risk.len() < list_objects as usize
            })?;
        }
        Ok(s)
    }
}

impl Serve<DrainDisk> for MetaNode {
    async fn serve(&self, req: DrainDisk) -> MetaResult<DrainStatusResponse> {
        self.linearizable().await?;
        let (cs, d) = self.find_disk(&req.disk)?;
        let admin = if req.undo {
            DiskAdminState::InService
        } else {
            DiskAdminState::Draining
        };
        tracing::info!(chunkserver = cs.id, disk = %d.disk_id, ?admin, reason = ?req.reason, "disk admin state");
        self.write(Command::SetDiskAdmin {
            chunkserver: cs.id,
            disk: d.disk_id.clone(),
            admin,
            at_ms: now_ms(),
        })
        .await?;
        self.durability.sweep_now.notify_one();
        self.drain_status(cs.id, &d.disk_id, 0)
    }
}

impl Serve<DrainStatus> for MetaNode {
    async fn serve(&self, req: DrainStatus) -> MetaResult<DrainStatusResponse> {
        self.linearizable().await?;
        let (cs, d) = self.find_disk(&req.disk)?;
        self.drain_status(cs.id, &d.disk_id, req.list_objects.min(1000))
    }
}

impl Serve<RemoveDisk> for MetaNode {
    async fn serve(&self, req: RemoveDisk) -> MetaResult<DrainStatusResponse> {
        self.linearizable().await?;
        let (cs, d) = self.find_disk(&req.disk)?;
        if d.admin == DiskAdminState::Removed {
            return self.drain_status(cs.id, &d.disk_id, 0);
        }
        let s = self.drain_status(cs.id, &d.disk_id, NAME_AT_MOST)?;
        let refuse = s.chunks_last_copy > 0 || (!s.safe_to_pull && !req.force);
        if refuse {
            let names: Vec<String> = s
                .at_risk
                .iter()
                .map(|o| format!("{}/{} ({} left)", o.bucket, o.key, o.replicas_left))
                .collect();
            let why = if s.chunks_last_copy > 0 {
                format!(
                    "{} chunks have their last healthy replica on disk {}: removing it would lose data, even with --force",
                    s.chunks_last_copy, d.disk_id
                )
            } else if d.admin == DiskAdminState::Draining {
                format!(
                    "{} of {} chunks on disk {} still lack their wanted healthy replicas elsewhere: the drain is not finished (trireme disk swap status {} --watch)",
                    s.chunks_left, s.chunks, d.disk_id, d.disk_id
                )
            } else {
                format!(
                    "{} of {} chunks on disk {} lack their wanted healthy replicas elsewhere: drain it first (trireme disk drain {}), or --force for a dead disk",
                    s.chunks_left, s.chunks, d.disk_id, d.disk_id
                )
            };
            return Err(ApiError::new(
                ErrorCode::PreconditionFailed,
                format!("{why}; objects at risk: {}", names.join(", ")),
            )
            .into());
        }
        tracing::warn!(chunkserver = cs.id, disk = %d.disk_id, force = req.force, reason = ?req.reason, "removing disk from service");
        self.write(Command::RemoveDisk {
            chunkserver: cs.id,
            disk: d.disk_id.clone(),
            force: req.force,
            at_ms: now_ms(),
        })
        .await?;
        self.durability.sweep_now.notify_one();
        self.drain_status(cs.id, &d.disk_id, 0)
    }
}

impl Serve<PlanDiskRemove> for MetaNode {
    async fn serve(&self, req: PlanDiskRemove) -> MetaResult<PlanResponse> {
        self.linearizable().await?;
        let (cs, d) = self.find_disk(&req.disk)?;
        let status = self.drain_status(cs.id, &d.disk_id, NAME_AT_MOST)?;
        // Room: healthy in-service disks of other chunkservers, as their heartbeats say.
        let (room, targets) = {
            let hb = lock(&self.heartbeats);
            let mut room = 0u64;
            let mut targets = 0usize;
            for s in hb
                .iter()
                .filter(|(id, s)| **id != cs.id && self.is_alive(s.last_seen))
                .map(|(_, s)| s)
            {
                let usable: u64 = s
                    .disks
                    .iter()
                    .filter(|x| x.state == DiskState::Healthy)
                    .map(|x| x.free_bytes.saturating_sub(MIN_FREE_BYTES))
                    .sum();
                if usable > 0 {
                    targets += 1;
                }
                room += usable;
            }
            (room, targets)
        };
        // A chunk can be placed if some chunkserver with room holds no replica of it.
        let mut unplaceable = 0u64;
        let view = HealthView::new(&self.reader.list_chunkservers()?);
        remaining_elsewhere(&self.reader, &view, cs.id, &d.disk_id, |_, e, elsewhere| {
            if elsewhere < e.want as usize {
                let holders = e.replicas.iter().filter(|r| r.chunkserver != cs.id).count();
                if targets <= holders {
                    unplaceable += 1;
                }
            }
        })?;
        let bandwidth =
            setting(&self.reader.worker_settings()?, "repair.bandwidth_mib").max(1) * 1024 * 1024;
        let estimated_s = status.bytes_left.div_ceil(bandwidth);
        let enough_room = room >= status.bytes_left;
        let verdict = if status.chunks_last_copy > 0 {
            format!(
                "{} chunks have their last healthy copy on this disk: it cannot be removed without losing data until they are repaired",
                status.chunks_last_copy
            )
        } else if status.safe_to_pull {
            "safe to remove now: every chunk on it has its wanted healthy replicas elsewhere"
                .to_string()
        } else if !enough_room {
            format!(
                "not enough room: {} MiB to copy, {} MiB free on eligible disks",
                status.bytes_left >> 20,
                room >> 20
            )
        } else if unplaceable > 0 {
            format!("{unplaceable} chunks have no eligible target (too few chunkservers with room)")
        } else {
            format!(
                "drain first: {} chunks ({:.1} MiB) to copy, about {} s at the current repair throttle",
                status.chunks_left,
                status.bytes_left as f64 / 1048576.0,
                estimated_s
            )
        };
        Ok(PlanResponse {
            status,
            room_bytes: room,
            enough_room,
            unplaceable_chunks: unplaceable,
            bandwidth_bytes_per_s: bandwidth,
            estimated_s,
            verdict,
        })
    }
}
