//! Chunkservers: heartbeats (soft liveness; registration, disk state changes and coming back
//! from `Dead` through Raft), listing and chunk placement.

use super::placement::{place_write, writable, Candidate};
use super::Serve;
use crate::durability::failslow;
use crate::error::MetaResult;
use crate::node::{lock, HeartbeatState, MetaNode};
use crate::types::{ChunkserverRecord, Command, DiskRecord};
use std::time::Instant;
use trireme_api::ids::ChunkId;
use trireme_api::meta::{
    AllocateChunks, AllocateChunksResponse, ChunkPlacement, ChunkserverInfo, ChunkserverState,
    DiskReport, DiskState, Heartbeat, HeartbeatResponse, ListChunkservers,
    ListChunkserversResponse,
};
use trireme_api::ops::DiskAdminState;
use trireme_api::{ApiError, ErrorCode};

/// The most chunks one AllocateChunks may ask for.
const MAX_ALLOCATE: u32 = 1024;

impl Serve<Heartbeat> for MetaNode {
    async fn serve(&self, req: Heartbeat) -> MetaResult<HeartbeatResponse> {
        self.require_leader()?;
        // A disk far slower than the other chunkservers' is suspect (fail-slow).
        let mut req = req;
        let peers: Vec<u64> = lock(&self.heartbeats)
            .iter()
            .filter(|(id, s)| **id != req.chunkserver && self.is_alive(s.last_seen))
            .flat_map(|(_, s)| s.disks.iter())
            .filter(|d| d.state.holds_healthy_replicas())
            .filter_map(|d| d.health.probe_latency_us)
            .collect();
        let median = failslow::median(peers);
        self.durability.with(self, |g| {
            failslow::judge(&mut g.slow_disks, req.chunkserver, &mut req.disks, median)
        });
        let known = self
            .reader
            .list_chunkservers()?
            .into_iter()
            .find(|c| c.id == req.chunkserver);
        // The operator's intent overrides: a draining disk takes no new replicas, a removed
        // one counts for nothing.
        for d in req.disks.iter_mut() {
            let admin = known
                .as_ref()
                .and_then(|k| k.disks.iter().find(|x| x.disk_id == d.disk_id))
                .map(|x| x.admin)
                .unwrap_or_default();
            d.state = match admin {
                DiskAdminState::Draining if d.state.holds_healthy_replicas() => DiskState::Draining,
                DiskAdminState::Removed => DiskState::Offline,
                _ => d.state,
            };
        }
        // A heartbeat proves the chunkserver up; its disks' states are as it reports them
        // (or as above). A change of either is a Raft command: it drives the ledger and
        // repair. Removed disks stay in the record (so a reinserted one is recognised).
        let mut disks: Vec<DiskRecord> = req
            .disks
            .iter()
            .map(|d| {
                let prev = known
                    .as_ref()
                    .and_then(|k| k.disks.iter().find(|x| x.disk_id == d.disk_id));
                DiskRecord {
                    disk_id: d.disk_id.clone(),
                    path: d.path.clone(),
                    state: d.state,
                    admin: prev.map(|p| p.admin).unwrap_or_default(),
                    admin_since_ms: prev.and_then(|p| p.admin_since_ms),
                    replaces: prev.and_then(|p| p.replaces.clone()),
                    fill: prev.and_then(|p| p.fill.clone()),
                }
            })
            .collect();
        if let Some(k) = &known {
            for gone in k
                .disks
                .iter()
                .filter(|x| x.admin == DiskAdminState::Removed)
            {
                if !disks.iter().any(|d| d.disk_id == gone.disk_id) {
                    disks.push(gone.clone());
                }
            }
        }
        let record = ChunkserverRecord {
            id: req.chunkserver,
            addr: req.addr.clone(),
            disks,
            state: ChunkserverState::Up,
        };
        let removed_disks: Vec<_> = record
            .disks
            .iter()
            .filter(|d| d.admin == DiskAdminState::Removed)
            .map(|d| d.disk_id.clone())
            .collect();
        lock(&self.heartbeats).insert(
            req.chunkserver,
            HeartbeatState {
                last_seen: Instant::now(),
                addr: req.addr,
                disks: req.disks,
                workers: req.workers,
                scrub: req.scrub,
                slots: req.slots,
            },
        );
        if known.as_ref() != Some(&record) {
            match &known {
                None => {
                    tracing::info!(chunkserver = record.id, addr = %record.addr, "registering chunkserver")
                }
                Some(k) => tracing::info!(
                    chunkserver = record.id,
                    was = ?k.state,
                    disks = ?record.disks.iter().map(|d| (d.disk_id.0.as_str(), d.state.as_str())).collect::<Vec<_>>(),
                    "chunkserver state changed"
                ),
            }
            self.write(Command::UpsertChunkserver {
                chunkserver: record,
            })
            .await?;
            self.durability.sweep_now.notify_one();
        }
        Ok(HeartbeatResponse {
            cluster_id: self.config.cluster.cluster_id.clone(),
            settings: self.reader.worker_settings()?,
            scrub: self.reader.scrub_control()?,
            removed_disks,
        })
    }
}

impl Serve<ListChunkservers> for MetaNode {
    async fn serve(&self, _req: ListChunkservers) -> MetaResult<ListChunkserversResponse> {
        self.require_leader()?;
        let records = self.reader.list_chunkservers()?;
        let hb = lock(&self.heartbeats).clone();
        let chunkservers = records
            .into_iter()
            .map(|r| {
                let state = hb.get(&r.id);
                ChunkserverInfo {
                    id: r.id,
                    addr: state.map(|s| s.addr.clone()).unwrap_or(r.addr.clone()),
                    alive: state.is_some_and(|s| self.is_alive(s.last_seen)),
                    last_heartbeat_ms_ago: state.map(|s| s.last_seen.elapsed().as_millis() as u64),
                    disks: state
                        .map(|s| s.disks.clone())
                        .unwrap_or_else(|| recorded_disks(&r)),
                    state: r.state,
                }
            })
            .collect();
        Ok(ListChunkserversResponse { chunkservers })
    }
}

impl Serve<AllocateChunks> for MetaNode {
    async fn serve(&self, req: AllocateChunks) -> MetaResult<AllocateChunksResponse> {
        self.require_leader()?;
        if req.count == 0 || req.count > MAX_ALLOCATE || req.replicas == 0 {
            return Err(ApiError::invalid(format!(
                "count must be 1..={MAX_ALLOCATE}, replicas >= 1"
            ))
            .into());
        }
        let dead: Vec<u64> = self
            .reader
            .list_chunkservers()?
            .into_iter()
            .filter(|r| r.state != ChunkserverState::Up)
            .map(|r| r.id)
            .collect();
        let candidates: Vec<Candidate> = lock(&self.heartbeats)
            .iter()
            .filter(|(id, s)| self.is_alive(s.last_seen) && !dead.contains(id))
            .map(|(id, s)| Candidate {
                id: *id,
                addr: s.addr.clone(),
                disks: s.disks.clone(),
            })
            .collect();
        let mut rng = rand::thread_rng();
        let mut chunks = Vec::with_capacity(req.count as usize);
        for _ in 0..req.count {
            let targets = place_write(&candidates, req.replicas as usize, &req.exclude, &mut rng)
                .ok_or_else(|| {
                    // A new leader learns chunkservers from their next heartbeats: until they have
                    // had time to arrive, say "retry" rather than "no capacity".
                    let code = if self.newly_elected() {
                        ErrorCode::Unavailable
                    } else {
                        ErrorCode::InsufficientCapacity
                    };
                    ApiError::new(
                        code,
                        format!(
                        "need {} chunkservers with a healthy (or suspect) disk with room: {} alive, {} of them with such a disk",
                        req.replicas,
                        candidates.len(),
                        writable(&candidates)
                    ),
                    )
                })?;
            let id = ChunkId::from_u128(rand::Rng::gen(&mut rng));
            chunks.push(ChunkPlacement { id, targets });
        }
        Ok(AllocateChunksResponse { chunks })
    }
}

/// Disks as Raft last recorded them (for a chunkserver this leader has not heard from).
fn recorded_disks(r: &ChunkserverRecord) -> Vec<DiskReport> {
    r.disks
        .iter()
        .map(|d| DiskReport {
            disk_id: d.disk_id.clone(),
            path: d.path.clone(),
            state: d.state,
            capacity_bytes: 0,
            free_bytes: 0,
            used_bytes: 0,
            chunk_count: 0,
            health: Default::default(),
        })
        .collect()
}
