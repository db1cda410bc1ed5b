//! The disk health worker ("health"): every `health` interval it inspects the disk slots
//! without an open disk ([`crate::store::Store::inspect_slots`]) and starts probing the disks
//! that came into service. Every `health` interval, and at once when an I/O path saw an I/O
//! error, it probes each disk in service ([`crate::probe`]), until the disk is released, on
//! the blocking pool under a timeout of max(5 x `slow_probe`, 10 s), so a disk that stops
//! answering fails its probes. A probe that is still stuck when the next one is due counts as failed without
//! starting another. The results drive each disk's [`crate::disk_health::HealthTracker`],
//! together with two signals computed here: fail-slow (read or write p99 on real traffic,
//! or the probe latency, far above the other disks' on this chunkserver; see
//! [`crate::latency::is_outlier`]) and recent I/O errors on real traffic.

use crate::disk::Disk;
use crate::disk_health::{HealthPolicy, ProbeResult, Signals, RECENT_IO_ERRORS, RECOVER_AFTER};
use crate::latency::{is_outlier, Percentiles, MIN_SAMPLES};
use crate::probe::probe;
use crate::shared::Shared;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use trireme_api::durability::WorkerState;
use trireme_api::ids::DiskId;
use trireme_api::meta::DiskState;

/// Probes triggered by I/O errors are at least this far apart, per disk.
const MIN_PROBE_GAP: Duration = Duration::from_millis(100);
/// The probe timeout never goes below this.
const MIN_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Read and write percentiles of one disk.
type Latencies = (Option<Percentiles>, Option<Percentiles>);

/// How long a probe may take before it counts as failed.
pub fn probe_timeout(slow_probe: Duration) -> Duration {
    (slow_probe * 5).max(MIN_PROBE_TIMEOUT)
}

/// Runs until `stop` turns true.
pub async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let config = &shared.config;
    let policy = HealthPolicy {
        fail_after: config.disk_fail_after,
        recover_after: RECOVER_AFTER,
        slow_probe: config.slow_probe,
    };
    let timeout = probe_timeout(config.slow_probe);
    let mut ticker = tokio::time::interval(config.health);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut loops: BTreeMap<DiskId, JoinHandle<()>> = BTreeMap::new();
    let mut inspecting: Option<JoinHandle<()>> = None;
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = ticker.tick() => {}
        }
        // A disk found or formatted since the last tick is probed from now on; the loop
        // of a released disk has ended.
        loops.retain(|_, h| !h.is_finished());
        for disk in shared.store.disks() {
            if disk.is_offline() || disk.is_released() || loops.contains_key(&disk.id) {
                continue;
            }
            let task = disk_loop(shared.clone(), disk.clone(), policy, timeout, stop.clone());
            loops.insert(disk.id.clone(), tokio::spawn(task));
        }
        summarize(&shared);
        // What the slots without a disk hold; an inspection stuck on a dead mount is not
        // started again until it returns.
        if inspecting.as_ref().is_none_or(|h| h.is_finished()) {
            let store = shared.store.clone();
            let removed = shared.removed();
            let known = shared.control.borrow().known;
            inspecting = Some(tokio::task::spawn_blocking(move || {
                store.inspect_slots(&removed, known)
            }));
        }
    }
    for (_, task) in loops {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "disk health loop panicked");
        }
    }
    tracing::debug!("health worker stopped");
}

/// Probes one disk until shutdown or until the disk is released.
async fn disk_loop(
    shared: Arc<Shared>,
    disk: Arc<Disk>,
    policy: HealthPolicy,
    timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(shared.config.health);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut stuck: Option<JoinHandle<ProbeResult>> = None;
    let mut last: Option<Instant> = None;
    let worker = &shared.workers.health;
    loop {
        let requested = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            () = disk.wait_released() => break,
            _ = ticker.tick() => false,
            () = disk.monitor().probe_requested() => true,
        };
        if requested {
            let gap = last.map_or(Duration::ZERO, |t| {
                MIN_PROBE_GAP.saturating_sub(t.elapsed())
            });
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                () = tokio::time::sleep(gap) => {}
            }
        }
        worker.begin();
        let result = probe_once(&disk, &mut stuck, timeout).await;
        if disk.is_released() {
            worker.end();
            break;
        }
        last = Some(Instant::now());
        let signals = signals(&shared, &disk, result.latency(), Instant::now());
        let (before, after) = disk.monitor().probed(&result, &signals, &policy);
        worker.done(1, crate::probe::PROBE_BYTES as u64);
        if let ProbeResult::Failed(e) = &result {
            worker.error(format!("disk {}: {e}", disk.id));
        }
        if before != after {
            let reason = disk.monitor().tracker().reason.unwrap_or_default();
            let (from, to) = (before.as_str(), after.as_str());
            match after {
                DiskState::Healthy => {
                    tracing::info!(disk = %disk.id, from, to, "disk healthy again")
                }
                _ => tracing::warn!(disk = %disk.id, from, to, %reason, "disk health changed"),
            }
        }
        worker.end();
        summarize(&shared);
    }
}

/// Runs one probe on the blocking pool under `timeout`.
async fn probe_once(
    disk: &Arc<Disk>,
    stuck: &mut Option<JoinHandle<ProbeResult>>,
    timeout: Duration,
) -> ProbeResult {
    if stuck.as_ref().is_some_and(|h| !h.is_finished()) {
        return ProbeResult::Failed(
            "the previous probe has not returned: disk not answering".into(),
        );
    }
    *stuck = None;
    let d = disk.clone();
    let mut handle = tokio::task::spawn_blocking(move || probe(&d));
    match tokio::time::timeout(timeout, &mut handle).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => ProbeResult::Failed(format!("probe task failed: {e}")),
        Err(_) => {
            *stuck = Some(handle);
            ProbeResult::Failed(format!(
                "probe did not finish within {} s: disk not answering",
                timeout.as_secs()
            ))
        }
    }
}

/// The fail-slow and I/O-error signals of `disk` (whose probe just took `probe_latency`),
/// compared with the other disks in service.
pub fn signals(
    shared: &Shared,
    disk: &Disk,
    probe_latency: Option<Duration>,
    now: Instant,
) -> Signals {
    let all = shared.store.disks();
    let peers: Vec<&Arc<Disk>> = all
        .iter()
        .filter(|d| d.id != disk.id && !d.is_offline())
        .collect();
    let (reads, writes) = disk.monitor().latencies(now);
    let peer_latencies: Vec<_> = peers.iter().map(|d| d.monitor().latencies(now)).collect();
    let p99s = |pick: fn(&Latencies) -> Option<Percentiles>| {
        peer_latencies
            .iter()
            .filter_map(pick)
            .filter(|p| p.count >= MIN_SAMPLES)
            .map(|p| p.p99_us)
            .collect::<Vec<_>>()
    };
    let slow_traffic = |what: &str, mine: Option<Percentiles>, peers: Vec<u64>| {
        let mine = mine.filter(|p| p.count >= MIN_SAMPLES)?;
        is_outlier(mine.p99_us, &peers).then(|| {
            format!(
                "{what} p99 {} ms is far above the other disks' ({} disks)",
                mine.p99_us / 1000,
                peers.len()
            )
        })
    };
    let probe_peers: Vec<u64> = peers
        .iter()
        .filter_map(|d| d.monitor().probe_latency())
        .map(|l| l.as_micros() as u64)
        .collect();
    let slow_probe = probe_latency.and_then(|mine| {
        let us = mine.as_micros() as u64;
        is_outlier(us, &probe_peers).then(|| {
            format!(
                "probe latency {} ms is far above the other disks'",
                us / 1000
            )
        })
    });
    Signals {
        slow: slow_traffic("read", reads, p99s(|l| l.0))
            .or_else(|| slow_traffic("write", writes, p99s(|l| l.1)))
            .or(slow_probe),
        io_errors: disk.monitor().recent_io_errors(now, RECENT_IO_ERRORS),
    }
}

/// Publishes the disk states as the worker's progress.
fn summarize(shared: &Shared) {
    let mut counts = [0usize; 3];
    for d in shared.store.disks() {
        match d.state() {
            DiskState::Healthy => counts[0] += 1,
            DiskState::Suspect => counts[1] += 1,
            DiskState::Failed => counts[2] += 1,
            _ => {}
        }
    }
    let worker = &shared.workers.health;
    worker.set_progress(format!(
        "{} healthy, {} suspect, {} failed",
        counts[0], counts[1], counts[2]
    ));
    worker.update(|w| {
        if w.state != WorkerState::Busy {
            w.state = WorkerState::Idle;
        }
    });
}
