//! The report from synthetic phases: JSON fields, the text table, and the ceiling shares.

use super::*;
use crate::bench::ceilings::ratios;
use crate::bench::limits::Ceilings;
use crate::bench::limits_cpu::HashSpeeds;
use crate::bench::limits_disk::Sequential;
use crate::bench::servers::Usage;
use crate::bench::stats::{Live, Recorder};
use crate::cli::{Cli, Command};
use clap::Parser;
use std::time::Duration;

fn config(args: &[&str]) -> Config {
    let argv = [
        "trireme",
        "bench",
        "--endpoint",
        "h:1",
        "--access-key",
        "a",
        "--secret-key",
        "s",
    ];
    let cli = Cli::try_parse_from(argv.iter().chain(args)).expect("parses");
    match cli.command {
        Command::Bench(b) => Config::from_args_with(&cli.global, b, &|_| None).expect("valid"),
        _ => panic!("not bench"),
    }
}

fn phase(name: &'static str, op: Op, n: u64, size: u64, secs: u64) -> PhaseResult {
    let live = Live::default();
    let mut rec = Recorder::default();
    for i in 0..n {
        rec.ok(&live, op, Duration::from_micros(500 + i % 1000), size, 0);
    }
    rec.err(&live, op, format!("{} x: HTTP 503 SlowDown", op.name()));
    PhaseResult {
        name,
        wall: Duration::from_secs(secs),
        stats: rec,
        cpu: Duration::from_millis(n / 10),
        requests: n + 1,
        high_water: n,
        servers: None,
    }
}

fn seq(bytes_per_s: f64, method: &str) -> Sequential {
    Sequential {
        bytes: 1 << 30,
        seconds: 1.0,
        bytes_per_s,
        method: method.into(),
        cached_fraction: None,
    }
}

fn ceilings(mem: u64) -> Ceilings {
    Ceilings {
        dir: "/data".into(),
        filesystem: "ext4".into(),
        seq_write: seq(300.0 * 1048576.0, "O_DIRECT"),
        seq_read: seq(600.0 * 1048576.0, "O_DIRECT"),
        cached_read: seq(6000.0 * 1048576.0, "page cache"),
        fsync_4k_per_s_depth1: 500.0,
        fsync_4k_per_s_depth16: 4000.0,
        loopback_bytes_per_s: 3e9,
        hash_bytes_per_s: HashSpeeds {
            blake3: 2e9,
            md5: 6e8,
            md5_16_lanes: None,
            sha256: 4e8,
        },
        md5_lane_kernel: None,
        mem_available_bytes: Some(mem),
        seconds: 9.0,
    }
}

#[test]
fn json_and_text_carry_the_figures() {
    let cfg = config(&["get", "--size", "4KiB", "--duration", "10s"]);
    let mut phases = [
        phase("prepare", Op::Put, 1000, 4096, 2),
        phase("run", Op::Get, 20_000, 4096, 10),
    ];
    phases[1].servers = Some(Usage {
        cpu_s: [
            ("gateway".to_string(), 2.5),
            ("meta-server".to_string(), 1.0),
        ]
        .into(),
        disk_read_bytes: Some(3 << 20),
    });
    let p = phase_report(&phases[1]);
    let servers = p.servers.as_ref().expect("server usage");
    assert!((servers.total_cpu_s - 3.5).abs() < 1e-9);
    let get = &p.ops[0];
    assert_eq!((get.ops, get.errors, get.bytes), (20_000, 1, 20_000 * 4096));
    assert!((get.ops_per_s - 2000.0).abs() < 1e-6);
    let l = &get.latency_ms;
    assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max);
    assert!((0.99..1.01).contains(&l.p50), "{}", l.p50);
    assert!((p.client_cpu_us_per_request - 100.0).abs() < 1.0);
    let report = Report {
        settings: settings(&cfg),
        phases: phases.iter().map(phase_report).collect(),
        wall_s: 12.5,
        total_ops: 21_002,
        total_errors: 2,
        error_rate: 2.0 / 21_002.0,
        max_error_rate: cfg.max_error_rate,
        limits: None,
        ratios: Vec::new(),
    };
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["settings"]["workload"], "get");
    assert_eq!(json["settings"]["prepared"], 1000);
    assert_eq!(json["phases"][1]["name"], "run");
    assert_eq!(json["phases"][1]["ops"][0]["op"], "get");
    assert!(json["phases"][1]["ops"][0]["latency_ms"]["p999"].is_number());
    assert_eq!(
        json["phases"][1]["ops"][0]["first_errors"][0],
        "get x: HTTP 503 SlowDown"
    );
    let text = crate::bench::report_text::render(&report);
    assert!(
        text.starts_with("trireme bench get: 4.0 KiB objects, concurrency 16, 10s"),
        "{text}"
    );
    assert!(text.contains("PHASE    OP     OPS"), "{text}");
    assert!(
        text.contains("errors in run get: 1\n  get x: HTTP 503 SlowDown"),
        "{text}"
    );
    assert!(text.contains("client CPU 100.0 us per request"), "{text}");
    // Small objects: no CPU per GiB (meaningless), but the servers' CPU and disk reads.
    assert!(
        text.contains("run: server CPU gateway 2.50 s, meta-server 1.00 s = 3.50 CPU-s; data disk read 3.0 MiB"),
        "{text}"
    );
    assert_eq!(json["phases"][1]["servers"]["cpu_s"]["gateway"], 2.5);
}

#[test]
fn shares_of_the_ceilings() {
    // Large PUT: disk write / 3.
    let cfg = config(&["put", "--size", "64MiB"]);
    let put = phase("run", Op::Put, 100, 64 << 20, 64);
    let r = ratios(&cfg, std::slice::from_ref(&put), &ceilings(8 << 30));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].unit, "MiB/s");
    assert!((r[0].measured - 100.0).abs() < 1e-6);
    assert!((r[0].ceiling - 100.0).abs() < 1e-6);
    assert!(r[0].ceiling_is.contains("/ 3 replicas"));

    // Small PUT at concurrency 16 against fsync/s at depth 16, at 1 against depth 1.
    let small = phase("run", Op::Put, 2000, 4096, 1);
    let r = ratios(
        &config(&["put"]),
        std::slice::from_ref(&small),
        &ceilings(8 << 30),
    );
    assert_eq!((r[0].unit, r[0].ceiling), ("ops/s", 4000.0));
    assert!((r[0].ratio - 0.5).abs() < 1e-9);
    let r = ratios(&config(&["put", "-c", "1"]), &[small], &ceilings(8 << 30));
    assert_eq!(r[0].ceiling, 500.0);

    // Large GET: cached when 16 x 64 MiB x 3 replicas fit in half the memory, else disk.
    let cfg = config(&["get", "--size", "64MiB"]);
    let get = phase("run", Op::Get, 100, 64 << 20, 10);
    let r = ratios(&cfg, std::slice::from_ref(&get), &ceilings(8 << 30));
    assert!(r[0].ceiling_is.contains("cached"), "{}", r[0].ceiling_is);
    assert_eq!(r[0].ceiling, 6000.0);
    let r = ratios(&cfg, &[get], &ceilings(1 << 30));
    assert!(r[0].ceiling_is.contains("disk sequential read"));

    // With the data disk's read counter, it decides, whatever the memory.
    let payload = 100u64 * (64 << 20);
    let mut from_disk = phase("run", Op::Get, 100, 64 << 20, 10);
    from_disk.servers = Some(Usage {
        cpu_s: Default::default(),
        disk_read_bytes: Some(payload),
    });
    let r = ratios(&cfg, &[from_disk], &ceilings(8 << 30));
    assert!(
        r[0].ceiling_is.contains("disk sequential read"),
        "{}",
        r[0].ceiling_is
    );
    assert!(
        r[0].ceiling_is.contains("100% of the payload"),
        "{}",
        r[0].ceiling_is
    );
    let mut cached = phase("run", Op::Get, 100, 64 << 20, 10);
    cached.servers = Some(Usage {
        cpu_s: Default::default(),
        disk_read_bytes: Some(payload / 10),
    });
    let r = ratios(&cfg, &[cached], &ceilings(1 << 30));
    assert!(
        r[0].ceiling_is.contains("cached: 10%"),
        "{}",
        r[0].ceiling_is
    );

    // Small GETs and HEAD have no ceiling row; clean-up is never judged.
    let cfg = config(&["get"]);
    let rows = ratios(
        &cfg,
        &[
            phase("run", Op::Get, 10, 4096, 1),
            phase("cleanup", Op::Put, 10, 4096, 1),
        ],
        &ceilings(8 << 30),
    );
    assert!(rows.is_empty());
}
