//! The disk swap after the drain: verifying the other copies before the pull
//! (`VerifyDiskCopies`) and bringing a new disk in (`AdmitDisk`): the leader has the
//! chunkserver format the blank disk in the slot, records it in service through Raft, and
//! gives it a refill target (its share of the data by capacity), which the repair worker then
//! works towards with moves (`durability/fill.rs`).

use super::Serve;
use crate::durability::view::HealthView;
use crate::error::MetaResult;
use crate::node::{lock, now_ms, MetaNode};
use crate::types::{Command, FillRecord};
use futures::StreamExt;
use std::time::Duration;
use trireme_api::chunk::VerifyChunk;
use trireme_api::ids::ChunkId;
use trireme_api::object::Replica;
use trireme_api::ops::DiskAdminState;
use trireme_api::swap::*;
use trireme_api::{ApiError, ErrorCode};
use trireme_client::Transport;

/// Replicas verified at once by one `VerifyDiskCopies` page.
const VERIFY_PARALLEL: usize = 8;

impl Serve<AdmitDisk> for MetaNode {
    async fn serve(&self, req: AdmitDisk) -> MetaResult<AdmitDiskResponse> {
        self.linearizable().await?;
        let invalid = |m: String| ApiError::new(ErrorCode::InvalidArgument, m);
        let record = self
            .reader
            .list_chunkservers()?
            .into_iter()
            .find(|c| c.id == req.chunkserver)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NotFound,
                    format!("no chunkserver {}", req.chunkserver),
                )
            })?;
        let (addr, slots) = lock(&self.heartbeats)
            .get(&record.id)
            .filter(|s| self.is_alive(s.last_seen))
            .map(|s| (s.addr.clone(), s.slots.clone()))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unavailable,
                    format!("chunkserver {} is not reporting", record.id),
                )
            })?;
        if !slots.iter().any(|s| s.path == req.path) {
            let known: Vec<&str> = slots.iter().map(|s| s.path.as_str()).collect();
            return Err(invalid(format!(
                "chunkserver {} has no disk slot {} (its slots: {})",
                record.id,
                req.path,
                known.join(", ")
            ))
            .into());
        }
        if let Some(old) = &req.replaces {
            let removed = record
                .disks
                .iter()
                .any(|d| &d.disk_id == old && d.admin == DiskAdminState::Removed);
            if !removed {
                return Err(invalid(format!(
                    "disk {old} of chunkserver {} is not removed from service yet: drain and remove it first (trireme disk swap {old})",
                    record.id
                ))
                .into());
            }
        }
        let removed: Vec<_> = record
            .disks
            .iter()
            .filter(|d| d.admin == DiskAdminState::Removed)
            .map(|d| d.disk_id.clone())
            .collect();
        let transport = Transport::new(self.config.cluster.clone(), Duration::from_secs(60));
        let format = FormatDisk {
            path: req.path.clone(),
            removed,
        };
        let formatted = transport.call(&addr, &format).await.map_err(|e| match e {
            trireme_client::ClientError::Api(api) => api,
            e => ApiError::new(
                ErrorCode::Unavailable,
                format!(
                    "asking chunkserver {} to format {}: {e}",
                    record.id, req.path
                ),
            ),
        })?;
        let target_bytes = if req.fill {
            self.fill_target(formatted.report.capacity_bytes).await?
        } else {
            0
        };
        let fill = req.fill.then(|| FillRecord {
            target_bytes,
            started_ms: now_ms(),
            finished_ms: None,
        });
        tracing::info!(
            chunkserver = record.id,
            disk = %formatted.disk,
            path = %req.path,
            replaces = ?req.replaces,
            target_bytes,
            "new disk formatted and in service"
        );
        self.write(Command::AdmitDisk {
            chunkserver: record.id,
            disk: formatted.disk.clone(),
            path: req.path.clone(),
            replaces: req.replaces.clone(),
            fill,
        })
        .await?;
        self.durability.sweep_now.notify_one();
        Ok(AdmitDiskResponse {
            disk: formatted.disk,
            chunkserver: record.id,
            path: req.path,
            fill_target_bytes: target_bytes,
        })
    }
}

impl MetaNode {
    /// A new disk's share of the replica bytes on the disks in service, by capacity (equal
    /// shares when capacities are unknown).
    async fn fill_target(&self, capacity: u64) -> MetaResult<u64> {
        let records = self.reader.list_chunkservers()?;
        let view = HealthView::new(&records);
        let in_service: Vec<(u64, trireme_api::ids::DiskId)> = records
            .iter()
            .flat_map(|r| r.disks.iter().map(move |d| (r.id, d)))
            .filter(|(_, d)| {
                d.admin == DiskAdminState::InService && d.state.holds_healthy_replicas()
            })
            .map(|(cs, d)| (cs, d.disk_id.clone()))
            .collect();
        let capacities: Vec<u64> = {
            let hb = lock(&self.heartbeats);
            in_service
                .iter()
                .map(|(cs, d)| {
                    hb.get(cs)
                        .and_then(|s| s.disks.iter().find(|x| &x.disk_id == d))
                        .map(|x| x.capacity_bytes)
                        .unwrap_or(0)
                })
                .collect()
        };
        let reader = self.reader.clone();
        let total = tokio::task::spawn_blocking(move || {
            let mut total = 0u64;
            reader.for_each_chunk(|_, e| {
                let copies = e.replicas.iter().filter(|r| view.is_healthy(r)).count() as u64;
                total += e.length * copies;
            })?;
            Ok::<_, crate::store::StoreError>(total)
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
        let all_known = capacity > 0 && capacities.iter().all(|c| *c > 0);
        let share = if all_known {
            let sum: u128 = capacities.iter().map(|c| *c as u128).sum::<u128>() + capacity as u128;
            (total as u128 * capacity as u128 / sum) as u64
        } else {
            total / (in_service.len() as u64 + 1)
        };
        Ok(share)
    }
}

impl Serve<VerifyDiskCopies> for MetaNode {
    async fn serve(&self, req: VerifyDiskCopies) -> MetaResult<VerifyDiskCopiesResponse> {
        self.linearizable().await?;
        let (cs, d) = self.find_disk(&req.disk)?;
        let limit = match req.limit {
            0 => 64,
            n => n.min(1024),
        } as usize;
        let all = self.reader.chunks_on_disk(cs.id, &d.disk_id)?;
        let mut out = VerifyDiskCopiesResponse {
            total_chunks: all.len() as u64,
            ..Default::default()
        };
        let page: Vec<ChunkId> = match &req.after {
            Some(after) => all
                .range::<ChunkId, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
                .take(limit)
                .cloned()
                .collect(),
            None => all.iter().take(limit).cloned().collect(),
        };
        out.chunks = page.len() as u64;
        out.next = (page.len() == limit)
            .then(|| page.last().cloned())
            .flatten()
            .filter(|last| {
                all.range::<ChunkId, _>((
                    std::ops::Bound::Excluded(last),
                    std::ops::Bound::Unbounded,
                ))
                .next()
                .is_some()
            });
        let view = HealthView::new(&self.reader.list_chunkservers()?);
        let here = Replica {
            chunkserver: cs.id,
            disk: d.disk_id.clone(),
        };
        let mut checks = Vec::new();
        for id in &page {
            let Some(e) = self.reader.get_chunk(id)? else {
                continue;
            };
            for r in e
                .replicas
                .iter()
                .filter(|r| **r != here && view.is_healthy(r))
            {
                let addr = lock(&self.heartbeats)
                    .get(&r.chunkserver)
                    .map(|s| s.addr.clone());
                checks.push((
                    addr,
                    VerifyChunk {
                        disk: r.disk.clone(),
                        chunk: id.clone(),
                        blake3: Some(e.blake3.clone()),
                    },
                ));
            }
        }
        let transport = Transport::new(self.config.cluster.clone(), Duration::from_secs(120));
        let results: Vec<Option<bool>> = futures::stream::iter(checks)
            .map(|(addr, v)| {
                let transport = transport.clone();
                async move {
                    let addr = addr?;
                    transport.call(&addr, &v).await.ok().map(|r| r.ok)
                }
            })
            .buffer_unordered(VERIFY_PARALLEL)
            .collect()
            .await;
        for r in results {
            match r {
                Some(true) => out.good += 1,
                Some(false) => out.bad += 1,
                None => out.unreachable += 1,
            }
        }
        if out.bad > 0 {
            tracing::warn!(disk = %d.disk_id, bad = out.bad, "verifying the copies elsewhere found bad replicas; they are being repaired");
            self.durability.sweep_now.notify_one();
        }
        Ok(out)
    }
}
