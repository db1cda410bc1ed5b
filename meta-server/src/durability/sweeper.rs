//! The "ledger" worker: on the leader, sweeps the chunk index every `ledger_sweep_ms` (and at
//! once when a state change or a drained repair queue asks for it), publishes the ledger and
//! hands the under-replicated chunks to the repair worker.

use super::fill;
use super::ledger::sweep;
use super::view::HealthView;
use crate::node::{now_ms, MetaNode};
use crate::types::Command;
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
    let (result, fills) = tokio::task::spawn_blocking(move || {
        let records = n.reader.list_chunkservers()?;
        let view = HealthView::new(&records);
        let result = sweep(&n.reader, &view, started_ms)?;
        let fills = fill::plan(&n.reader, &records, &view)?;
        Ok::<_, crate::store::StoreError>((result, fills))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let d = &node.durability;
    let chunks = result.ledger.total.total();
    let under = result.ledger.total.under_replicated;
    let finished = d.with(node, |g| {
        g.sweep_started = Some(started);
        g.ledger = Some(result.ledger);
        let inflight = g.inflight.clone();
        g.queue = result
            .queue
            .into_iter()
            .chain(fills.moves)
            .filter(|i| !inflight.contains(&i.chunk))
            .collect();
        // A refill is over at its target, or when nothing more can move (no repairs
        // pending, nothing in flight, no move planned).
        let done: Vec<_> = fills
            .fills
            .iter()
            .filter(|f| {
                f.bytes >= f.target_bytes || (f.planned == 0 && under == 0 && g.inflight.is_empty())
            })
            .map(|f| (f.chunkserver, f.disk.clone()))
            .collect();
        g.fills = fills.fills;
        done
    });
    for (chunkserver, disk) in finished {
        tracing::info!(chunkserver, %disk, "refill of the new disk finished");
        let cmd = Command::FinishFill {
            chunkserver,
            disk,
            at_ms: now_ms(),
        };
        node.write(cmd).await.map_err(|e| e.to_string())?;
    }
    d.worker(node, NAME, |w| {
        w.items += chunks;
        w.progress = Some(format!("{chunks} chunks in the last sweep"));
    });
    d.repair_wake.notify_one();
    Ok(())
}
