//! The benchmark report: one [`Report`] value, printed as JSON (`--json`) or as text
//! (a header, one table row per phase and operation, client CPU, errors, the ceilings and
//! each result as a share of its ceiling).

use super::ceilings::Ratio;
use super::config::Config;
use super::limits::Ceilings;
use super::op::Op;
use super::runner::PhaseResult;
use super::stats::OpStats;
use serde::Serialize;

const MIB: f64 = 1024.0 * 1024.0;

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct OpReport {
    pub op: Op,
    /// Successful operations.
    pub ops: u64,
    pub errors: u64,
    pub ops_per_s: f64,
    /// Payload bytes moved by successful operations.
    pub bytes: u64,
    pub mib_per_s: f64,
    /// LIST: keys listed.
    pub items: u64,
    pub latency_ms: Latency,
    pub first_errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PhaseReport {
    /// `prepare`, `run` or `cleanup`.
    pub name: String,
    pub wall_s: f64,
    pub requests: u64,
    pub client_cpu_s: f64,
    /// Client CPU (user + system, whole process) per HTTP request.
    pub client_cpu_us_per_request: f64,
    /// Client CPU per GiB of payload moved (None when no payload moved).
    pub client_cpu_s_per_gib: Option<f64>,
    pub ops: Vec<OpReport>,
    /// What the local cluster's servers spent (endpoints from a cluster file only).
    pub servers: Option<ServerReport>,
}

/// The servers' side of a phase: CPU per process group and in all, per GiB of payload, and
/// the bytes the data disk read.
#[derive(Clone, Debug, Serialize)]
pub struct ServerReport {
    pub cpu_s: std::collections::BTreeMap<String, f64>,
    pub total_cpu_s: f64,
    /// All servers' CPU per GiB of payload moved (None when no payload moved).
    pub cpu_s_per_gib: Option<f64>,
    pub disk_read_bytes: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    pub workload: Option<String>,
    pub endpoint: Option<String>,
    pub endpoint_from: Option<String>,
    pub bucket: String,
    pub size: u64,
    pub concurrency: u64,
    pub duration_s: Option<f64>,
    pub objects: Option<u64>,
    /// Objects written before the measured phase (0 with --no-prepare).
    pub prepared: u64,
    pub seed: u64,
    pub prefixes: u64,
    pub key_prefix: String,
    pub verify: bool,
    pub sign_payload: bool,
    pub mix: Option<String>,
    pub multipart_threshold: u64,
    pub part_size: u64,
    pub replicas: u64,
}

/// Everything a run produced.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub settings: Settings,
    pub phases: Vec<PhaseReport>,
    pub wall_s: f64,
    /// Operations of every phase, and those that failed.
    pub total_ops: u64,
    pub total_errors: u64,
    pub error_rate: f64,
    pub max_error_rate: f64,
    pub limits: Option<Ceilings>,
    pub ratios: Vec<Ratio>,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn op_report(op: Op, s: &OpStats, secs: f64) -> OpReport {
    let h = &s.latency;
    OpReport {
        op,
        ops: s.ops,
        errors: s.errors,
        ops_per_s: s.ops as f64 / secs,
        bytes: s.bytes,
        mib_per_s: s.bytes as f64 / MIB / secs,
        items: s.items,
        latency_ms: Latency {
            p50: ms(h.quantile(0.5)),
            p90: ms(h.quantile(0.9)),
            p99: ms(h.quantile(0.99)),
            p999: ms(h.quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1e6,
        },
        first_errors: s.first_errors.clone(),
    }
}

pub fn phase_report(p: &PhaseResult) -> PhaseReport {
    let secs = p.wall.as_secs_f64().max(1e-9);
    let bytes: u64 = p.stats.results().iter().map(|(_, s)| s.bytes).sum();
    PhaseReport {
        name: p.name.to_string(),
        wall_s: p.wall.as_secs_f64(),
        requests: p.requests,
        client_cpu_s: p.cpu.as_secs_f64(),
        client_cpu_us_per_request: if p.requests == 0 {
            0.0
        } else {
            p.cpu.as_secs_f64() * 1e6 / p.requests as f64
        },
        client_cpu_s_per_gib: (bytes > 0)
            .then(|| p.cpu.as_secs_f64() / (bytes as f64 / (1u64 << 30) as f64)),
        ops: p
            .stats
            .results()
            .into_iter()
            .map(|(op, s)| op_report(op, s, secs))
            .collect(),
        servers: p.servers.as_ref().map(|u| ServerReport {
            cpu_s: u.cpu_s.clone(),
            total_cpu_s: u.total_cpu_s(),
            cpu_s_per_gib: (bytes > 0 && !u.cpu_s.is_empty())
                .then(|| u.total_cpu_s() / (bytes as f64 / (1u64 << 30) as f64)),
            disk_read_bytes: u.disk_read_bytes,
        }),
    }
}

pub fn settings(cfg: &Config) -> Settings {
    Settings {
        workload: cfg.workload.map(|w| w.name().to_string()),
        endpoint: cfg.target.as_ref().map(|t| t.endpoint.base.clone()),
        endpoint_from: cfg.target.as_ref().map(|t| t.source.clone()),
        bucket: cfg.bucket.clone(),
        size: cfg.size,
        concurrency: cfg.concurrency,
        duration_s: cfg.duration.map(|d| d.as_secs_f64()),
        objects: cfg.objects,
        prepared: cfg.prepare,
        seed: cfg.seed,
        prefixes: cfg.prefixes,
        key_prefix: cfg.key_prefix.clone(),
        verify: cfg.verify,
        sign_payload: cfg.sign_payload,
        mix: (cfg.workload == Some(super::args::Workload::Mixed)).then(|| cfg.mix.describe()),
        multipart_threshold: cfg.multipart.threshold,
        part_size: cfg.multipart.part_size,
        replicas: cfg.replicas,
    }
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
