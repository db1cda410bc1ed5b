//! The durability engine's RPCs: bad-replica reports, the ledger and repair status, lost
//! objects, workers and their settings, scrub control.

use super::Serve;
use crate::durability::view::HealthView;
use crate::error::MetaResult;
use crate::node::{lock, MetaNode};
use crate::types::Command;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use trireme_api::chunk::VerifyChunk;
use trireme_api::durability::*;
use trireme_api::ids::ChunkId;
use trireme_api::meta::{BadReplicaKind, Empty, ReportBadReplica};
use trireme_api::ApiError;
use trireme_client::Transport;

impl Serve<ReportBadReplica> for MetaNode {
    async fn serve(&self, req: ReportBadReplica) -> MetaResult<Empty> {
        self.require_leader()?;
        tracing::warn!(
            chunk = %req.chunk,
            chunkserver = req.replica.chunkserver,
            disk = %req.replica.disk,
            kind = ?req.kind,
            reason = %req.reason,
            "bad replica reported"
        );
        let listed = self
            .reader
            .get_chunk(&req.chunk)?
            .is_some_and(|e| e.replicas.contains(&req.replica));
        if !listed {
            return Ok(Empty {});
        }
        let confirmed = match req.kind {
            BadReplicaKind::Corrupt | BadReplicaKind::Missing => true,
            // The disk's health check decides about I/O errors (a failed disk's replicas stop
            // counting); one error on a working disk is not a lost replica.
            BadReplicaKind::IoError => false,
            BadReplicaKind::Suspect => self.verify_replica(&req).await,
        };
        if confirmed {
            self.write(Command::DropReplica {
                chunk: req.chunk.clone(),
                replica: req.replica.clone(),
                reason: format!("{:?}: {}", req.kind, req.reason),
            })
            .await?;
            self.durability.sweep_now.notify_one();
        }
        Ok(Empty {})
    }
}

impl MetaNode {
    /// Asks the holder to verify a replica a reader distrusted; true if it is bad (the holder
    /// quarantined it) or gone.
    async fn verify_replica(&self, req: &ReportBadReplica) -> bool {
        let addr = lock(&self.heartbeats)
            .get(&req.replica.chunkserver)
            .map(|s| s.addr.clone());
        let Some(addr) = addr else {
            return false;
        };
        let blake3 = self
            .reader
            .get_chunk(&req.chunk)
            .ok()
            .flatten()
            .map(|e| e.blake3);
        let transport = Transport::new(self.config.cluster.clone(), Duration::from_secs(60));
        let verify = VerifyChunk {
            disk: req.replica.disk.clone(),
            chunk: req.chunk.clone(),
            blake3,
        };
        match transport.call(&addr, &verify).await {
            Ok(r) => !r.ok,
            Err(e) => {
                tracing::info!(error = %e, "could not verify a suspect replica");
                false
            }
        }
    }
}

impl Serve<RepairStatus> for MetaNode {
    async fn serve(&self, _req: RepairStatus) -> MetaResult<RepairStatusResponse> {
        self.require_leader()?;
        let d = &self.durability;
        // One lock at a time: each call below takes the state's lock itself.
        let ledger = d.with(self, |g| g.ledger.clone());
        let repair = d.progress(self);
        let complete = d.complete(self);
        Ok(RepairStatusResponse {
            ledger,
            repair,
            complete,
        })
    }
}

impl Serve<ListLost> for MetaNode {
    async fn serve(&self, req: ListLost) -> MetaResult<ListLostResponse> {
        self.linearizable().await?;
        if req.limit == 0 || req.limit > 10_000 {
            return Err(ApiError::invalid("limit must be 1..=10000").into());
        }
        let view = HealthView::new(&self.reader.list_chunkservers()?);
        let mut lost: BTreeMap<ChunkId, bool> = BTreeMap::new();
        self.reader.for_each_chunk(|id, e| {
            if view.healthy_count(&e.replicas) == 0 {
                lost.insert(id, !e.replicas.is_empty());
            }
        })?;
        let mut out = ListLostResponse {
            lost_chunks: lost.len() as u64,
            ..Default::default()
        };
        if lost.is_empty() {
            return Ok(out);
        }
        self.reader.for_each_object(|bucket, key, record| {
            let chunks: Vec<ChunkId> = record
                .chunks
                .iter()
                .filter(|c| lost.contains_key(&c.id))
                .map(|c| c.id.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if chunks.is_empty() {
                return true;
            }
            if out.objects.len() >= req.limit as usize {
                out.truncated = true;
                return false;
            }
            out.objects.push(LostObject {
                bucket,
                key,
                size: record.size,
                recoverable: chunks.iter().all(|c| lost.get(c) == Some(&true)),
                chunks,
            });
            true
        })?;
        Ok(out)
    }
}

impl MetaNode {
    fn all_workers(&self) -> MetaResult<ListWorkersResponse> {
        let mut workers: Vec<WorkerStatus> = self
            .durability
            .with(self, |g| g.workers.values().cloned().collect::<Vec<_>>())
            .into_iter()
            .collect();
        {
            let hb = lock(&self.heartbeats);
            let mut ids: Vec<&u64> = hb.keys().collect();
            ids.sort();
            for id in ids {
                let s = &hb[id];
                if self.is_alive(s.last_seen) {
                    workers.extend(s.workers.iter().cloned());
                }
            }
        }
        let stored = self.reader.worker_settings()?;
        let settings = WORKER_SETTINGS
            .iter()
            .map(|s| (s.key.to_string(), setting(&stored, s.key).to_string()))
            .collect();
        Ok(ListWorkersResponse { workers, settings })
    }

    fn scrub_status(&self) -> MetaResult<ScrubStatusResponse> {
        let control = self.reader.scrub_control()?;
        let hb = lock(&self.heartbeats);
        let mut chunkservers: Vec<ChunkserverScrub> = self
            .reader
            .list_chunkservers()?
            .into_iter()
            .map(|r| {
                let s = hb.get(&r.id);
                ChunkserverScrub {
                    chunkserver: r.id,
                    alive: s.is_some_and(|s| self.is_alive(s.last_seen)),
                    progress: s.and_then(|s| s.scrub.clone()),
                }
            })
            .collect();
        chunkservers.sort_by_key(|c| c.chunkserver);
        Ok(ScrubStatusResponse {
            control,
            chunkservers,
        })
    }
}

impl Serve<ListWorkers> for MetaNode {
    async fn serve(&self, _req: ListWorkers) -> MetaResult<ListWorkersResponse> {
        self.require_leader()?;
        self.all_workers()
    }
}

impl Serve<SetWorkerSetting> for MetaNode {
    async fn serve(&self, req: SetWorkerSetting) -> MetaResult<ListWorkersResponse> {
        self.require_leader()?;
        if setting_default(&req.key).is_none() {
            let known: Vec<&str> = WORKER_SETTINGS.iter().map(|s| s.key).collect();
            return Err(ApiError::invalid(format!(
                "unknown setting {:?}; known: {}",
                req.key,
                known.join(", ")
            ))
            .into());
        }
        let value: u64 = req.value.trim().parse().map_err(|_| {
            ApiError::invalid(format!(
                "{} takes an unsigned integer, not {:?}",
                req.key, req.value
            ))
        })?;
        self.write(Command::SetWorkerSetting {
            key: req.key,
            value: value.to_string(),
        })
        .await?;
        self.durability.repair_wake.notify_one();
        self.all_workers()
    }
}

impl Serve<ControlScrub> for MetaNode {
    async fn serve(&self, req: ControlScrub) -> MetaResult<ScrubStatusResponse> {
        self.linearizable().await?;
        let mut control = self.reader.scrub_control()?;
        match req.action {
            ScrubAction::Start => {
                control.running = true;
                control.epoch += 1;
            }
            ScrubAction::Pause => control.running = false,
            ScrubAction::Resume => control.running = true,
        }
        self.write(Command::SetScrubControl { control }).await?;
        self.scrub_status()
    }
}

impl Serve<ScrubStatus> for MetaNode {
    async fn serve(&self, _req: ScrubStatus) -> MetaResult<ScrubStatusResponse> {
        self.require_leader()?;
        self.scrub_status()
    }
}
