//! `/metrics` of a meta-server, Prometheus text format: Raft role and indexes on every node;
//! on the leader also the durability ledger, repair progress, chunkserver and disk states,
//! and the workers' counters.

use crate::node::{lock, MetaNode};
use std::fmt::Write;
use trireme_api::meta::{ChunkserverState, DiskState};

/// Escapes a label value (backslash, quote, newline).
pub fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn gauge(out: &mut String, name: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, v) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {v}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
}

pub fn render(node: &MetaNode) -> String {
    let mut out = String::new();
    let m = node.raft.metrics().borrow().clone();
    let leader = node.is_leader();
    gauge(
        &mut out,
        "trireme_meta_is_leader",
        "1 on the Raft leader",
        &[(String::new(), leader as u8 as f64)],
    );
    gauge(
        &mut out,
        "trireme_meta_term",
        "current Raft term",
        &[(String::new(), m.current_term as f64)],
    );
    gauge(
        &mut out,
        "trireme_meta_last_applied",
        "last applied log index",
        &[(
            String::new(),
            m.last_applied.map(|l| l.index).unwrap_or(0) as f64,
        )],
    );
    if !leader {
        return out;
    }
    let d = &node.durability;
    let progress = d.progress(node);
    let complete = d.complete(node);
    let (ledger, workers) = d.with(node, |g| (g.ledger.clone(), g.workers.clone()));
    if let Some(l) = &ledger {
        let t = &l.total;
        let by = [("3", t.three), ("2", t.two), ("1", t.one), ("0", t.zero)];
        gauge(
            &mut out,
            "trireme_chunks_by_healthy_replicas",
            "chunks by number of healthy replicas (3 means 3 or more)",
            &by.iter()
                .map(|(k, v)| (format!("healthy=\"{k}\""), *v as f64))
                .collect::<Vec<_>>(),
        );
        gauge(
            &mut out,
            "trireme_chunks_under_replicated",
            "chunks below their wanted replica count",
            &[(String::new(), t.under_replicated as f64)],
        );
        gauge(
            &mut out,
            "trireme_bytes_under_replicated",
            "bytes of under-replicated chunks (one copy)",
            &[(String::new(), t.under_replicated_bytes as f64)],
        );
        gauge(
            &mut out,
            "trireme_chunks_lost",
            "chunks with no healthy replica",
            &[(String::new(), t.zero as f64)],
        );
        let mut disk_samples = Vec::new();
        for dl in &l.by_disk {
            let c = &dl.counts;
            for (k, v) in [("3", c.three), ("2", c.two), ("1", c.one), ("0", c.zero)] {
                disk_samples.push((
                    format!(
                        "chunkserver=\"{}\",disk=\"{}\",healthy=\"{k}\"",
                        dl.chunkserver,
                        escape(&dl.disk.0)
                    ),
                    v as f64,
                ));
            }
        }
        gauge(
            &mut out,
            "trireme_disk_chunks_by_healthy_replicas",
            "chunks with a replica on the disk, by healthy replicas",
            &disk_samples,
        );
        gauge(
            &mut out,
            "trireme_ledger_swept_at_seconds",
            "unix time of the last ledger sweep",
            &[(String::new(), l.swept_at_ms as f64 / 1000.0)],
        );
    }
    gauge(
        &mut out,
        "trireme_repair_active",
        "repair copies in flight",
        &[(String::new(), progress.active as f64)],
    );
    gauge(
        &mut out,
        "trireme_repair_queued",
        "chunks queued for repair",
        &[(String::new(), progress.queued as f64)],
    );
    gauge(
        &mut out,
        "trireme_repair_chunks_total",
        "chunks repaired since this node became leader",
        &[(String::new(), progress.repaired_chunks as f64)],
    );
    gauge(
        &mut out,
        "trireme_repair_bytes_total",
        "bytes repaired since this node became leader",
        &[(String::new(), progress.repaired_bytes as f64)],
    );
    gauge(
        &mut out,
        "trireme_repair_failed_total",
        "failed repair copies since this node became leader",
        &[(String::new(), progress.failed_copies as f64)],
    );
    gauge(
        &mut out,
        "trireme_repair_rate_bytes_per_second",
        "repair rate over the last minute",
        &[(String::new(), progress.rate_bytes_per_s)],
    );
    gauge(
        &mut out,
        "trireme_repair_complete",
        "1 when the last sweep proved every chunk fully replicated",
        &[(String::new(), complete as u8 as f64)],
    );
    if let Ok(records) = node.reader.list_chunkservers() {
        let alive = lock(&node.heartbeats).clone();
        gauge(
            &mut out,
            "trireme_chunkserver_up",
            "1 if Raft records the chunkserver as up",
            &records
                .iter()
                .map(|r| {
                    (
                        format!("chunkserver=\"{}\"", r.id),
                        (r.state == ChunkserverState::Up) as u8 as f64,
                    )
                })
                .collect::<Vec<_>>(),
        );
        gauge(
            &mut out,
            "trireme_chunkserver_heartbeat_age_seconds",
            "seconds since the chunkserver's last heartbeat reached this leader",
            &alive
                .iter()
                .map(|(id, s)| {
                    (
                        format!("chunkserver=\"{id}\""),
                        s.last_seen.elapsed().as_secs_f64(),
                    )
                })
                .collect::<Vec<_>>(),
        );
        let mut samples = Vec::new();
        for r in &records {
            for disk in &r.disks {
                for st in [
                    DiskState::Healthy,
                    DiskState::Suspect,
                    DiskState::Failed,
                    DiskState::Draining,
                    DiskState::Offline,
                ] {
                    samples.push((
                        format!(
                            "chunkserver=\"{}\",disk=\"{}\",state=\"{}\"",
                            r.id,
                            escape(&disk.disk_id.0),
                            st.as_str()
                        ),
                        (disk.state == st) as u8 as f64,
                    ));
                }
            }
        }
        gauge(
            &mut out,
            "trireme_disk_state",
            "1 for the disk's current state",
            &samples,
        );
    }
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for w in workers.values() {
        let labels = format!(
            "worker=\"{}\",node=\"{}\"",
            escape(&w.name),
            escape(&w.node)
        );
        items.push((labels.clone(), w.items as f64));
        errors.push((labels, w.errors as f64));
    }
    gauge(
        &mut out,
        "trireme_worker_items_total",
        "items processed by the worker",
        &items,
    );
    gauge(
        &mut out,
        "trireme_worker_errors_total",
        "errors of the worker",
        &errors,
    );
    out
}
