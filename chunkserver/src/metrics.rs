//! `GET /metrics`: Prometheus text exposition (format 0.0.4), written by hand. Served
//! without the cluster secret. Every family is prefixed `trireme_chunkserver_`:
//!
//! - per disk (labels `disk`, `path`): `disk_state` (one series per state, label `state`,
//!   1 for the current one), `disk_capacity_bytes`, `disk_free_bytes`, `disk_used_bytes`,
//!   `disk_chunks`, `disk_io_errors_total`, `disk_corrupt_replicas_total`,
//!   `disk_probe_latency_seconds`, `disk_probe_consecutive_failures`,
//!   `disk_read_latency_seconds` and `disk_write_latency_seconds` (label `quantile` 0.5 and
//!   0.99, recent real traffic), `disk_read_bytes_total`, `disk_read_chunks_total`,
//!   `disk_written_bytes_total`, `disk_written_chunks_total`,
//!   `disk_last_scrub_timestamp_seconds`;
//! - scrub: `scrub_epoch`, `scrub_state` (label `state`), `scrub_chunks_done`,
//!   `scrub_chunks_total`, `scrub_bytes_done`, `scrub_verified_total`,
//!   `scrub_bad_found_total`, `scrub_last_pass_completed_timestamp_seconds`;
//! - workers (label `worker`): `worker_state` (label `state`), `worker_items_total`,
//!   `worker_bytes_total`, `worker_errors_total`;
//! - `bad_replica_reports_pending`, `bad_replica_reports_sent_total`.

use crate::shared::Shared;
use crate::store::Store;
use std::fmt::{Display, Write};
use std::sync::atomic::Ordering;
use trireme_api::durability::{ScrubProgress, WorkerState, WorkerStatus};
use trireme_api::meta::{DiskReport, DiskState};

const PREFIX: &str = "trireme_chunkserver_";
const DISK_STATES: [DiskState; 5] = [
    DiskState::Healthy,
    DiskState::Suspect,
    DiskState::Failed,
    DiskState::Draining,
    DiskState::Offline,
];
const WORKER_STATES: [WorkerState; 4] = [
    WorkerState::Idle,
    WorkerState::Busy,
    WorkerState::Throttled,
    WorkerState::Paused,
];

/// A counter family: name, help, and how to read it.
type Counter<T> = (&'static str, &'static str, fn(&T) -> u64);

/// One disk's numbers.
#[derive(Clone, Debug)]
pub struct DiskSnapshot {
    pub report: DiskReport,
    pub bytes_read: u64,
    pub chunks_read: u64,
    pub bytes_written: u64,
    pub chunks_written: u64,
}

/// Everything `/metrics` shows, taken at once.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub disks: Vec<DiskSnapshot>,
    pub scrub: ScrubProgress,
    pub workers: Vec<WorkerStatus>,
    pub reports_pending: u64,
    pub reports_sent: u64,
}

/// Collects the numbers of this chunkserver.
pub async fn snapshot(shared: &Shared) -> Snapshot {
    let disks = shared.store.disks();
    let reports = Store::reports_of(disks.clone()).await;
    let disks = disks
        .iter()
        .zip(reports)
        .map(|(disk, report)| {
            let t = &disk.monitor().traffic;
            DiskSnapshot {
                report,
                bytes_read: t.bytes_read.load(Ordering::Relaxed),
                chunks_read: t.chunks_read.load(Ordering::Relaxed),
                bytes_written: t.bytes_written.load(Ordering::Relaxed),
                chunks_written: t.chunks_written.load(Ordering::Relaxed),
            }
        })
        .collect();
    Snapshot {
        disks,
        scrub: shared.scrub().clone(),
        workers: shared.workers.statuses(),
        reports_pending: shared.reporter.pending() as u64,
        reports_sent: shared.reporter.sent(),
    }
}

/// Escapes a label value: backslash, double quote and newline.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The exposition text being written.
#[derive(Default)]
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {PREFIX}{name} {help}");
        let _ = writeln!(self.0, "# TYPE {PREFIX}{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        let _ = write!(self.0, "{PREFIX}{name}");
        if !labels.is_empty() {
            let body: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", body.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// A family with one sample per disk.
    fn per_disk<V: Display>(
        &mut self,
        disks: &[DiskSnapshot],
        name: &str,
        kind: &str,
        help: &str,
        value: impl Fn(&DiskSnapshot) -> Option<V>,
    ) {
        self.family(name, kind, help);
        for d in disks {
            if let Some(v) = value(d) {
                let (id, path) = (&d.report.disk_id.0, &d.report.path);
                self.sample(name, &[("disk", id), ("path", path)], v);
            }
        }
    }
}

fn secs_from_us(us: Option<u64>) -> Option<f64> {
    us.map(|us| us as f64 / 1e6)
}

fn worker_state(s: WorkerState) -> &'static str {
    match s {
        WorkerState::Idle => "idle",
        WorkerState::Busy => "busy",
        WorkerState::Throttled => "throttled",
        WorkerState::Paused => "paused",
    }
}

/// Renders a snapshot as Prometheus text.
pub fn render(s: &Snapshot) -> String {
    let mut o = Out::default();
    render_disks(&mut o, &s.disks);
    render_scrub(&mut o, &s.scrub);
    render_workers(&mut o, &s.workers);
    o.family(
        "bad_replica_reports_pending",
        "gauge",
        "Bad-replica reports waiting for the meta leader.",
    );
    o.sample("bad_replica_reports_pending", &[], s.reports_pending);
    o.family(
        "bad_replica_reports_sent_total",
        "counter",
        "Bad-replica reports the meta leader accepted.",
    );
    o.sample("bad_replica_reports_sent_total", &[], s.reports_sent);
    o.0
}

fn render_disks(o: &mut Out, disks: &[DiskSnapshot]) {
    o.family("disk_state", "gauge", "1 for the disk's current state.");
    for d in disks {
        for state in DISK_STATES {
            let labels = [
                ("disk", d.report.disk_id.0.as_str()),
                ("path", d.report.path.as_str()),
                ("state", state.as_str()),
            ];
            o.sample("disk_state", &labels, u8::from(d.report.state == state));
        }
    }
    let h = |d: &DiskSnapshot| d.report.health.clone();
    o.per_disk(
        disks,
        "disk_capacity_bytes",
        "gauge",
        "Filesystem size.",
        |d| Some(d.report.capacity_bytes),
    );
    o.per_disk(disks, "disk_free_bytes", "gauge", "Free bytes.", |d| {
        Some(d.report.free_bytes)
    });
    o.per_disk(
        disks,
        "disk_used_bytes",
        "gauge",
        "Bytes in chunk files.",
        |d| Some(d.report.used_bytes),
    );
    o.per_disk(disks, "disk_chunks", "gauge", "Chunk files.", |d| {
        Some(d.report.chunk_count)
    });
    o.per_disk(
        disks,
        "disk_io_errors_total",
        "counter",
        "I/O errors and failed probes.",
        |d| Some(h(d).io_errors),
    );
    let help = "Replicas found corrupt (reads, scrub, verification).";
    o.per_disk(disks, "disk_corrupt_replicas_total", "counter", help, |d| {
        Some(h(d).corrupt_replicas)
    });
    let help = "Latency of the last health probe that passed.";
    o.per_disk(disks, "disk_probe_latency_seconds", "gauge", help, |d| {
        secs_from_us(h(d).probe_latency_us)
    });
    let help = "Health probes failed in a row.";
    o.per_disk(
        disks,
        "disk_probe_consecutive_failures",
        "gauge",
        help,
        |d| Some(h(d).consecutive_failures),
    );
    for (name, what) in [
        ("disk_read_latency_seconds", "reads"),
        ("disk_write_latency_seconds", "writes"),
    ] {
        o.family(
            name,
            "gauge",
            &format!("Chunk {what} latency, recent traffic."),
        );
        for d in disks {
            let health = h(d);
            let (p50, p99) = match what {
                "reads" => (health.read_p50_us, health.read_p99_us),
                _ => (health.write_p50_us, health.write_p99_us),
            };
            for (q, v) in [("0.5", p50), ("0.99", p99)] {
                if let Some(v) = secs_from_us(v) {
                    let (id, path) = (d.report.disk_id.0.as_str(), d.report.path.as_str());
                    o.sample(name, &[("disk", id), ("path", path), ("quantile", q)], v);
                }
            }
        }
    }
    let counters: [Counter<DiskSnapshot>; 4] = [
        ("disk_read_bytes_total", "Chunk bytes read.", |d| {
            d.bytes_read
        }),
        ("disk_read_chunks_total", "Chunk reads.", |d| d.chunks_read),
        ("disk_written_bytes_total", "Chunk bytes written.", |d| {
            d.bytes_written
        }),
        ("disk_written_chunks_total", "Chunk writes.", |d| {
            d.chunks_written
        }),
    ];
    for (name, help, value) in counters {
        o.per_disk(disks, name, "counter", help, |d| Some(value(d)));
    }
    let help = "When the disk's last full scrub finished.";
    o.per_disk(
        disks,
        "disk_last_scrub_timestamp_seconds",
        "gauge",
        help,
        |d| h(d).last_scrub_ms.map(|ms| ms as f64 / 1e3),
    );
}

fn render_scrub(o: &mut Out, p: &ScrubProgress) {
    o.family(
        "scrub_epoch",
        "gauge",
        "Scrub epoch of the current or last pass.",
    );
    o.sample("scrub_epoch", &[], p.epoch);
    o.family(
        "scrub_state",
        "gauge",
        "1 for the scrub worker's current state.",
    );
    for state in WORKER_STATES {
        let name = worker_state(state);
        o.sample(
            "scrub_state",
            &[("state", name)],
            u8::from(p.state == state),
        );
    }
    let gauges = [
        (
            "scrub_chunks_done",
            "Chunks done in the current pass.",
            p.chunks_done,
        ),
        (
            "scrub_chunks_total",
            "Chunks in the current pass.",
            p.chunks_total,
        ),
        (
            "scrub_bytes_done",
            "Bytes done in the current pass.",
            p.bytes_done,
        ),
    ];
    for (name, help, v) in gauges {
        o.family(name, "gauge", help);
        o.sample(name, &[], v);
    }
    o.family(
        "scrub_verified_total",
        "counter",
        "Chunks verified by scrub.",
    );
    o.sample("scrub_verified_total", &[], p.verified_total);
    o.family(
        "scrub_bad_found_total",
        "counter",
        "Bad replicas scrub found.",
    );
    o.sample("scrub_bad_found_total", &[], p.bad_found);
    let name = "scrub_last_pass_completed_timestamp_seconds";
    o.family(name, "gauge", "When the last complete scrub pass finished.");
    if let Some(ms) = p.last_pass_completed_ms {
        o.sample(name, &[], ms as f64 / 1e3);
    }
}

fn render_workers(o: &mut Out, workers: &[WorkerStatus]) {
    o.family(
        "worker_state",
        "gauge",
        "1 for each worker's current state.",
    );
    for w in workers {
        for state in WORKER_STATES {
            let labels = [("worker", w.name.as_str()), ("state", worker_state(state))];
            o.sample("worker_state", &labels, u8::from(w.state == state));
        }
    }
    let counters: [Counter<WorkerStatus>; 3] = [
        ("worker_items_total", "Items a worker processed.", |w| {
            w.items
        }),
        ("worker_bytes_total", "Bytes a worker processed.", |w| {
            w.bytes
        }),
        ("worker_errors_total", "Errors a worker met.", |w| w.errors),
    ];
    for (name, help, value) in counters {
        o.family(name, "counter", help);
        for w in workers {
            o.sample(name, &[("worker", w.name.as_str())], value(w));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::ids::DiskId;
    use trireme_api::meta::DiskHealth;

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }

    #[test]
    fn renders_disks_scrub_and_workers() {
        let report = DiskReport {
            disk_id: DiskId("d1".into()),
            path: "/data/\"odd\"\\dir".into(),
            state: DiskState::Suspect,
            capacity_bytes: 100,
            free_bytes: 40,
            used_bytes: 60,
            chunk_count: 3,
            health: DiskHealth {
                read_p99_us: Some(1_500),
                ..DiskHealth::default()
            },
        };
        let s = Snapshot {
            disks: vec![DiskSnapshot {
                report,
                bytes_read: 7,
                chunks_read: 1,
                bytes_written: 0,
                chunks_written: 0,
            }],
            workers: vec![WorkerStatus {
                name: "scrub".into(),
                state: WorkerState::Paused,
                ..WorkerStatus::default()
            }],
            ..Snapshot::default()
        };
        let text = render(&s);
        let path = r#"path="/data/\"odd\"\\dir""#;
        assert!(text.contains(&format!(
            "trireme_chunkserver_disk_state{{disk=\"d1\",{path},state=\"suspect\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "trireme_chunkserver_disk_read_latency_seconds{{disk=\"d1\",{path},quantile=\"0.99\"}} 0.0015\n"
        )));
        assert!(text
            .contains("trireme_chunkserver_worker_state{worker=\"scrub\",state=\"paused\"} 1\n"));
        assert!(text.contains("trireme_chunkserver_disk_read_bytes_total{"));
        assert!(text.contains("# TYPE trireme_chunkserver_scrub_bad_found_total counter\n"));
    }
}
