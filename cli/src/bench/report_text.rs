//! The human form of a [`Report`]: what ran, a results table, client CPU, errors, the
//! ceilings and the shares of them.

use super::limits::Ceilings;
use super::op::Op;
use super::report::{Report, ServerReport};
use crate::output::human_bytes;
use crate::table::Table;
use std::fmt::Write as _;

const MIB: f64 = 1024.0 * 1024.0;

/// "server CPU: gateway 8.88 s, chunkserver 7.81 s, meta-server 0.26 s = 16.95 CPU-s
/// (5.65 per GiB); data disk read 0 B".
fn server_line(s: &ServerReport, large: bool) -> Option<String> {
    let mut parts = Vec::new();
    if !s.cpu_s.is_empty() {
        let groups: Vec<String> = s
            .cpu_s
            .iter()
            .map(|(g, c)| format!("{g} {c:.2} s"))
            .collect();
        let per_gib = s
            .cpu_s_per_gib
            .filter(|_| large)
            .map(|g| format!(" ({g:.2} per GiB)"))
            .unwrap_or_default();
        parts.push(format!(
            "server CPU {} = {:.2} CPU-s{per_gib}",
            groups.join(", "),
            s.total_cpu_s
        ));
    }
    if let Some(b) = s.disk_read_bytes {
        parts.push(format!("data disk read {}", human_bytes(b)));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// `812.3 MiB/s` or `1.52 GiB/s`.
pub fn rate(bytes_per_s: f64) -> String {
    let mib = bytes_per_s / MIB;
    if mib >= 1024.0 {
        format!("{:.2} GiB/s", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB/s")
    }
}

fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn lat(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 1.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.3}")
    }
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let s = &r.settings;
    if let Some(w) = &s.workload {
        let length = match (s.duration_s, s.objects) {
            (Some(d), Some(n)) => format!("{d}s or {n} operations"),
            (Some(d), None) => format!("{d}s"),
            (None, Some(n)) => format!("{n} operations"),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "trireme bench {w}: {} objects, concurrency {}, {length}, seed {}{}{}",
            human_bytes(s.size),
            s.concurrency,
            s.seed,
            s.mix
                .as_ref()
                .map(|m| format!(", mix {m}"))
                .unwrap_or_default(),
            if s.verify { ", verified" } else { "" },
        );
        let _ = writeln!(
            out,
            "endpoint {} ({}), bucket {}, keys {}* over {} prefixes\n",
            s.endpoint.as_deref().unwrap_or("-"),
            s.endpoint_from.as_deref().unwrap_or("-"),
            s.bucket,
            s.key_prefix,
            s.prefixes
        );
        out.push_str(&results_table(r));
        out.push('\n');
        for p in &r.phases {
            let per_gib = p
                .client_cpu_s_per_gib
                .filter(|_| r.settings.size >= super::ceilings::LARGE)
                .map(|g| format!(", {g:.2} CPU-s per GiB"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{}: {:.2} s wall, {} requests, client CPU {:.1} us per request ({:.2} CPU-s{per_gib})",
                p.name, p.wall_s, p.requests, p.client_cpu_us_per_request, p.client_cpu_s
            );
            let large = r.settings.size >= super::ceilings::LARGE;
            if let Some(line) = p.servers.as_ref().and_then(|s| server_line(s, large)) {
                let _ = writeln!(out, "{}: {line}", p.name);
            }
        }
        for p in &r.phases {
            for o in p.ops.iter().filter(|o| o.op == Op::List && o.ops > 0) {
                let _ = writeln!(
                    out,
                    "{} list: {} keys in {} pages ({:.0} keys per page)",
                    p.name,
                    o.items,
                    o.ops,
                    o.items as f64 / o.ops as f64
                );
            }
        }
        for p in &r.phases {
            for o in p.ops.iter().filter(|o| o.errors > 0) {
                let _ = writeln!(out, "errors in {} {}: {}", p.name, o.op.name(), o.errors);
                for m in &o.first_errors {
                    let _ = writeln!(out, "  {m}");
                }
            }
        }
        let _ = writeln!(
            out,
            "total: {} operations, {} failed ({:.2}%, limit {:.2}%), {:.2} s",
            r.total_ops,
            r.total_errors,
            r.error_rate * 100.0,
            r.max_error_rate * 100.0,
            r.wall_s
        );
    }
    if let Some(c) = &r.limits {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&ceilings(c));
    }
    if !r.ratios.is_empty() {
        out.push('\n');
        let mut t = Table::new(&["PHASE", "OP", "MEASURED", "CEILING", "SHARE", "CEILING IS"])
            .right(&[2, 3, 4]);
        for x in &r.ratios {
            let fmt = |v: f64| format!("{} {}", num(v), x.unit);
            t.row([
                x.phase.clone(),
                x.op.name().to_string(),
                fmt(x.measured),
                fmt(x.ceiling),
                format!("{:.0}%", x.ratio * 100.0),
                x.ceiling_is.clone(),
            ]);
        }
        out.push_str(&t.render());
    }
    out
}

fn results_table(r: &Report) -> String {
    let mut t = Table::new(&[
        "PHASE", "OP", "OPS", "OPS/S", "MIB/S", "P50 MS", "P90 MS", "P99 MS", "P99.9 MS", "MAX MS",
        "ERRORS",
    ])
    .right(&[2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for p in &r.phases {
        for o in &p.ops {
            let l = &o.latency_ms;
            t.row([
                p.name.clone(),
                o.op.name().to_string(),
                o.ops.to_string(),
                num(o.ops_per_s),
                num(o.mib_per_s),
                lat(l.p50),
                lat(l.p90),
                lat(l.p99),
                lat(l.p999),
                lat(l.max),
                o.errors.to_string(),
            ]);
        }
    }
    t.render()
}

fn ceilings(c: &Ceilings) -> String {
    let mut out = format!(
        "ceilings of this machine ({}, {}; measured in {:.1} s):\n",
        c.dir.display(),
        c.filesystem,
        c.seconds
    );
    let cached = |f: Option<f64>| f.map(|f| format!(", {:.0}% cached before", f * 100.0));
    let rows: Vec<(&str, String)> = vec![
        (
            "disk sequential write",
            format!(
                "{}  ({} in 4 MiB writes, {}, fsync at end)",
                rate(c.seq_write.bytes_per_s),
                human_bytes(c.seq_write.bytes),
                c.seq_write.method
            ),
        ),
        (
            "disk sequential read",
            format!(
                "{}  ({}{})",
                rate(c.seq_read.bytes_per_s),
                c.seq_read.method,
                cached(c.seq_read.cached_fraction).unwrap_or_default()
            ),
        ),
        (
            "page-cache read",
            format!(
                "{}  (the same file, cached)",
                rate(c.cached_read.bytes_per_s)
            ),
        ),
        (
            "fsync'd 4 KiB writes",
            format!(
                "{:.0}/s at depth 1, {:.0}/s at depth 16",
                c.fsync_4k_per_s_depth1, c.fsync_4k_per_s_depth16
            ),
        ),
        (
            "loopback TCP",
            format!("{}  (one connection)", rate(c.loopback_bytes_per_s)),
        ),
        (
            "hashing, one thread",
            format!(
                "BLAKE3 {}, MD5 {}{}, SHA-256 {}",
                rate(c.hash_bytes_per_s.blake3),
                rate(c.hash_bytes_per_s.md5),
                c.hash_bytes_per_s
                    .md5_16_lanes
                    .map(|r| format!(
                        " (16 streams on {} lanes: {})",
                        c.md5_lane_kernel.unwrap_or("vector"),
                        rate(r)
                    ))
                    .unwrap_or_default(),
                rate(c.hash_bytes_per_s.sha256)
            ),
        ),
    ];
    out.push_str(&crate::output::fields(
        &rows
            .iter()
            .map(|(l, v)| (*l, v.clone()))
            .collect::<Vec<_>>(),
    ));
    out
}
