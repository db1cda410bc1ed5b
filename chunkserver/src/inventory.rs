//! The inventory worker ("inventory": garbage collection, HDFS block-report style): every
//! `inventory` interval it lists the chunk files of each disk in service with their ages
//! (never the quarantine), reports them to the meta leader
//! ([`trireme_api::inventory::ReportInventory`]) and deletes the replicas the leader names as
//! unreferenced and older than its grace period, unless the `gc.enabled` setting is 0. It
//! stops on shutdown.

use crate::shared::Shared;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use trireme_api::durability::WorkerState;
use trireme_api::inventory::{DiskInventory, InventoryEntry, ReportInventory};
use trireme_client::{MetaClient, Transport};

/// The setting that turns deletions off.
pub const GC_ENABLED: &str = "gc.enabled";

/// Runs until `stop` turns true (or its sender is dropped).
pub async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let config = &shared.config;
    let worker = &shared.workers.inventory;
    let transport = Transport::new(config.cluster.clone(), Duration::from_secs(60));
    let client = MetaClient::new(transport, config.meta.clone(), Duration::from_secs(30));
    let mut ticker = tokio::time::interval(config.inventory);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick fires at once; skip it so a starting cluster is not scanned immediately.
    ticker.tick().await;
    let mut collected = 0u64;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = ticker.tick() => {}
        }
        worker.set_state(WorkerState::Busy);
        let report = take_inventory(&shared).await;
        let listed: usize = report.disks.iter().map(|d| d.chunks.len()).sum();
        let result = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            r = client.call(&report) => r,
        };
        match result {
            Ok(resp) => {
                worker.done(1, 0);
                let gc = shared.control.borrow().setting(GC_ENABLED) != 0;
                let named = resp.delete.len();
                if !gc && named > 0 {
                    tracing::info!(named, "gc.enabled is 0: keeping unreferenced chunks");
                }
                let mut deleted = 0usize;
                for c in resp.delete.into_iter().filter(|_| gc) {
                    match shared.store.delete(&c.disk, &c.chunk).await {
                        Ok(()) => {
                            deleted += 1;
                            tracing::debug!(disk = %c.disk, chunk = %c.chunk, "collected unreferenced chunk");
                        }
                        Err(e) => {
                            tracing::warn!(disk = %c.disk, chunk = %c.chunk, error = %e, "cannot delete chunk");
                            worker.error(format!("delete chunk {}: {e}", c.chunk));
                        }
                    }
                }
                collected += deleted as u64;
                let kept = if gc { "" } else { " (gc disabled)" };
                worker.set_progress(format!(
                    "last report: {listed} chunks, {named} unreferenced, {deleted} deleted{kept}; {collected} collected in all"
                ));
            }
            Err(e) => {
                tracing::debug!(error = %e, "inventory report failed");
                worker.error(format!("inventory report: {e}"));
            }
        }
        worker.set_state(WorkerState::Idle);
    }
    tracing::debug!(collected, "inventory worker stopped");
}

async fn take_inventory(shared: &Shared) -> ReportInventory {
    let mut disks = Vec::new();
    for disk in shared
        .store
        .disks()
        .iter()
        .filter(|d| d.is_online())
        .cloned()
    {
        let listed = tokio::task::spawn_blocking({
            let disk = disk.clone();
            move || disk.list_chunks()
        })
        .await;
        match listed {
            Ok(Ok(chunks)) => disks.push(DiskInventory {
                disk: disk.id.clone(),
                chunks: chunks
                    .into_iter()
                    .map(|c| InventoryEntry {
                        chunk: c.chunk,
                        age_ms: c.age.as_millis() as u64,
                    })
                    .collect(),
            }),
            Ok(Err(e)) => {
                tracing::warn!(disk = %disk.id, error = %e, "cannot list chunks");
                shared
                    .workers
                    .inventory
                    .error(format!("list disk {}: {e}", disk.id));
            }
            Err(e) => tracing::warn!(error = %e, "inventory listing panicked"),
        }
    }
    ReportInventory {
        chunkserver: shared.config.id,
        disks,
    }
}
