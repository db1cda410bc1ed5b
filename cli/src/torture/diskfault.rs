//! Disk faults on the loop-mounted chunkserver disks ([`super::disks`]): how each is
//! injected on a random chunkserver, held and healed.
//!
//! - death: `xfs_io -x -c shutdown` on an XFS disk; the chunkserver's probes fail it, the
//!   leader re-replicates its chunks; healed the operator's way (`trireme disk replace`):
//!   once every chunk has its replicas elsewhere the disk is removed, pulled (unmounted), a
//!   new blank disk goes in the slot, and `AdmitDisk` formats and refills it.
//! - readonly: an ext4 error (`trigger_fs_error`) makes the `errors=remount-ro` disk
//!   read-only; the probes fail it; healed by stopping the chunkserver, `e2fsck -fy`,
//!   mounting again and restarting it (the disk comes back with its identity).
//! - full: a ballast file written unbuffered until ENOSPC, topped up through the hold;
//!   healed by deleting it.
//! - corrupt: bytes flipped in some chunk files and others truncated; healed by nothing, but
//!   a scrub pass is started so recovery covers finding and replacing the bad replicas.
//!
//! Each leaves what its recovery must see to [`super::diskcheck`]; the corruption itself is
//! in [`super::diskcorrupt`].

use super::client::Clients;
use super::cluster::Cluster;
use super::diskcheck::{Pending, Wait};
use super::diskcorrupt;
use super::disks::{FsKind, Mount};
use super::net::sh;
use crate::output::{human_bytes, now_ms};
use crate::up::configs::Role;
use crate::up::wait::Poll;
use anyhow::{anyhow, Context, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use trireme_api::durability::{ControlScrub, RepairStatus, ScrubAction, ScrubStatus};
use trireme_api::ids::DiskId;
use trireme_api::meta::{DiskReport, DiskState, ListChunkservers};
use trireme_api::ops::{DiskRef, RemoveDisk};
use trireme_api::swap::{AdmitDisk, SlotState, SwapPhase, SwapStatus, SwapStatusResponse};
use trireme_client::{MetaClient, Transport};

/// The disk faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFault {
    Death,
    Full,
    ReadOnly,
    Corrupt,
}

/// How long the chunkserver and the leader may take to see a fault.
const NOTICE: Duration = Duration::from_secs(60);
/// How long repair may take before a failed disk is safe to remove.
const REPLACE_WAIT: Duration = Duration::from_secs(180);
/// The ballast's name at the root of the disk.
const BALLAST: &str = "torture-ballast";

pub(super) fn meta(cluster: &Cluster) -> MetaClient {
    let t = Transport::new(cluster.settings.clone(), Duration::from_secs(5));
    MetaClient::new(t, cluster.meta_addrs.clone(), Duration::from_secs(20))
}

pub(super) fn mark(clients: &Clients, label: String) {
    eprintln!("  {label}");
    let _ = clients.recorder.mark(label);
}

fn disk_ref(id: &DiskId) -> DiskRef {
    DiskRef {
        disk: id.clone(),
        chunkserver: None,
    }
}

/// The leader's report of the disk at `path` of chunkserver `cs`.
pub(super) async fn disk_report(cluster: &Cluster, cs: u64, path: &str) -> Result<DiskReport> {
    let resp = meta(cluster).call(&ListChunkservers {}).await?;
    resp.chunkservers
        .into_iter()
        .filter(|c| c.id == cs)
        .flat_map(|c| c.disks)
        .find(|d| d.path == path)
        .ok_or_else(|| anyhow!("the leader knows no disk {path} on chunkserver {cs}"))
}

/// Waits until the leader's report of the disk satisfies `ok`; returns how long it took.
async fn wait_disk(
    cluster: &Cluster,
    cs: u64,
    path: &str,
    what: &str,
    ok: impl Fn(&DiskReport) -> bool,
) -> Result<Duration> {
    let start = Instant::now();
    let mut poll = Poll::new(
        format!("disk {path} of chunkserver {cs} to be {what}"),
        NOTICE,
    );
    loop {
        match disk_report(cluster, cs, path).await {
            Ok(d) if ok(&d) => return Ok(start.elapsed()),
            Ok(d) => poll.again(d.state.as_str()).await?,
            Err(e) => poll.again(&format!("{e:#}")).await?,
        }
    }
}

pub(super) async fn swap_status(cluster: &Cluster, old: &DiskId) -> Result<SwapStatusResponse> {
    let req = SwapStatus {
        disk: disk_ref(old),
        list_objects: 0,
    };
    Ok(meta(cluster).call(&req).await?)
}

/// Runs `f` on a copy of the mount on the blocking pool, and stores the copy back.
async fn with_mount<T: Send + 'static>(
    cluster: &mut Cluster,
    node: &str,
    slot: u64,
    f: impl FnOnce(&mut Mount) -> Result<T> + Send + 'static,
) -> Result<T> {
    let m = cluster
        .disks
        .get_mut(node, slot)
        .ok_or_else(|| anyhow!("no disk {slot} on {node}"))?;
    let mut copy = m.clone();
    let (copy, r) = tokio::task::spawn_blocking(move || {
        let r = f(&mut copy);
        (copy, r)
    })
    .await?;
    *m = copy;
    r
}

/// Injects `f` on a random chunkserver, holds it for `hold`, heals it, and leaves the
/// recovery condition for [`super::diskcheck::unrecovered`]. Returns what it hit.
pub async fn run(
    f: DiskFault,
    cluster: &mut Cluster,
    clients: &Clients,
    rng: &mut StdRng,
    hold: Duration,
) -> Result<String> {
    let i = *cluster
        .of_role(Role::Chunkserver)
        .choose(rng)
        .ok_or_else(|| anyhow!("no chunkserver"))?;
    let (node, cs) = (cluster.nodes[i].name.clone(), cluster.nodes[i].id);
    let slot = match f {
        DiskFault::Death => 0,
        DiskFault::Full | DiskFault::ReadOnly => 1,
        DiskFault::Corrupt => rng.gen_range(0..2),
    };
    let m = cluster
        .disks
        .get(&node, slot)
        .ok_or_else(|| anyhow!("no disk {slot} on {node}"))?;
    let (label, path) = (m.label(), m.mountpoint.to_string_lossy().into_owned());
    let dev = m.device_name().unwrap_or_default().to_string();
    let before = meta(cluster)
        .call(&RepairStatus {})
        .await
        .map(|r| r.repair)
        .unwrap_or_default();
    let fault_at = Instant::now();
    let rest = |hold: Duration| hold.saturating_sub(fault_at.elapsed());
    let wait = match f {
        DiskFault::Death => {
            let old = disk_report(cluster, cs, &path).await?.disk_id;
            sh("xfs_io", &["-x", "-c", "shutdown", &path])?;
            mark(
                clients,
                format!("fault: xfs_io shutdown of {label}, disk {old}"),
            );
            let t = wait_disk(cluster, cs, &path, "failed", |d| {
                d.state == DiskState::Failed
            })
            .await?;
            mark(
                clients,
                format!(
                    "  the leader sees disk {old} failed {:.1}s after the shutdown",
                    t.as_secs_f64()
                ),
            );
            // Through the hold: when does the disk's data have its replicas elsewhere?
            let mut safe = None;
            while !rest(hold).is_zero() {
                if safe.is_none() {
                    let s = swap_status(cluster, &old).await;
                    if s.is_ok_and(|s| s.old.safe_to_pull) {
                        safe = Some(fault_at.elapsed());
                    }
                }
                tokio::time::sleep(rest(hold).min(Duration::from_millis(250))).await;
            }
            replace(cluster, clients, &node, cs, &old, fault_at, safe).await?;
            Wait::Swap { old }
        }
        DiskFault::ReadOnly => {
            let trigger = format!("/sys/fs/ext4/{dev}/trigger_fs_error");
            let how = if Path::new(&trigger).exists() {
                std::fs::write(&trigger, "1").with_context(|| format!("writing {trigger}"))?;
                format!("an ext4 error through {trigger} (errors=remount-ro)")
            } else {
                sh("mount", &["-o", "remount,ro", &path])?;
                "mount -o remount,ro".to_string()
            };
            mark(clients, format!("fault: {label} read-only by {how}"));
            let t = wait_disk(cluster, cs, &path, "failed", |d| {
                d.state == DiskState::Failed
            })
            .await?;
            mark(
                clients,
                format!("  the leader sees it failed {:.1}s later", t.as_secs_f64()),
            );
            tokio::time::sleep(rest(hold)).await;
            cluster.nodes[i].stop().await;
            let fsck = with_mount(cluster, &node, slot, |m| {
                m.unmount()?;
                let said = m.fsck()?;
                m.mount()?;
                Ok(said)
            })
            .await?;
            cluster.nodes[i].start()?;
            cluster.nodes[i].wait_ready().await?;
            mark(clients, format!("heal: {node} stopped, {label} unmounted, {fsck}, mounted again, {node} restarted"));
            Wait::Healthy { cs, path }
        }
        DiskFault::Full => {
            let ballast = Path::new(&path).join(BALLAST);
            let b = ballast.clone();
            let n = tokio::task::spawn_blocking(move || fill(&b)).await??;
            mark(
                clients,
                format!(
                    "fault: {label} filled to the last byte ({} of ballast)",
                    human_bytes(n)
                ),
            );
            let t = wait_disk(cluster, cs, &path, "full", |d| d.free_bytes < 1 << 20).await?;
            mark(
                clients,
                format!("  the leader sees it full {:.1}s later", t.as_secs_f64()),
            );
            while !rest(hold).is_zero() {
                tokio::time::sleep(rest(hold).min(Duration::from_secs(1))).await;
                let b = ballast.clone();
                tokio::task::spawn_blocking(move || fill(&b)).await??;
            }
            std::fs::remove_file(&ballast)
                .with_context(|| format!("removing {}", ballast.display()))?;
            mark(clients, format!("heal: ballast removed from {label}"));
            Wait::Repair
        }
        DiskFault::Corrupt => {
            let scrub = meta(cluster).call(&ScrubStatus {}).await?;
            let bad_before = scrub
                .chunkservers
                .iter()
                .find(|c| c.chunkserver == cs)
                .and_then(|c| c.progress.as_ref())
                .map_or(0, |p| p.bad_found);
            // Once now (GETs meet the damage through the hold), once at the heal (the
            // workload overwrites its keys within seconds: chunks of live objects then).
            let mut files =
                diskcorrupt::damage_round(cluster, clients, cs, &path, &label, rng.gen()).await?;
            tokio::time::sleep(rest(hold)).await;
            files.extend(
                diskcorrupt::damage_round(cluster, clients, cs, &path, &label, rng.gen()).await?,
            );
            let resp = meta(cluster)
                .call(&ControlScrub {
                    action: ScrubAction::Start,
                })
                .await
                .context("starting a scrub pass")?;
            let epoch = resp.control.epoch;
            mark(
                clients,
                format!("heal: nothing to undo; scrub pass {epoch} started"),
            );
            Wait::Scrub {
                cs,
                epoch,
                files,
                bad_before,
            }
        }
    };
    let pending = Pending {
        fault_at,
        heal_at: Instant::now(),
        heal_ms: now_ms(),
        before,
        wait,
        ready_ms: None,
    };
    if let Ok(mut p) = cluster.disks.pending.lock() {
        *p = Some(pending);
    }
    Ok(format!("{label} of chunkserver {cs}"))
}

/// `trireme disk replace`: wait until every chunk of the failed disk has its replicas
/// elsewhere, remove it, pull it, put a blank disk in the slot and admit it.
async fn replace(
    cluster: &mut Cluster,
    clients: &Clients,
    node: &str,
    cs: u64,
    old: &DiskId,
    fault_at: Instant,
    safe: Option<Duration>,
) -> Result<()> {
    let mut poll = Poll::new(
        format!("the chunks of disk {old} to be re-replicated"),
        REPLACE_WAIT,
    );
    loop {
        match swap_status(cluster, old).await {
            Ok(s) if s.old.safe_to_pull => break,
            Ok(s) => {
                poll.again(&format!("{} chunks left", s.old.chunks_left))
                    .await?
            }
            Err(e) => poll.again(&format!("{e:#}")).await?,
        }
    }
    mark(
        clients,
        format!(
            "  every chunk of disk {old} has its replicas elsewhere {:.1}s after the shutdown",
            safe.unwrap_or_else(|| fault_at.elapsed()).as_secs_f64()
        ),
    );
    let req = RemoveDisk {
        disk: disk_ref(old),
        force: false,
        reason: Some("trireme torture disk-death".into()),
    };
    let mut poll = Poll::new(format!("disk {old} to be removed"), NOTICE);
    while let Err(e) = meta(cluster).call(&req).await {
        poll.again(&e.to_string()).await?;
    }
    let mut poll = Poll::new(format!("chunkserver {cs} to release disk {old}"), NOTICE);
    loop {
        let s = swap_status(cluster, old).await?;
        let state = s.slot.as_ref().map(|x| x.state);
        if matches!(state, Some(SlotState::Released | SlotState::NoDisk)) {
            break;
        }
        poll.again(&format!("slot {state:?}")).await?;
    }
    with_mount(cluster, node, 0, |m| m.replace_with_blank()).await?;
    let mut poll = Poll::new(
        format!("the slot of disk {old} to hold a blank disk"),
        NOTICE,
    );
    let s = loop {
        let s = swap_status(cluster, old).await?;
        if s.phase == SwapPhase::ReadyToFormat {
            break s;
        }
        poll.again(s.phase.as_str()).await?;
    };
    let resp = meta(cluster)
        .call(&AdmitDisk {
            chunkserver: cs,
            path: s.old.path.clone(),
            replaces: Some(old.clone()),
            fill: true,
            reason: Some("trireme torture disk-death".into()),
        })
        .await
        .context("admitting the new disk")?;
    mark(
        clients,
        format!(
            "heal: disk {old} removed, a blank {} put in its slot and admitted as disk {}",
            FsKind::Xfs.name(),
            resp.disk
        ),
    );
    Ok(())
}

/// Appends zeros to `path` with unbuffered writes until even one byte finds no room; returns
/// the bytes written by this call.
fn fill(path: &Path) -> Result<u64> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let zeros = vec![0u8; 1 << 20];
    let mut written = 0u64;
    let mut size = zeros.len();
    while size > 0 {
        match f.write(&zeros[..size]) {
            Ok(0) => size /= 4,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => size /= 4,
            Err(e) => return Err(e).context("writing the ballast"),
        }
    }
    let _ = f.sync_all();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_needs_its_directory() {
        let e = fill(Path::new("/proc/self/no-such-dir/ballast")).expect_err("no dir");
        assert!(format!("{e:#}").contains("opening"));
    }
}
