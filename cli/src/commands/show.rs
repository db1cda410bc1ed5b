//! `trireme chunkserver show ID` and `trireme disk show DISK`: one chunkserver or one disk in
//! detail (states as reported and as Raft records them, liveness, health figures, capacity,
//! chunk count from the location index) and what is at risk if it failed now.

use crate::cluster::Cluster;
use crate::error::{one_line, CliError};
use crate::output::{
    ago, count, emit, fields, human_bytes, micros, now_ms, opt, print_json, when, wire_name,
};
use crate::table::Table;
use std::path::Path;
use trireme_api::durability::{ReplicaCounts, WorkerStatus};
use trireme_api::ids::DiskId;
use trireme_api::inspect::{
    AtRisk, DiskDetail, DiskSelector, ShowChunkserver, ShowChunkserverResponse, ShowDisk,
    ShowDiskResponse,
};
use trireme_api::meta::ChunkserverState;

pub async fn chunkserver(
    cluster: &Cluster,
    id: u64,
    limit: u32,
    json: bool,
) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&ShowChunkserver { id, limit })
        .await
        .map_err(|e| CliError::from_client(&format!("show chunkserver {id}"), e))?;
    if json {
        return print_json(&resp);
    }
    emit(&render_chunkserver(&resp, limit, now_ms()))
}

pub async fn disk(cluster: &Cluster, arg: &str, limit: u32, json: bool) -> Result<(), CliError> {
    let disk = parse_selector(arg)?;
    let resp = cluster
        .client
        .call(&ShowDisk { disk, limit })
        .await
        .map_err(|e| CliError::from_client(&format!("show disk {arg}"), e))?;
    if json {
        return print_json(&resp);
    }
    emit(&render_disk(&resp, limit, now_ms()))
}

/// `3/1` is chunkserver 3's disk 1, anything else with a `/` a path, anything else a disk
/// id. A relative path or one with `.` or `..` is resolved here when it exists (the
/// chunkservers report absolute paths); an absolute one is sent as given.
pub fn parse_selector(arg: &str) -> Result<DiskSelector, CliError> {
    if arg.is_empty() {
        return Err(CliError::Usage("no disk named".into()));
    }
    if let Some((cs, index)) = arg.split_once('/') {
        if let (Ok(chunkserver), Ok(index)) = (cs.parse(), index.parse()) {
            return Ok(DiskSelector::Index { chunkserver, index });
        }
    }
    if !arg.contains('/') {
        return Ok(DiskSelector::Id(DiskId(arg.to_string())));
    }
    let p = Path::new(arg);
    let plain = p.is_absolute() && arg.split('/').all(|s| s != "." && s != "..");
    let path = if plain {
        arg.to_string()
    } else {
        std::fs::canonicalize(p).map_or_else(|_| arg.to_string(), |p| p.display().to_string())
    };
    Ok(DiskSelector::Path(path))
}

fn alive(a: bool) -> &'static str {
    if a {
        "alive"
    } else {
        "down"
    }
}

pub fn render_chunkserver(r: &ShowChunkserverResponse, limit: u32, now: u64) -> String {
    let c = &r.chunkserver;
    let sum = |f: fn(&DiskDetail) -> u64| r.disks.iter().map(f).sum::<u64>();
    let mut rows = vec![
        ("chunkserver", format!("{} ({})", c.id, c.addr)),
        (
            "state",
            format!(
                "{} (Raft), {}: last heartbeat {}",
                wire_name(&c.state),
                alive(c.alive),
                ago(c.last_heartbeat_ms_ago)
            ),
        ),
        (
            "capacity",
            format!(
                "{} total, {} free, {} in chunks",
                human_bytes(sum(|d| d.report.capacity_bytes)),
                human_bytes(sum(|d| d.report.free_bytes)),
                human_bytes(sum(|d| d.report.used_bytes))
            ),
        ),
        (
            "chunks",
            format!(
                "{} in the location index ({} files reported)",
                r.risk.now.total(),
                sum(|d| d.report.chunk_count)
            ),
        ),
    ];
    if let Some(s) = &r.scrub {
        let done = if s.chunks_total > 0 {
            format!("{}/{} chunks", s.chunks_done, s.chunks_total)
        } else {
            "no chunk yet".into()
        };
        rows.push((
            "scrub",
            format!(
                "{}, pass {}: {done}, {} bad found; last complete pass {}",
                wire_name(&s.state),
                s.epoch,
                s.bad_found,
                s.last_pass_completed_ms
                    .map_or_else(|| "never".into(), |ms| when(ms, now))
            ),
        ));
    }
    let mut out = fields(&rows);
    out.push_str("\ndisks:\n");
    out.push_str(&disk_table(&r.disks, now));
    if !r.workers.is_empty() {
        out.push_str("\nworkers:\n");
        out.push_str(&workers(&r.workers));
    }
    let down = c.state != ChunkserverState::Up;
    out.push_str(&heading(&format!("chunkserver {}", c.id), down));
    out.push_str(&risk(&r.risk, limit, &format!("chunkserver {}", c.id)));
    out
}

fn disk_table(disks: &[DiskDetail], now: u64) -> String {
    let mut t = Table::new(&[
        "INDEX",
        "DISK",
        "PATH",
        "STATE",
        "RAFT",
        "CHUNKS",
        "CAPACITY",
        "FREE",
        "USED",
        "PROBE",
        "READ P99",
        "WRITE P99",
        "IO ERRORS",
        "CORRUPT",
        "LAST SCRUB",
    ])
    .right(&[0, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    for d in disks {
        let h = &d.report.health;
        t.row([
            d.index.to_string(),
            d.report.disk_id.to_string(),
            d.report.path.clone(),
            if d.reported {
                wire_name(&d.report.state)
            } else {
                "no report".into()
            },
            d.recorded_state
                .map_or_else(|| "-".into(), |s| wire_name(&s)),
            d.indexed_chunks.to_string(),
            human_bytes(d.report.capacity_bytes),
            human_bytes(d.report.free_bytes),
            human_bytes(d.report.used_bytes),
            probe(h.probe_latency_us, h.consecutive_failures),
            opt(h.read_p99_us.map(micros)),
            opt(h.write_p99_us.map(micros)),
            h.io_errors.to_string(),
            h.corrupt_replicas.to_string(),
            h.last_scrub_ms
                .map_or_else(|| "never".into(), |ms| when(ms, now)),
        ]);
    }
    t.render()
}

fn probe(latency_us: Option<u64>, failures: u32) -> String {
    match (latency_us, failures) {
        (_, n) if n > 0 => format!("failed x{n}"),
        (Some(us), _) => micros(us),
        (None, _) => "-".into(),
    }
}

fn workers(ws: &[WorkerStatus]) -> String {
    let mut t = Table::new(&[
        "WORKER",
        "STATE",
        "ITEMS",
        "ERRORS",
        "PROGRESS",
        "LAST ERROR",
    ])
    .right(&[2, 3]);
    for w in ws {
        t.row([
            w.name.clone(),
            wire_name(&w.state),
            w.items.to_string(),
            w.errors.to_string(),
            w.progress.clone().unwrap_or_default(),
            w.last_error.as_deref().map(one_line).unwrap_or_default(),
        ]);
    }
    t.render()
}

pub fn render_disk(r: &ShowDiskResponse, limit: u32, now: u64) -> String {
    let d = &r.disk;
    let h = &d.report.health;
    let reported = if d.reported {
        format!("{} (reported)", wire_name(&d.report.state))
    } else {
        "no report since this leader took over".into()
    };
    let recorded = d.recorded_state.map_or_else(
        || "not recorded".into(),
        |s| format!("{} (Raft)", wire_name(&s)),
    );
    let pair = |p50: Option<u64>, p99: Option<u64>| match (p50, p99) {
        (None, None) => "-".to_string(),
        (a, b) => format!("p50 {}, p99 {}", opt(a.map(micros)), opt(b.map(micros))),
    };
    let rows = vec![
        (
            "disk",
            format!(
                "{} (chunkserver {}, index {})",
                d.report.disk_id, r.chunkserver, d.index
            ),
        ),
        ("path", d.report.path.clone()),
        ("state", format!("{reported}, {recorded}")),
        (
            "chunkserver",
            format!(
                "{} ({}): {} (Raft), {}, last heartbeat {}",
                r.chunkserver,
                r.chunkserver_addr,
                wire_name(&r.chunkserver_state),
                alive(r.chunkserver_alive),
                ago(r.last_heartbeat_ms_ago)
            ),
        ),
        (
            "capacity",
            format!(
                "{} total, {} free, {} in chunks",
                human_bytes(d.report.capacity_bytes),
                human_bytes(d.report.free_bytes),
                human_bytes(d.report.used_bytes)
            ),
        ),
        (
            "chunks",
            format!(
                "{} in the location index ({} files reported)",
                d.indexed_chunks, d.report.chunk_count
            ),
        ),
        (
            "probe",
            format!(
                "{}, last {}, {} failed in a row",
                probe(h.probe_latency_us, 0),
                ago(h.last_probe_ms_ago),
                h.consecutive_failures
            ),
        ),
        ("reads", pair(h.read_p50_us, h.read_p99_us)),
        ("writes", pair(h.write_p50_us, h.write_p99_us)),
        (
            "errors",
            format!(
                "{}, {} found",
                count(h.io_errors, "I/O error"),
                count(h.corrupt_replicas, "corrupt replica")
            ),
        ),
        ("reason", opt(h.reason.as_deref().map(one_line))),
        ("last error", opt(h.last_error.as_deref().map(one_line))),
        (
            "last scrub",
            h.last_scrub_ms
                .map_or_else(|| "never".into(), |ms| when(ms, now)),
        ),
    ];
    let mut out = fields(&rows);
    let down = r.chunkserver_state != ChunkserverState::Up
        || d.recorded_state.is_none_or(|s| !s.holds_healthy_replicas());
    out.push_str(&heading(&format!("disk {}", d.report.disk_id), down));
    out.push_str(&risk(&r.risk, limit, &format!("disk {}", d.report.disk_id)));
    out
}

/// The at-risk section's heading; a chunkserver or disk already down changes nothing more.
fn heading(what: &str, down: bool) -> String {
    if down {
        format!("\nif {what} failed now (it is down: its replicas already do not count):\n")
    } else {
        format!("\nif {what} failed now:\n")
    }
}

fn by_replicas(c: &ReplicaCounts) -> String {
    format!(
        "{} (3+ healthy replicas: {}, 2: {}, 1: {}, none: {})",
        c.total(),
        c.three,
        c.two,
        c.one,
        c.zero
    )
}

/// The at-risk section: chunks by healthy replicas now and after a failure, and the objects
/// that would lose data, ending with a verdict line.
pub fn risk(r: &AtRisk, limit: u32, what: &str) -> String {
    let mut out = fields(&[
        ("chunks with a replica here", by_replicas(&r.now)),
        ("after the failure", by_replicas(&r.if_failed)),
        ("bytes", human_bytes(r.bytes)),
    ]);
    if r.would_lose_chunks == 0 {
        let left = &r.if_failed;
        let verdict = if r.now.total() == 0 {
            format!("nothing at risk: no chunk has a replica on {what}")
        } else if left.one + left.two == 0 {
            "nothing at risk: every chunk here keeps 3 or more healthy replicas elsewhere".into()
        } else {
            format!(
                "no data would be lost; {} would be left with 1 healthy replica and {} with 2",
                count(left.one, "chunk"),
                left.two
            )
        };
        out.push_str(&format!("{verdict}\n"));
        return out;
    }
    out.push_str(&format!(
        "DATA WOULD BE LOST: {} on {what}\n",
        if r.would_lose_chunks == 1 {
            "1 chunk has its only healthy replica".to_string()
        } else {
            format!(
                "{} chunks have their only healthy replica",
                r.would_lose_chunks
            )
        }
    ));
    if r.objects.is_empty() {
        if limit == 0 {
            out.push_str("(objects not listed: --limit 0)\n");
        } else {
            out.push_str("they belong to multipart uploads in progress, no object yet\n");
        }
        return out;
    }
    out.push_str("objects that would lose data:\n");
    let mut t = Table::new(&["BUCKET", "KEY", "SIZE", "CHUNKS"]).right(&[2, 3]);
    for o in &r.objects {
        t.row([
            o.bucket.clone(),
            o.key.clone(),
            human_bytes(o.size),
            o.chunks.len().to_string(),
        ]);
    }
    out.push_str(&t.render());
    if r.objects_truncated {
        out.push_str(&format!(
            "more objects would lose data: only the first {limit} are listed (--limit)\n"
        ));
    }
    out
}

#[cfg(test)]
#[path = "show_tests.rs"]
mod tests;
