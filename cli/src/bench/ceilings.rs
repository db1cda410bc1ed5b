//! Results as shares of the machine's ceilings ([`super::limits::Ceilings`]).
//!
//! - PUT of large objects (1 MiB and up): every byte is written `replicas` times on this
//!   host, so the ceiling is the disk's sequential write rate / replicas.
//! - PUT of small objects: each one needs durable writes, so the ceiling is fsync'd 4 KiB
//!   writes per second (at depth 16 with concurrency, at depth 1 without).
//! - GET of large objects: the disk's sequential read rate, or the page-cache copy rate when
//!   the data came from the cache: the row says which. When the data disk's read counter is
//!   known (a local cluster, or `--limits` on the data disk) it decides: less than half the
//!   payload read from the disk means cached. Otherwise the guess is that the objects'
//!   replicas sit in the cache when they fit in half the available memory.
//! - Small GETs, HEAD, DELETE and LIST have no hardware ceiling here (they are bound by
//!   per-request costs), so they get no row.

use super::config::Config;
use super::limits::Ceilings;
use super::op::Op;
use super::runner::PhaseResult;
use serde::Serialize;

/// Objects at least this large are judged by bandwidth, smaller ones by operations.
pub const LARGE: u64 = 1 << 20;

/// One result against its ceiling.
#[derive(Clone, Debug, Serialize)]
pub struct Ratio {
    pub phase: String,
    pub op: Op,
    /// `MiB/s` or `ops/s`.
    pub unit: &'static str,
    pub measured: f64,
    pub ceiling: f64,
    /// What the ceiling is, in words.
    pub ceiling_is: String,
    /// measured / ceiling.
    pub ratio: f64,
}

const MIB: f64 = 1024.0 * 1024.0;

/// Whether a large GET phase was served from the page cache: by the disk's read counter
/// when known, else by [`likely_cached`].
pub fn served_cached(cfg: &Config, c: &Ceilings, p: &PhaseResult, payload: u64) -> bool {
    match p.servers.as_ref().and_then(|s| s.disk_read_bytes) {
        Some(read) => read < payload / 2,
        None => likely_cached(cfg, c),
    }
}

/// Whether the objects' replicas likely sit in the page cache.
pub fn likely_cached(cfg: &Config, c: &Ceilings) -> bool {
    let on_server = cfg
        .existing
        .saturating_mul(cfg.size)
        .saturating_mul(cfg.replicas);
    c.mem_available_bytes.is_some_and(|m| on_server <= m / 2)
}

fn cached_words(p: &PhaseResult, payload: u64) -> String {
    if p.servers.as_ref().and_then(|s| s.disk_read_bytes).is_some() {
        format!("page-cache read (cached{})", read_share(p, payload))
    } else {
        "page-cache read (the replicas fit in memory: cached)".to_string()
    }
}

/// ": 97% of the payload read from the disk" when the disk counter is known.
fn read_share(p: &PhaseResult, payload: u64) -> String {
    match p.servers.as_ref().and_then(|s| s.disk_read_bytes) {
        Some(read) if payload > 0 => format!(
            ": {:.0}% of the payload read from the disk",
            read as f64 * 100.0 / payload as f64
        ),
        _ => String::new(),
    }
}

/// The rows for every PUT and GET result of the prepare and measured phases.
pub fn ratios(cfg: &Config, phases: &[PhaseResult], c: &Ceilings) -> Vec<Ratio> {
    let large = cfg.size >= LARGE;
    let mut out = Vec::new();
    for p in phases.iter().filter(|p| p.name != "cleanup") {
        let secs = p.wall.as_secs_f64().max(1e-9);
        for (op, s) in p.stats.results() {
            if s.ops == 0 {
                continue;
            }
            let mib = s.bytes as f64 / MIB / secs;
            let ops = s.ops as f64 / secs;
            let row = match (op, large) {
                (Op::Put, true) => Some((
                    "MiB/s",
                    mib,
                    c.seq_write.bytes_per_s / MIB / cfg.replicas as f64,
                    format!(
                        "disk sequential write / {} replicas ({})",
                        cfg.replicas, c.seq_write.method
                    ),
                )),
                (Op::Put, false) => {
                    let (rate, depth) = if cfg.concurrency > 1 {
                        (c.fsync_4k_per_s_depth16, 16)
                    } else {
                        (c.fsync_4k_per_s_depth1, 1)
                    };
                    Some((
                        "ops/s",
                        ops,
                        rate,
                        format!("fsync'd 4 KiB writes per second at depth {depth}"),
                    ))
                }
                (Op::Get, true) if served_cached(cfg, c, p, s.bytes) => Some((
                    "MiB/s",
                    mib,
                    c.cached_read.bytes_per_s / MIB,
                    cached_words(p, s.bytes),
                )),
                (Op::Get, true) => Some((
                    "MiB/s",
                    mib,
                    c.seq_read.bytes_per_s / MIB,
                    format!(
                        "disk sequential read ({}){}",
                        c.seq_read.method,
                        read_share(p, s.bytes)
                    ),
                )),
                _ => None,
            };
            if let Some((unit, measured, ceiling, ceiling_is)) = row {
                out.push(Ratio {
                    phase: p.name.to_string(),
                    op,
                    unit,
                    measured,
                    ceiling,
                    ceiling_is,
                    ratio: if ceiling > 0.0 {
                        measured / ceiling
                    } else {
                        0.0
                    },
                });
            }
        }
    }
    out
}
