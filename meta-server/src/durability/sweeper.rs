//! The "ledger" worker: on the leader, sweeps the chunk index every `ledger_sweep_ms` (and at
//! once when a state change or a drained repair queue asks for it), publishes the ledger and
//! hands the under-replicated chunks to the repair worker.

use super::ledger::sweep;
use super::view::HealthView;
use crate::node::{now_ms, MetaNode};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trireme_api::durability::WorkerState;

const NAME: &str = "ledger";

pub async fn run(node: Arc<MetaNode>) {
    let d = &node.durability;
    loop {
        let interval = node.config.ledger_sweep;
        if !node.is_leader() {
            d.set_worker_state(&node, NAME, WorkerState::Idle);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = d.sweep_now.notified() => {}
            }
            continue;
        }
        d.set_worker_state(&node, NAME, WorkerState::Busy);
        if let Err(e) = sweep_once(&node).await {
            d.worker_error(&node, NAME, e);
        }
        d.set_worker_state(&node, NAME, WorkerState::Idle);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = d.sweep_now.notified() => {}
        }
    }
}

/// One sweep, published into the leader's state. Runs on the blocking pool.
pub async fn sweep_once(node: &Arc<MetaNode>) -> Result<(), String> {
    let started = Instant::now();
    let started_ms = now_ms();
    let n = node.clone();
    let result = tokio::task::spawn_blocking(move || {
        let view = HealthView::new(&n.reader.list_chunkservers()?);
        sweep(&n.reader, &view, started_ms)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let d = &node.durability;
    let chunks = result.ledger.total.total();
    d.with(node, |g| {
        g.sweep_started = Some(started);
        g.ledger = Some(result.ledger);
        let inflight = g.inflight.clone();
        g.queue = result
            .queue
            .into_iter()
            .filter(|i| !inflight.contains(&i.chunk))
            .collect();
    });
    d.worker(node, NAME, |w| {
        w.items += chunks;
        w.progress = Some(format!("{chunks} chunks in the last sweep"));
    });
    d.repair_wake.notify_one();
    Ok(())
}
