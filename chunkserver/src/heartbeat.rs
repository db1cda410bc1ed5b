//! The heartbeat worker: every `heartbeat` interval it sends a
//! [`trireme_api::meta::Heartbeat`] (this chunkserver's id, bound address, disk reports with
//! their health, every disk slot, the workers' status and the scrub progress) to the meta
//! leader, keeps the worker settings and scrub control of each answer in
//! [`Shared::control`] for the workers, and releases the disks the answer lists as removed
//! from service ([`Shared::apply_removed`]), until shutdown. The first failure after a success is a warning, later ones are
//! debug logs, so a cluster test whose meta is down stays readable.

use crate::shared::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use trireme_api::meta::Heartbeat;
use trireme_client::{MetaClient, Transport};

/// Runs until `stop` turns true (or its sender is dropped).
pub async fn run(shared: Arc<Shared>, addr: SocketAddr, mut stop: watch::Receiver<bool>) {
    let config = &shared.config;
    let deadline = config.heartbeat * 2;
    let transport = Transport::new(
        config.cluster.clone(),
        deadline.max(Duration::from_millis(500)),
    );
    let client = MetaClient::new(transport, config.meta.clone(), deadline);
    let mut ticker = tokio::time::interval(config.heartbeat);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut failing = false;
    let mut sent = 0u64;
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => break,
            _ = ticker.tick() => {}
        }
        // Scrub progress before the workers: the worker status is updated after the
        // progress, so it is never older than the progress it goes with.
        let scrub = Some(shared.scrub().clone());
        let heartbeat = Heartbeat {
            chunkserver: config.id,
            addr: addr.to_string(),
            disks: shared.store.reports().await,
            workers: shared.workers.statuses(),
            scrub,
            slots: shared.store.slot_reports(),
        };
        let result = tokio::select! {
            _ = stopped(&mut stop) => break,
            r = client.call(&heartbeat) => r,
        };
        match result {
            Ok(resp) => {
                sent += 1;
                if resp.cluster_id != config.cluster.cluster_id {
                    let ours = &config.cluster.cluster_id;
                    tracing::error!(theirs = %resp.cluster_id, %ours, "meta is another cluster's");
                    continue;
                }
                if failing || sent == 1 {
                    tracing::info!("heartbeats reach the meta leader");
                }
                failing = false;
                // Removed disks first: the control marks the removed list known.
                shared.apply_removed(resp.removed_disks);
                shared.apply_control(resp.settings, resp.scrub);
            }
            Err(e) if !failing => {
                tracing::warn!(error = %e, "heartbeat failed (further failures: debug level)");
                failing = true;
            }
            Err(e) => tracing::debug!(error = %e, "heartbeat failed"),
        }
    }
    tracing::debug!(sent, "heartbeat worker stopped");
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
