//! The "liveness" worker: on the leader, commits `Dead` for a chunkserver whose heartbeats
//! stopped for `chunkserver_timeout` (its replicas stop counting as healthy and repair
//! starts). A heartbeat from it commits `Up` again (`service::chunkserver`). A new leader
//! waits one timeout before judging, so heartbeats have time to find it.

use crate::node::{lock, MetaNode};
use crate::types::Command;
use std::sync::Arc;
use std::time::Duration;
use trireme_api::durability::WorkerState;
use trireme_api::meta::ChunkserverState;

const NAME: &str = "liveness";

pub async fn run(node: Arc<MetaNode>) {
    let timeout = node.config.chunkserver_timeout;
    let tick = (timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        tokio::time::sleep(tick).await;
        let d = &node.durability;
        let judging = lock(&node.leader_since).is_some_and(|s| s.elapsed() >= timeout);
        if !node.is_leader() || !judging {
            d.set_worker_state(&node, NAME, WorkerState::Idle);
            continue;
        }
        let records = match node.reader.list_chunkservers() {
            Ok(r) => r,
            Err(e) => {
                d.worker_error(&node, NAME, e.to_string());
                continue;
            }
        };
        let silent: Vec<u64> = {
            let hb = lock(&node.heartbeats);
            records
                .iter()
                .filter(|r| r.state == ChunkserverState::Up)
                .filter(|r| hb.get(&r.id).is_none_or(|s| !node.is_alive(s.last_seen)))
                .map(|r| r.id)
                .collect()
        };
        d.worker(&node, NAME, |w| {
            w.items += 1;
            w.state = WorkerState::Idle;
            w.progress = Some(format!(
                "{} chunkservers, {} dead",
                records.len(),
                records
                    .iter()
                    .filter(|r| r.state == ChunkserverState::Dead)
                    .count()
                    + silent.len()
            ));
        });
        for id in silent {
            tracing::warn!(
                chunkserver = id,
                ?timeout,
                "no heartbeat: marking chunkserver dead"
            );
            let cmd = Command::SetChunkserverState {
                id,
                state: ChunkserverState::Dead,
            };
            match node.write(cmd).await {
                Ok(_) => d.sweep_now.notify_one(),
                Err(e) => d.worker_error(&node, NAME, format!("marking {id} dead: {e}")),
            }
        }
    }
}
