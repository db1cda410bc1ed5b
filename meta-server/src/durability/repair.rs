//! The "repair" worker: on the leader, takes under-replicated chunks from the last sweep,
//! fewest healthy replicas first, and has a new target pull each from a healthy source
//! (the target verifies BLAKE3 and fsyncs before answering); then commits the new location
//! through Raft, dropping unhealthy replicas once enough healthy ones exist.
//!
//! Throttled by `repair.concurrency` (copies in flight; 0 pauses) and `repair.bandwidth_mib`
//! (a pacing clock: each copy may start only when the bytes before it have had their time).

use super::fill::FillMove;
use super::view::{HealthView, Rank};
use crate::node::{lock, MetaNode};
use crate::service::placement::{place, Candidate};
use crate::types::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trireme_api::chunk::{PullChunk, PullSource};
use trireme_api::durability::{setting, WorkerState};
use trireme_api::ids::ChunkId;
use trireme_api::meta::{ChunkserverState, DiskState};
use trireme_api::object::Replica;
use trireme_client::Transport;

const NAME: &str = "repair";

/// One planned copy.
struct Copy {
    chunk: ChunkId,
    target: Replica,
    target_addr: String,
    request: PullChunk,
    drop: Vec<Replica>,
}

pub async fn run(node: Arc<MetaNode>) {
    let transport = Transport::new(node.config.cluster.clone(), Duration::from_secs(120));
    let mut pace = Instant::now();
    loop {
        let d = &node.durability;
        if !node.is_leader() {
            d.set_worker_state(&node, NAME, WorkerState::Idle);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = d.repair_wake.notified() => {}
            }
            continue;
        }
        let settings = node.reader.worker_settings().unwrap_or_default();
        let concurrency = setting(&settings, "repair.concurrency") as usize;
        let bandwidth = setting(&settings, "repair.bandwidth_mib").max(1) * 1024 * 1024;
        let next = d.with(&node, |g| {
            if g.queue.is_empty() {
                None
            } else if concurrency == 0 || g.inflight.len() >= concurrency {
                Some(None)
            } else {
                let item = g.queue.pop_front();
                if let Some(i) = &item {
                    g.inflight.insert(i.chunk.clone());
                }
                Some(item)
            }
        });
        let item = match next {
            None => {
                d.set_worker_state(&node, NAME, WorkerState::Idle);
                wait(&node).await;
                continue;
            }
            Some(None) => {
                let state = if concurrency == 0 {
                    WorkerState::Paused
                } else {
                    WorkerState::Throttled
                };
                d.set_worker_state(&node, NAME, state);
                wait(&node).await;
                continue;
            }
            Some(Some(item)) => item,
        };
        let planned = match &item.fill {
            Some(m) => plan_move(&node, &item.chunk, m),
            None => plan(&node, &item.chunk),
        };
        let copy = match planned {
            Ok(Some(c)) => c,
            Ok(None) => {
                finish(&node, &item.chunk, true);
                continue;
            }
            Err(e) => {
                d.worker_error(&node, NAME, format!("chunk {}: {e}", item.chunk));
                d.with(&node, |g| g.failed_copies += 1);
                finish(&node, &item.chunk, false);
                continue;
            }
        };
        // Bandwidth: each copy starts when the copies before it have had their share.
        let now = Instant::now();
        if pace > now {
            d.set_worker_state(&node, NAME, WorkerState::Throttled);
            tokio::time::sleep(pace - now).await;
        }
        pace =
            pace.max(now) + Duration::from_secs_f64(copy.request.length as f64 / bandwidth as f64);
        d.set_worker_state(&node, NAME, WorkerState::Busy);
        let node2 = node.clone();
        let transport = transport.clone();
        tokio::spawn(async move {
            execute(&node2, &transport, copy).await;
        });
    }
}

async fn wait(node: &MetaNode) {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        _ = node.durability.repair_wake.notified() => {}
    }
}

/// A copy is over. When the queue drains after a success, a sweep proves the result (after a
/// failure, the periodic sweep retries: no tight loop on a chunk that cannot be placed).
fn finish(node: &MetaNode, chunk: &ChunkId, ok: bool) {
    let d = &node.durability;
    let drained = d.with(node, |g| {
        g.inflight.remove(chunk);
        g.queue.is_empty() && g.inflight.is_empty()
    });
    d.repair_wake.notify_one();
    if drained && ok {
        // Prove it: a sweep after the last copy decides whether repair is complete.
        d.sweep_now.notify_one();
    }
}

/// Chooses a target and sources for one chunk, from the current state. `None`: nothing to
/// do (repaired meanwhile, no longer referenced, or no healthy source left).
fn plan(node: &MetaNode, chunk: &ChunkId) -> Result<Option<Copy>, String> {
    let Some(entry) = node.reader.get_chunk(chunk).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let records = node.reader.list_chunkservers().map_err(|e| e.to_string())?;
    let view = HealthView::new(&records);
    let healthy = view.healthy_count(&entry.replicas);
    // Replicas on draining disks are healthy copies (and sources) but must be replaced.
    let staying = entry
        .replicas
        .iter()
        .filter(|r| view.is_healthy(r) && !view.is_draining(r))
        .count();
    if staying >= entry.want as usize || healthy == 0 {
        return Ok(None);
    }
    let mut sources: Vec<Replica> = entry
        .replicas
        .iter()
        .filter(|r| view.rank(r) != Rank::Unhealthy)
        .cloned()
        .collect();
    view.order(&mut sources);
    // Never two lasting healthy replicas on one chunkserver; a chunkserver holding only an
    // unhealthy replica (a failed disk) or one on a draining disk may take the copy on
    // another disk.
    let exclude: Vec<u64> = sources
        .iter()
        .filter(|r| !view.is_draining(r))
        .map(|r| r.chunkserver)
        .collect();
    let candidates: Vec<Candidate> = {
        let hb = lock(&node.heartbeats);
        records
            .iter()
            .filter(|r| r.state == ChunkserverState::Up)
            .filter_map(|r| {
                let s = hb.get(&r.id).filter(|s| node.is_alive(s.last_seen))?;
                Some(Candidate {
                    id: r.id,
                    addr: s.addr.clone(),
                    disks: s
                        .disks
                        .iter()
                        .filter(|d| {
                            !entry
                                .replicas
                                .iter()
                                .any(|x| x.chunkserver == r.id && x.disk == d.disk_id)
                        })
                        .cloned()
                        .collect(),
                })
            })
            .collect()
    };
    let mut rng = rand::thread_rng();
    let target = place(&candidates, 1, &exclude, &mut rng)
        .and_then(|mut t| t.pop())
        .ok_or_else(|| {
            "no eligible target (every chunkserver with room already holds it)".to_string()
        })?;
    let addr_of = |id: u64| -> Option<String> {
        let hb = lock(&node.heartbeats);
        hb.get(&id)
            .map(|s| s.addr.clone())
            .or_else(|| records.iter().find(|r| r.id == id).map(|r| r.addr.clone()))
    };
    let pull_sources: Vec<PullSource> = sources
        .iter()
        .filter_map(|r| {
            Some(PullSource {
                addr: addr_of(r.chunkserver)?,
                disk: r.disk.clone(),
            })
        })
        .collect();
    // Once the copy lands, unhealthy replicas go if enough healthy ones exist; one on the
    // target's chunkserver goes in any case (one replica per chunkserver).
    let enough = staying + 1 >= entry.want as usize;
    let drop: Vec<Replica> = entry
        .replicas
        .iter()
        .filter(|r| view.rank(r) == Rank::Unhealthy)
        .filter(|r| enough || r.chunkserver == target.replica.chunkserver)
        .cloned()
        .collect();
    Ok(Some(Copy {
        chunk: chunk.clone(),
        request: PullChunk {
            disk: target.replica.disk.clone(),
            chunk: chunk.clone(),
            length: entry.length,
            blake3: entry.blake3.clone(),
            sources: pull_sources,
        },
        target: target.replica,
        target_addr: target.addr,
        drop,
    }))
}

/// A refill move: copy onto the new disk, then drop the source in the same command. `None`
/// when the chunk changed since the sweep planned it (the next sweep plans again).
fn plan_move(node: &MetaNode, chunk: &ChunkId, m: &FillMove) -> Result<Option<Copy>, String> {
    let Some(entry) = node.reader.get_chunk(chunk).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let records = node.reader.list_chunkservers().map_err(|e| e.to_string())?;
    let view = HealthView::new(&records);
    let all_healthy = entry
        .replicas
        .iter()
        .all(|r| view.is_healthy(r) && !view.is_draining(r));
    let crowded = entry
        .replicas
        .iter()
        .any(|r| r.chunkserver == m.target.chunkserver && *r != m.source);
    if !entry.replicas.contains(&m.source)
        || entry.replicas.contains(&m.target)
        || entry.replicas.len() < entry.want as usize
        || !all_healthy
        || crowded
    {
        return Ok(None);
    }
    let target_addr = {
        let hb = lock(&node.heartbeats);
        let s = hb
            .get(&m.target.chunkserver)
            .filter(|s| node.is_alive(s.last_seen))
            .ok_or_else(|| format!("chunkserver {} is not alive", m.target.chunkserver))?;
        let online = s
            .disks
            .iter()
            .any(|d| d.disk_id == m.target.disk && d.state == DiskState::Healthy);
        if !online {
            return Err(format!("disk {} is not healthy", m.target.disk));
        }
        s.addr.clone()
    };
    let mut sources = entry.replicas.clone();
    view.order(&mut sources);
    let hb = lock(&node.heartbeats);
    let pull_sources = sources
        .iter()
        .filter_map(|r| {
            let addr = hb.get(&r.chunkserver).map(|s| s.addr.clone()).or_else(|| {
                records
                    .iter()
                    .find(|x| x.id == r.chunkserver)
                    .map(|x| x.addr.clone())
            })?;
            Some(PullSource {
                addr,
                disk: r.disk.clone(),
            })
        })
        .collect();
    Ok(Some(Copy {
        chunk: chunk.clone(),
        request: PullChunk {
            disk: m.target.disk.clone(),
            chunk: chunk.clone(),
            length: entry.length,
            blake3: entry.blake3.clone(),
            sources: pull_sources,
        },
        target: m.target.clone(),
        target_addr,
        drop: vec![m.source.clone()],
    }))
}

async fn execute(node: &Arc<MetaNode>, transport: &Transport, copy: Copy) {
    let d = &node.durability;
    let length = copy.request.length;
    let result = match transport.call(&copy.target_addr, &copy.request).await {
        Ok(_) => node
            .write(Command::AddReplica {
                chunk: copy.chunk.clone(),
                replica: copy.target.clone(),
                drop: copy.drop.clone(),
            })
            .await
            .map_err(|e| format!("recording the copy: {e}")),
        Err(e) => Err(format!(
            "copy to chunkserver {}: {e}",
            copy.target.chunkserver
        )),
    };
    let ok = result.is_ok();
    match result {
        Ok(_) => {
            tracing::info!(
                chunk = %copy.chunk,
                target = copy.target.chunkserver,
                disk = %copy.target.disk,
                dropped = copy.drop.len(),
                "repaired chunk"
            );
            d.repaired(node, length);
            d.worker(node, NAME, |w| {
                w.items += 1;
                w.bytes += length;
            });
        }
        Err(e) => {
            d.with(node, |g| g.failed_copies += 1);
            d.worker_error(node, NAME, format!("chunk {}: {e}", copy.chunk));
        }
    }
    finish(node, &copy.chunk, ok);
}
