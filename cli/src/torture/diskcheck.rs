//! What recovery from a disk fault means: not only a healthy cluster but whole data again.
//! [`unrecovered`] (part of `health::unhealthy`) waits for the fault's own condition (the
//! swap done, the disk healthy, the scrub pass done and every damaged file quarantined or
//! replaced), then for a ledger sweep started after it that proves repair complete; then it
//! records the repair figures (printed with the scenario's report, [`take_figures`]).

use super::client::Clients;
use super::cluster::Cluster;
use super::diskfault::{disk_report, mark, meta, swap_status};
use crate::output::{human_bytes, now_ms};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Instant;
use trireme_api::durability::{RepairProgress, RepairStatus, ScrubStatus};
use trireme_api::ids::DiskId;
use trireme_api::meta::DiskState;
use trireme_api::swap::SwapPhase;

/// What recovery from a disk fault must still see.
#[derive(Clone, Debug)]
pub struct Pending {
    pub(super) fault_at: Instant,
    pub(super) heal_at: Instant,
    pub(super) heal_ms: u64,
    pub(super) before: RepairProgress,
    pub(super) wait: Wait,
    /// When the fault's own condition was first met (then a later sweep must prove repair).
    pub(super) ready_ms: Option<u64>,
}

/// The fault's own condition.
#[derive(Clone, Debug)]
pub(super) enum Wait {
    /// Nothing but repair.
    Repair,
    /// The swap of the old disk is done (the new disk refilled).
    Swap { old: DiskId },
    /// The disk is healthy again.
    Healthy { cs: u64, path: String },
    /// The scrub pass `epoch` is done and every damaged file quarantined or replaced.
    Scrub {
        cs: u64,
        epoch: u64,
        files: Vec<(PathBuf, u64)>,
        bad_before: u64,
    },
}

/// The repair figures of the last disk fault whose recovery was proven (taken once).
pub fn take_figures(cluster: &Cluster) -> Option<String> {
    cluster.disks.figures.lock().ok()?.take()
}

/// Why the data is not whole again after a disk fault, or `None` (then it prints the repair
/// figures once and forgets the fault).
pub async fn unrecovered(cluster: &Cluster, clients: &Clients) -> Option<String> {
    let mut p = cluster.disks.pending.lock().ok()?.clone()?;
    let r = check(cluster, &mut p).await;
    let mut slot = cluster.disks.pending.lock().ok()?;
    match r {
        Ok(figures) => {
            mark(clients, figures.clone());
            *slot = None;
            if let Ok(mut f) = cluster.disks.figures.lock() {
                *f = Some(figures);
            }
            None
        }
        Err(why) => {
            *slot = Some(p);
            Some(why)
        }
    }
}

async fn check(cluster: &Cluster, p: &mut Pending) -> Result<String, String> {
    let client = meta(cluster);
    let mut extra = String::new();
    if p.ready_ms.is_none() {
        match &p.wait {
            Wait::Repair => {}
            Wait::Swap { old } => {
                let s = swap_status(cluster, old)
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                if s.phase != SwapPhase::Done {
                    return Err(format!("the swap of disk {old} is {}", s.phase.as_str()));
                }
            }
            Wait::Healthy { cs, path } => {
                let d = disk_report(cluster, *cs, path)
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                if d.state != DiskState::Healthy {
                    return Err(format!("disk {path} is {}", d.state.as_str()));
                }
            }
            Wait::Scrub {
                cs, epoch, files, ..
            } => {
                let s = client
                    .call(&ScrubStatus {})
                    .await
                    .map_err(|e| e.to_string())?;
                let prog = s
                    .chunkservers
                    .iter()
                    .find(|c| c.chunkserver == *cs)
                    .and_then(|c| c.progress.clone());
                if prog.as_ref().and_then(|g| g.last_pass_epoch) < Some(*epoch) {
                    return Err(format!(
                        "chunkserver {cs} has not finished scrub pass {epoch}"
                    ));
                }
                let left: Vec<&PathBuf> = files
                    .iter()
                    .filter(|(f, ino)| std::fs::metadata(f).is_ok_and(|m| m.ino() == *ino))
                    .map(|(f, _)| f)
                    .collect();
                if !left.is_empty() {
                    return Err(format!(
                        "{} damaged chunk files still in place after scrub pass {epoch}, e.g. {}",
                        left.len(),
                        left[0].display()
                    ));
                }
            }
        }
        p.ready_ms = Some(now_ms());
    }
    if let Wait::Scrub {
        cs,
        bad_before,
        files,
        ..
    } = &p.wait
    {
        let s = client
            .call(&ScrubStatus {})
            .await
            .map_err(|e| e.to_string())?;
        let bad = s
            .chunkservers
            .iter()
            .find(|c| c.chunkserver == *cs)
            .and_then(|c| c.progress.as_ref())
            .map_or(0, |g| g.bad_found);
        extra = format!(
            "; {} damaged files all quarantined or replaced, scrub found {} bad replicas",
            files.len(),
            bad.saturating_sub(*bad_before)
        );
    }
    let since = p.ready_ms.unwrap_or(0).max(p.heal_ms);
    let r = client
        .call(&RepairStatus {})
        .await
        .map_err(|e| format!("repair status: {e}"))?;
    let Some(ledger) = &r.ledger else {
        return Err("the leader has swept no ledger yet".into());
    };
    if !(r.complete && ledger.swept_at_ms >= since) {
        let t = &ledger.total;
        return Err(format!(
            "repair not proven complete: {} chunks under-replicated ({} with none), {} copies active, {} queued",
            t.under_replicated, t.zero, r.repair.active, r.repair.queued
        ));
    }
    let chunks = r
        .repair
        .repaired_chunks
        .saturating_sub(p.before.repaired_chunks);
    let bytes = r
        .repair
        .repaired_bytes
        .saturating_sub(p.before.repaired_bytes);
    Ok(format!(
        "repair: {chunks} chunks ({}) copied; every one of {} chunks has its replicas, proven {:.1}s after the heal, {:.1}s after the fault{extra}",
        human_bytes(bytes),
        ledger.total.total(),
        p.heal_at.elapsed().as_secs_f64(),
        p.fault_at.elapsed().as_secs_f64(),
    ))
}
