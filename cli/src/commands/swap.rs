//! `trireme disk swap ID`, `trireme disk replace ID` and `trireme disk swap status ID`: the
//! guided disk swap, one resumable flow whose state is kept by the cluster (Raft):
//!
//! 1. drain (no new replicas; its chunks copied elsewhere), with progress;
//! 2. verify: the holders of the other replicas of every chunk on the disk re-read them;
//! 3. remove behind the gate ("safe to pull" only when every chunk has its wanted healthy,
//!    verified replicas elsewhere), then say exactly which disk to pull;
//! 4. wait for a blank disk in the slot (a wrong disk: the old one, another cluster's or
//!    chunkserver's, one with files, is refused and said so);
//! 5. format it with a new identity, bring it into service, and refill it with progress.
//!
//! Re-running the command picks the flow up where it stands (after Ctrl-C, a killed CLI or
//! a meta leader change). `replace` is the same flow for a disk that already failed: the
//! durability engine re-replicates it by itself; `replace` waits for that, confirms the
//! loss, and brings the new disk in.

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{duration_words, emit, fields, human_bytes, mib_per_s, print_json};
use std::time::{Duration, Instant};
use trireme_api::ids::DiskId;
use trireme_api::ops::{DiskAdminState, DiskRef, DrainDisk, RemoveDisk};
use trireme_api::swap::*;

/// How often the flow polls while it waits.
const POLL: Duration = Duration::from_millis(500);
/// How long a transient failure (leader change, timeout) may last before giving up.
const TRANSIENT: Duration = Duration::from_secs(60);

/// What the flow is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A working disk: drain it first.
    Swap,
    /// A failed disk: the cluster re-replicates it; never drain.
    Replace,
}

pub struct Options {
    pub yes: bool,
    /// Stop instead of waiting (for the drain, the new disk, the refill).
    pub no_wait: bool,
    pub force: bool,
    pub json: bool,
    pub reason: Option<String>,
}

fn disk_ref(id: &str) -> DiskRef {
    DiskRef {
        disk: DiskId(id.to_string()),
        chunkserver: None,
    }
}

/// Calls `req`, retrying transient failures (leader changes, timeouts) for up to a minute.
async fn retrying<R: trireme_api::Rpc>(
    cluster: &Cluster,
    what: &str,
    req: &R,
) -> Result<R::Response, CliError> {
    let start = Instant::now();
    loop {
        match cluster.client.call(req).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() && start.elapsed() < TRANSIENT => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(CliError::from_client(what, e)),
        }
    }
}

async fn status(cluster: &Cluster, id: &str, list: u32) -> Result<SwapStatusResponse, CliError> {
    let req = SwapStatus {
        disk: disk_ref(id),
        list_objects: list,
    };
    retrying(cluster, "swap status", &req).await
}

/// Prints a line (or a JSON status line) as the flow goes.
fn say(opts: &Options, line: &str) {
    if !opts.json {
        println!("{line}");
    }
}

fn say_json(opts: &Options, s: &SwapStatusResponse) {
    if opts.json {
        println!("{}", serde_json::to_string(s).unwrap_or_default());
    }
}

pub async fn run(cluster: &Cluster, id: &str, mode: Mode, opts: Options) -> Result<(), CliError> {
    let started = Instant::now();
    let first = status(cluster, id, 5).await?;
    // Named by the new disk's id: follow the swap of the old one.
    let id = first.old.disk.0.clone();
    let id = id.as_str();
    if !opts.json {
        emit(&render(&first))?;
    }
    let mut confirmed = opts.yes;
    let mut last_detail = String::new();
    let mut last_print = Instant::now() - Duration::from_secs(10);
    let mut verified = false;
    let mut drain_began: Option<(Instant, u64)> = None;
    loop {
        let s = status(cluster, id, 0).await?;
        say_json(&opts, &s);
        match s.phase {
            SwapPhase::InService | SwapPhase::Draining if mode == Mode::Replace => {
                replace_wait(cluster, id, &s, &opts, &mut confirmed).await?;
                verified = true;
            }
            SwapPhase::InService => {
                if !confirmed {
                    crate::confirm::confirm(&plan_words(&s), &format!("swap disk {id}"), false)?;
                    confirmed = true;
                }
                let req = DrainDisk {
                    disk: disk_ref(id),
                    undo: false,
                    reason: opts.reason.clone(),
                };
                retrying(cluster, "disk drain", &req).await?;
                say(&opts, &format!("1/5 draining disk {id}: no new replicas; {} chunks ({}) get their replicas elsewhere", s.old.chunks, human_bytes(s.old.bytes)));
            }
            SwapPhase::Draining => {
                if drain_began.is_none() {
                    drain_began = Some((Instant::now(), s.old.bytes_left));
                }
                if opts.no_wait {
                    say(&opts, &format!("the drain goes on in the cluster; re-run `trireme disk swap {id}` to continue"));
                    return Ok(());
                }
                if last_print.elapsed() >= Duration::from_secs(2) {
                    say(&opts, &drain_line(&s.old));
                    last_print = Instant::now();
                }
                tokio::time::sleep(POLL).await;
            }
            SwapPhase::SafeToRemove => {
                if let Some((t, bytes)) = drain_began.take() {
                    let secs = t.elapsed().as_secs_f64().max(0.001);
                    say(
                        &opts,
                        &format!(
                            "drained: {} copied in {:.1} s ({})",
                            human_bytes(bytes),
                            secs,
                            mib_per_s(bytes as f64 / secs)
                        ),
                    );
                }
                if !confirmed {
                    crate::confirm::confirm(&plan_words(&s), &format!("swap disk {id}"), false)?;
                    confirmed = true;
                }
                if !verified {
                    let (good, bad) = verify(cluster, id, &opts).await?;
                    if bad > 0 {
                        say(&opts, &format!("{bad} replicas elsewhere failed verification; they are being repaired, the gate stays closed until then"));
                        tokio::time::sleep(POLL).await;
                        continue;
                    }
                    say(
                        &opts,
                        &format!("2/5 verified: {good} replicas on other disks read back intact"),
                    );
                    verified = true;
                }
                remove(cluster, id, false, &opts).await?;
            }
            SwapPhase::AwaitingDisk | SwapPhase::ReadyToFormat => {
                let detail = s
                    .slot
                    .as_ref()
                    .map(|x| x.detail.clone())
                    .unwrap_or_default();
                if last_detail.is_empty() {
                    say(&opts, &pull_box(&s));
                }
                if s.phase == SwapPhase::ReadyToFormat {
                    admit(cluster, &s, &opts).await?;
                    continue;
                }
                // A report from before the chunkserver released the disk says nothing new.
                let stale = s
                    .slot
                    .as_ref()
                    .is_some_and(|x| x.state == SlotState::InService);
                if detail != last_detail && !stale {
                    let refused = s.slot.as_ref().is_some_and(|x| {
                        matches!(
                            x.state,
                            SlotState::Retired | SlotState::Foreign | SlotState::NotEmpty
                        )
                    });
                    let word = if refused { "REFUSED" } else { "waiting" };
                    say(&opts, &format!("4/5 {word}: slot {}: {detail}", s.old.path));
                    last_detail = detail;
                }
                if opts.no_wait {
                    say(
                        &opts,
                        &format!("re-run `trireme disk swap {id}` once the new disk is in"),
                    );
                    return Ok(());
                }
                tokio::time::sleep(POLL).await;
            }
            SwapPhase::Filling => {
                if opts.no_wait {
                    say(
                        &opts,
                        "the refill goes on in the cluster (trireme disk swap status shows it)",
                    );
                    return Ok(());
                }
                if last_print.elapsed() >= Duration::from_secs(2) {
                    if let Some(f) = &s.new {
                        say(&opts, &fill_line(f));
                    }
                    last_print = Instant::now();
                }
                tokio::time::sleep(POLL).await;
            }
            SwapPhase::Done => {
                let n = s
                    .new
                    .as_ref()
                    .map(|f| f.disk.to_string())
                    .unwrap_or_default();
                if opts.json {
                    return Ok(());
                }
                if let Some(f) = &s.new {
                    say(&opts, &fill_line(f));
                }
                return emit(&format!(
                    "DONE: disk {id} was replaced by disk {n} (chunkserver {}, {}); this run took {:.1} s\n",
                    s.old.chunkserver,
                    s.old.path,
                    started.elapsed().as_secs_f64()
                ));
            }
        }
    }
}

/// `replace`: the disk failed; wait until the durability engine has re-replicated every
/// chunk it held, then remove it (confirming the loss).
async fn replace_wait(
    cluster: &Cluster,
    id: &str,
    s: &SwapStatusResponse,
    opts: &Options,
    confirmed: &mut bool,
) -> Result<(), CliError> {
    let failed = matches!(s.old.state.as_str(), "failed" | "offline");
    if !failed && !opts.force {
        return Err(CliError::Failed(format!(
            "disk {id} is {} (not failed): use `trireme disk swap {id}` to drain it first, or --force",
            s.old.state
        )));
    }
    if !*confirmed {
        crate::confirm::confirm(
            &format!(
                "Disk {id} (chunkserver {}, {}) is {}. Once every chunk it held has its wanted healthy replicas elsewhere, it is removed from service; then a blank disk in its slot is formatted and refilled.\n",
                s.old.chunkserver, s.old.path, s.old.state
            ),
            &format!("replace disk {id}"),
            false,
        )?;
        *confirmed = true;
    }
    let mut last = Instant::now() - Duration::from_secs(10);
    loop {
        let s = status(cluster, id, 0).await?;
        if s.old.safe_to_pull || s.old.admin == DiskAdminState::Removed {
            break;
        }
        if opts.no_wait {
            return Err(CliError::Problem(format!(
                "disk {id}: {} chunks still lack their wanted replicas elsewhere (repair is running; re-run to continue)",
                s.old.chunks_left
            )));
        }
        if s.old.chunks_last_copy > 0 && opts.force {
            break;
        }
        if last.elapsed() >= Duration::from_secs(2) {
            say(
                opts,
                &format!(
                    "1/5 re-replicating what disk {id} held: {}",
                    drain_line(&s.old)
                ),
            );
            last = Instant::now();
        }
        tokio::time::sleep(POLL).await;
    }
    say(opts, &format!("2/5 every chunk of disk {id} has its wanted healthy replicas elsewhere: the loss is confirmed harmless"));
    remove(cluster, id, opts.force, opts).await
}

async fn remove(cluster: &Cluster, id: &str, force: bool, opts: &Options) -> Result<(), CliError> {
    // Not retried blindly: a refusal (the gate) must reach the operator as it is.
    let resp = cluster
        .client
        .call(&RemoveDisk {
            disk: disk_ref(id),
            force,
            reason: opts.reason.clone(),
        })
        .await
        .map_err(|e| CliError::from_client("disk remove", e))?;
    say(
        opts,
        &format!(
            "3/5 disk {id} is out of service (chunkserver {}, {})",
            resp.chunkserver, resp.path
        ),
    );
    Ok(())
}

/// Pages through `VerifyDiskCopies`; returns (good, bad) replica counts.
async fn verify(cluster: &Cluster, id: &str, opts: &Options) -> Result<(u64, u64), CliError> {
    let (mut after, mut done, mut good, mut bad, mut unreachable) = (None, 0u64, 0u64, 0u64, 0u64);
    let mut last = Instant::now();
    loop {
        let req = VerifyDiskCopies {
            disk: disk_ref(id),
            after: after.clone(),
            limit: 128,
        };
        let page = retrying(cluster, "verify copies", &req).await?;
        done += page.chunks;
        good += page.good;
        bad += page.bad;
        unreachable += page.unreachable;
        if last.elapsed() >= Duration::from_secs(2) {
            say(
                opts,
                &format!(
                    "2/5 verifying the copies elsewhere: {done}/{} chunks",
                    page.total_chunks
                ),
            );
            last = Instant::now();
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    if unreachable > 0 {
        return Err(CliError::Failed(format!(
            "disk {id}: {unreachable} replicas elsewhere could not be verified (holder unreachable); not removing it. Re-run when the cluster is healthy"
        )));
    }
    Ok((good, bad))
}

async fn admit(cluster: &Cluster, s: &SwapStatusResponse, opts: &Options) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&AdmitDisk {
            chunkserver: s.old.chunkserver,
            path: s.old.path.clone(),
            replaces: Some(s.old.disk.clone()),
            fill: true,
            reason: opts.reason.clone(),
        })
        .await
        .map_err(|e| CliError::from_client("format the new disk", e))?;
    say(
        opts,
        &format!(
            "5/5 formatted the blank disk in {} as disk {} and took it into service; refilling it to {}",
            resp.path,
            resp.disk,
            human_bytes(resp.fill_target_bytes)
        ),
    );
    Ok(())
}

fn plan_words(s: &SwapStatusResponse) -> String {
    format!(
        "This swaps disk {} (chunkserver {}, {}): drain its {} chunks ({}) to other disks, verify the copies, remove it from service, then wait for a blank disk in the same slot, format it and refill it.\n",
        s.old.disk,
        s.old.chunkserver,
        s.old.path,
        s.old.chunks,
        human_bytes(s.old.bytes)
    )
}

fn pull_box(s: &SwapStatusResponse) -> String {
    format!(
        "\nSAFE TO PULL\n  chunkserver  {}\n  slot         {}\n  disk id      {}\nUnmount and pull this disk, insert a blank one in the same slot (mounted at {}).",
        s.old.chunkserver, s.old.path, s.old.disk, s.old.path
    )
}

fn drain_line(s: &trireme_api::ops::DrainStatusResponse) -> String {
    let done = s.chunks_safe.min(s.chunks);
    let pct = (done * 100).checked_div(s.chunks).unwrap_or(100);
    format!(
        "{pct:>3}%  {done}/{} chunks safe  {} left  {}  ETA {}",
        s.chunks,
        human_bytes(s.bytes_left),
        mib_per_s(s.rate_bytes_per_s),
        s.eta_s.map(duration_words).unwrap_or_else(|| "-".into())
    )
}

fn fill_line(f: &FillStatus) -> String {
    let pct = (f.bytes.min(f.target_bytes) * 100)
        .checked_div(f.target_bytes)
        .unwrap_or(100);
    format!(
        "refill of disk {}: {pct:>3}%  {} chunks, {} of {}  {}  ETA {}",
        f.disk,
        f.chunks,
        human_bytes(f.bytes),
        human_bytes(f.target_bytes),
        mib_per_s(f.rate_bytes_per_s),
        match (f.finished_ms, f.eta_s) {
            (Some(_), _) => "done".to_string(),
            (None, Some(e)) => duration_words(e),
            (None, None) => "-".into(),
        }
    )
}

/// The whole swap: phase, the old disk's drain, the slot, the new disk's refill, next step.
pub fn render(s: &SwapStatusResponse) -> String {
    let mut rows = vec![
        (
            "swap of disk",
            format!(
                "{} (chunkserver {}, {})",
                s.old.disk, s.old.chunkserver, s.old.path
            ),
        ),
        ("phase", s.phase.as_str().to_string()),
        (
            "old disk",
            format!("{}, {}", s.old.state, s.old.admin.as_str()),
        ),
    ];
    if s.old.admin != DiskAdminState::Removed {
        rows.push(("drain", drain_line(&s.old)));
    }
    if let Some(slot) = &s.slot {
        rows.push(("slot", format!("{}: {}", slot.state.as_str(), slot.detail)));
    }
    if let Some(f) = &s.new {
        rows.push(("new disk", f.disk.to_string()));
        rows.push(("refill", fill_line(f)));
    }
    rows.push(("next", s.next_step.clone()));
    let mut out = fields(&rows);
    if !s.old.at_risk.is_empty() && s.old.admin != DiskAdminState::Removed {
        out.push_str("\nobjects at risk if it were pulled now (first ones):\n");
        for o in &s.old.at_risk {
            out.push_str(&format!(
                "  {}/{}  ({} healthy replicas elsewhere)\n",
                o.bucket, o.key, o.replicas_left
            ));
        }
    }
    out
}

/// One line for `cluster status`.
pub fn status_line(s: &SwapStatusResponse) -> String {
    let slot = s
        .slot
        .as_ref()
        .map(|x| x.state.as_str())
        .unwrap_or("not reported");
    let what = match (&s.phase, &s.new) {
        (SwapPhase::Filling | SwapPhase::Done, Some(f)) => fill_line(f),
        (SwapPhase::Draining | SwapPhase::SafeToRemove, _) => {
            format!("drain {}", drain_line(&s.old))
        }
        (SwapPhase::AwaitingDisk, _) => {
            format!("waiting for a blank disk in the slot (slot: {slot})")
        }
        (SwapPhase::ReadyToFormat, _) => {
            format!(
                "a blank disk is in the slot: `trireme disk swap {}` formats it",
                s.old.disk
            )
        }
        _ => s.next_step.clone(),
    };
    format!(
        "swap          disk {} (chunkserver {}, {}): {}: {what}",
        s.old.disk,
        s.old.chunkserver,
        s.old.path,
        s.phase.as_str()
    )
}

/// `trireme disk swap status ID [--watch]`.
pub async fn show_status(
    cluster: &Cluster,
    id: &str,
    watch: bool,
    json: bool,
) -> Result<(), CliError> {
    if !watch {
        let s = status(cluster, id, 20).await?;
        if json {
            return print_json(&s);
        }
        return emit(&render(&s));
    }
    // Follow: until the phase needs the operator (safe to remove, a disk to insert) or ends.
    loop {
        let s = status(cluster, id, 0).await?;
        if json {
            println!("{}", serde_json::to_string(&s).unwrap_or_default());
        } else {
            match (&s.phase, &s.new) {
                (SwapPhase::Filling | SwapPhase::Done, Some(f)) => println!("{}", fill_line(f)),
                _ => println!("{}", drain_line(&s.old)),
            }
        }
        if !matches!(s.phase, SwapPhase::Draining | SwapPhase::Filling) {
            if !json {
                emit(&format!("{}\n", s.next_step))?;
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
