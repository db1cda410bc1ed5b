//! The health part of `trireme cluster status`: a summary of the durability ledger, repair and
//! scrub, and warnings in plain words computed from what the leader reports (meta members,
//! chunkservers and disks, the ledger, worker settings, lost objects, scrub control).

use crate::commands::cluster::{MemberStatus, StatusReport};
use crate::error::one_line;
use crate::output::{ago, count, duration_words, human_bytes, mib_per_s, micros, when, wire_name};
use serde::Serialize;
use std::collections::BTreeMap;
use trireme_api::durability::{
    setting, ListLostResponse, RepairProgress, RepairStatusResponse, ReplicaCounts,
    ScrubStatusResponse,
};
use trireme_api::ids::NodeId;
use trireme_api::meta::{ChunkserverInfo, ChunkserverState, DiskState, ListChunkserversResponse};

/// A follower this many log entries behind the leader is worth a warning.
pub const LAG_WARN_ENTRIES: u64 = 100;
/// Placement needs this much free space on a disk (the meta's floor).
pub const FULL_BELOW_BYTES: u64 = 64 << 20;

/// One problem, in words; `kind` is a stable name for scripts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub kind: &'static str,
    pub message: String,
}

fn warn(kind: &'static str, message: String) -> Warning {
    Warning { kind, message }
}

/// The ledger's totals and repair progress (the `--json` `durability` object).
#[derive(Clone, Debug, Default, Serialize)]
pub struct DurabilitySummary {
    /// None until the leader's first sweep.
    pub chunks: Option<ReplicaCounts>,
    pub swept_at_ms: Option<u64>,
    /// A sweep proved every chunk at its wanted healthy replicas.
    pub complete: bool,
    pub repair: RepairProgress,
    /// Objects with a chunk without a healthy replica (asked only when the ledger counts such
    /// chunks; at most 1000).
    pub lost_objects: Option<u64>,
}

impl DurabilitySummary {
    pub fn new(r: &RepairStatusResponse, lost: Option<&ListLostResponse>) -> Self {
        DurabilitySummary {
            chunks: r.ledger.as_ref().map(|l| l.total.clone()),
            swept_at_ms: r.ledger.as_ref().map(|l| l.swept_at_ms),
            complete: r.complete,
            repair: r.repair.clone(),
            lost_objects: lost.map(|l| l.objects.len() as u64),
        }
    }
}

/// Scrub control and the chunkservers' passes summed (the `--json` `scrub` object).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScrubSummary {
    pub running: bool,
    pub epoch: u64,
    pub chunkservers: usize,
    /// Chunkservers that reported scrub progress.
    pub reporting: usize,
    pub chunks_done: u64,
    pub chunks_total: u64,
    /// Bad replicas found since the chunkservers started.
    pub bad_found: u64,
    /// The oldest "last complete pass" among reporting chunkservers (None: some never
    /// completed one, or none reports).
    pub oldest_complete_pass_ms: Option<u64>,
}

impl ScrubSummary {
    pub fn new(s: &ScrubStatusResponse) -> Self {
        let reports: Vec<_> = s
            .chunkservers
            .iter()
            .filter_map(|c| c.progress.as_ref())
            .collect();
        let oldest = if reports.is_empty() {
            None
        } else {
            reports
                .iter()
                .map(|p| p.last_pass_completed_ms)
                .collect::<Option<Vec<u64>>>()
                .and_then(|v| v.into_iter().min())
        };
        ScrubSummary {
            running: s.control.running,
            epoch: s.control.epoch,
            chunkservers: s.chunkservers.len(),
            reporting: reports.len(),
            chunks_done: reports.iter().map(|p| p.chunks_done).sum(),
            chunks_total: reports.iter().map(|p| p.chunks_total).sum(),
            bad_found: reports.iter().map(|p| p.bad_found).sum(),
            oldest_complete_pass_ms: oldest,
        }
    }
}

/// Everything the warnings are computed from; a missing part adds no warning.
#[derive(Default)]
pub struct Facts<'a> {
    pub leader: Option<NodeId>,
    pub last_log_index: Option<u64>,
    pub members: &'a [MemberStatus],
    pub chunkservers: Option<&'a ListChunkserversResponse>,
    pub repair: Option<&'a RepairStatusResponse>,
    pub settings: Option<&'a BTreeMap<String, String>>,
    pub lost: Option<&'a ListLostResponse>,
    pub scrub: Option<&'a ScrubStatusResponse>,
}

/// The warnings, most urgent first: lost data, meta, chunkservers, disks, repair, scrub.
pub fn warnings(f: &Facts<'_>) -> Vec<Warning> {
    let mut out = Vec::new();
    lost(f, &mut out);
    meta(f, &mut out);
    if let Some(cs) = f.chunkservers {
        chunkservers(f, cs, &mut out);
    }
    under_replicated(f, &mut out);
    if f.scrub.is_some_and(|s| !s.control.running) {
        out.push(warn(
            "scrub_paused",
            "scrub is paused: no replica is being re-verified (`trireme scrub resume`)".into(),
        ));
    }
    out
}

fn lost(f: &Facts<'_>, out: &mut Vec<Warning>) {
    let Some(t) = f.repair.and_then(|r| r.ledger.as_ref()).map(|l| &l.total) else {
        return;
    };
    if t.zero == 0 {
        return;
    }
    let chunks = count(t.zero, "chunk");
    let message = match f.lost {
        Some(l) if !l.objects.is_empty() => {
            let n = l.objects.len();
            format!(
                "{n}{} {} lost data ({chunks} without a healthy replica): run `trireme repair lost`",
                if l.truncated { "+" } else { "" },
                if n == 1 { "object has" } else { "objects have" },
            )
        }
        _ => format!(
            "{chunks} {} no healthy replica: run `trireme repair lost`",
            if t.zero == 1 { "has" } else { "have" }
        ),
    };
    out.push(warn("lost", message));
}

fn meta(f: &Facts<'_>, out: &mut Vec<Warning>) {
    if f.leader.is_none() {
        out.push(warn(
            "no_leader",
            "no meta leader is elected: metadata reads and writes wait for an election".into(),
        ));
    }
    for m in f.members {
        let name = match m.id {
            Some(id) => format!("meta node {id} ({})", m.addr),
            None => format!("meta node at {}", m.addr),
        };
        if !m.up {
            let why = m.error.as_deref().map(one_line).unwrap_or_default();
            out.push(warn("meta_down", format!("{name} is down: {why}")));
            continue;
        }
        if m.leader {
            continue;
        }
        if let (Some(last), Some(matched)) = (f.last_log_index, m.matched_index) {
            let lag = last.saturating_sub(matched);
            if lag > LAG_WARN_ENTRIES {
                out.push(warn(
                    "meta_lag",
                    format!("{name} lags {lag} log entries behind the leader"),
                ));
            }
        }
    }
}

fn repair_paused(f: &Facts<'_>) -> bool {
    f.settings
        .is_some_and(|s| setting(s, "repair.concurrency") == 0)
}

/// "repair in progress, about 40 seconds left" or why it does not progress.
fn repair_phrase(f: &Facts<'_>) -> String {
    let Some(r) = f.repair else {
        return "repair status unknown".into();
    };
    let p = &r.repair;
    if repair_paused(f) {
        return "repair is paused".into();
    }
    if p.active > 0 || p.queued > 0 {
        return match p.eta_s {
            Some(s) => format!(
                "repair in progress, about {} left at {}",
                duration_words(s),
                mib_per_s(p.rate_bytes_per_s)
            ),
            None => format!(
                "repair in progress ({} in flight, {} queued)",
                count(u64::from(p.active), "copy"),
                p.queued
            ),
        };
    }
    "repair queues them with the next ledger sweep".into()
}

/// "55 with 2 healthy replicas, 2 with only 1".
fn by_healthy(c: &ReplicaCounts) -> String {
    let parts: Vec<String> = [
        (c.two, "with 2 healthy replicas"),
        (c.one, "with only 1"),
        (c.zero, "with none"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    parts.join(", ")
}

/// "57 chunks are" / "1 chunk is".
fn chunks_are(n: u64) -> String {
    format!("{} {}", count(n, "chunk"), are(n))
}

fn are(n: u64) -> &'static str {
    if n == 1 {
        "is"
    } else {
        "are"
    }
}

fn chunkservers(f: &Facts<'_>, cs: &ListChunkserversResponse, out: &mut Vec<Warning>) {
    if cs.chunkservers.is_empty() {
        out.push(warn(
            "no_chunkservers",
            "no chunkserver has registered: nothing can be stored".into(),
        ));
        return;
    }
    let ledger = f.repair.and_then(|r| r.ledger.as_ref());
    let mut sorted: Vec<&ChunkserverInfo> = cs.chunkservers.iter().collect();
    sorted.sort_by_key(|c| c.id);
    for c in sorted {
        let name = format!("chunkserver {} ({})", c.id, c.addr);
        if c.state == ChunkserverState::Dead {
            let since = match c.last_heartbeat_ms_ago {
                Some(ms) => format!(
                    "no heartbeat for {}",
                    ago(Some(ms)).trim_end_matches(" ago")
                ),
                None => "no heartbeat since this leader took over".into(),
            };
            let counts = ledger.and_then(|l| {
                l.by_chunkserver
                    .iter()
                    .find(|x| x.chunkserver == c.id)
                    .map(|x| &x.counts)
            });
            let detail = match counts {
                Some(n) if n.under_replicated > 0 => format!(
                    "{} with a replica there {} under-replicated ({}); {}",
                    count(n.under_replicated, "chunk"),
                    are(n.under_replicated),
                    by_healthy(n),
                    repair_phrase(f)
                ),
                _ if ledger.is_some() => {
                    "every chunk it held has its healthy replicas elsewhere".into()
                }
                _ => "durability unknown (no ledger yet)".into(),
            };
            out.push(warn(
                "chunkserver_dead",
                format!("{name} is dead ({since}): {detail}"),
            ));
            continue;
        }
        if !c.alive {
            out.push(warn(
                "chunkserver_silent",
                format!(
                    "{name} sends no heartbeats (last {}): it is declared dead if they do not resume",
                    ago(c.last_heartbeat_ms_ago)
                ),
            ));
            continue;
        }
        for d in &c.disks {
            disk(f, c, d, out);
        }
    }
}

fn disk(
    f: &Facts<'_>,
    c: &ChunkserverInfo,
    d: &trireme_api::meta::DiskReport,
    out: &mut Vec<Warning>,
) {
    let name = format!("disk {} on chunkserver {} ({})", d.disk_id, c.id, d.path);
    let h = &d.health;
    let kind = match d.state {
        DiskState::Failed => Some("disk_failed"),
        DiskState::Suspect => Some("disk_suspect"),
        DiskState::Offline => Some("disk_offline"),
        _ => None,
    };
    if let Some(kind) = kind {
        let mut why: Vec<String> = Vec::new();
        if let Some(r) = h.reason.as_deref().or(h.last_error.as_deref()) {
            why.push(one_line(r));
        }
        if let Some(us) = h.probe_latency_us.filter(|_| d.state == DiskState::Suspect) {
            why.push(format!("probe latency {}", micros(us)));
        }
        let counts = f.repair.and_then(|r| r.ledger.as_ref()).and_then(|l| {
            l.by_disk
                .iter()
                .find(|x| x.chunkserver == c.id && x.disk == d.disk_id)
                .map(|x| &x.counts)
        });
        if let Some(n) = counts.filter(|n| n.under_replicated > 0) {
            why.push(format!(
                "{} with a replica there {} under-replicated ({}); {}",
                count(n.under_replicated, "chunk"),
                are(n.under_replicated),
                by_healthy(n),
                repair_phrase(f)
            ));
        }
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(": {}", why.join("; "))
        };
        out.push(warn(
            kind,
            format!("{name} is {}{why}", wire_name(&d.state)),
        ));
    } else if d.capacity_bytes > 0 && d.free_bytes < FULL_BELOW_BYTES {
        out.push(warn(
            "disk_full",
            format!(
                "{name} is full: {} free, new replicas go elsewhere",
                human_bytes(d.free_bytes)
            ),
        ));
    }
}

fn under_replicated(f: &Facts<'_>, out: &mut Vec<Warning>) {
    let Some(r) = f.repair else {
        return;
    };
    let Some(l) = &r.ledger else {
        out.push(warn(
            "ledger_pending",
            "durability unknown: the leader has not finished its first ledger sweep since it \
             took over; try again in a few seconds"
                .into(),
        ));
        return;
    };
    let t = &l.total;
    let repairable = t.under_replicated.saturating_sub(t.zero);
    if repairable == 0 {
        return;
    }
    let healthy = ReplicaCounts {
        zero: 0,
        ..t.clone()
    };
    if repair_paused(f) {
        out.push(warn(
            "repair_paused",
            "repair is paused (repair.concurrency is 0) while chunks are under-replicated: \
             `trireme worker set repair.concurrency 4` resumes it"
                .into(),
        ));
    }
    out.push(warn(
        "under_replicated",
        format!(
            "{} under-replicated ({}; {}): {}",
            chunks_are(repairable),
            by_healthy(&healthy),
            human_bytes(t.under_replicated_bytes),
            repair_phrase(f)
        ),
    ));
}

/// The durability, repair and scrub lines and the warnings of `cluster status` (after its
/// capacity line); `verdict` is `trireme repair status`'s last line.
pub fn render(r: &StatusReport, verdict: Option<&str>, now: u64) -> String {
    const PAD: &str = "              ";
    let mut out = String::new();
    match &r.durability {
        Some(DurabilitySummary {
            chunks: Some(c),
            swept_at_ms,
            ..
        }) => {
            out.push_str(&format!(
                "durability    {} chunks (3+ healthy replicas: {}, 2: {}, 1: {}, none: {}), \
                 swept {}\n",
                c.total(),
                c.three,
                c.two,
                c.one,
                c.zero,
                ago(swept_at_ms.map(|ms| now.saturating_sub(ms)))
            ));
            if let Some(v) = verdict {
                out.push_str(&format!("{PAD}{v}\n"));
            }
        }
        Some(_) => out.push_str(
            "durability    unknown: the leader has not finished its first sweep since it took over\n",
        ),
        None => out.push_str("durability    unknown (repair status not fetched)\n"),
    }
    if let Some(d) = &r.durability {
        let p = &d.repair;
        let eta = p
            .eta_s
            .map(|s| format!(", about {} left", duration_words(s)))
            .unwrap_or_default();
        out.push_str(&format!(
            "repair        {} in flight, {} queued, {}{eta}; {} repaired since this leader took over\n",
            count(u64::from(p.active), "copy"),
            count(p.queued, "chunk"),
            mib_per_s(p.rate_bytes_per_s),
            count(p.repaired_chunks, "chunk"),
        ));
    }
    if let Some(s) = &r.scrub {
        let oldest = match s.oldest_complete_pass_ms {
            Some(ms) => format!("oldest last complete pass {}", when(ms, now)),
            None if s.reporting == 0 => "no chunkserver reports scrub progress".into(),
            None => "some chunkserver has not completed a pass yet".into(),
        };
        out.push_str(&format!(
            "scrub         {}, pass {}: {}/{} chunks verified in the current passes, {} bad found; {oldest}\n",
            if s.running { "running" } else { "paused" },
            s.epoch,
            s.chunks_done,
            s.chunks_total,
            s.bad_found,
        ));
    }
    out.push('\n');
    if r.warnings.is_empty() {
        out.push_str("warnings      none\n");
    } else {
        out.push_str(&format!("warnings ({}):\n", r.warnings.len()));
        for w in &r.warnings {
            out.push_str(&format!("  - {}\n", w.message));
        }
    }
    for e in &r.errors {
        out.push_str(&format!("not fetched: {e}\n"));
    }
    out
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
