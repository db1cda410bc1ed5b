//! The inventory worker (garbage collection, HDFS block-report style): every `inventory`
//! interval it lists the chunk files of each online disk with their ages, reports them to the
//! meta leader ([`trireme_api::inventory::ReportInventory`]) and deletes the replicas the
//! leader names as unreferenced and older than its grace period. It stops on shutdown.

use crate::config::ChunkserverConfig;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use trireme_api::inventory::{DiskInventory, InventoryEntry, ReportInventory};
use trireme_client::{MetaClient, Transport};

/// Runs until `stop` turns true (or its sender is dropped).
pub async fn run(
    config: Arc<ChunkserverConfig>,
    store: Arc<Store>,
    mut stop: watch::Receiver<bool>,
) {
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
        let report = match take_inventory(&config, &store).await {
            Some(r) => r,
            None => continue,
        };
        let result = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            r = client.call(&report) => r,
        };
        match result {
            Ok(resp) => {
                for c in resp.delete {
                    match store.delete(&c.disk, &c.chunk).await {
                        Ok(()) => {
                            collected += 1;
                            tracing::debug!(disk = %c.disk, chunk = %c.chunk, "collected unreferenced chunk");
                        }
                        Err(e) => {
                            tracing::warn!(disk = %c.disk, chunk = %c.chunk, error = %e, "cannot delete chunk")
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "inventory report failed"),
        }
    }
    tracing::debug!(collected, "inventory worker stopped");
}

async fn take_inventory(config: &ChunkserverConfig, store: &Store) -> Option<ReportInventory> {
    let mut disks = Vec::new();
    for disk in store.disks().iter().filter(|d| d.is_online()).cloned() {
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
                    .map(|(chunk, age)| InventoryEntry {
                        chunk,
                        age_ms: age.as_millis() as u64,
                    })
                    .collect(),
            }),
            Ok(Err(e)) => tracing::warn!(disk = %disk.id, error = %e, "cannot list chunks"),
            Err(e) => tracing::warn!(error = %e, "inventory listing panicked"),
        }
    }
    Some(ReportInventory {
        chunkserver: config.id,
        disks,
    })
}
