//! Counts, latency, unavailability windows, the table and the summary line.

mod common;

use common::H;
use trireme_torture::stats::{self, format_nanos};
use trireme_torture::{check, AnomalyKind, CheckConfig, OpClass, Outcome};

const MS: u64 = 1_000_000;

/// Puts every 10ms; the ones invoked in 100..400ms time out; a get and a list now and then.
fn outage() -> H {
    let mut h = H::new();
    for i in 0..60u64 {
        let t = i * 10 * MS;
        if (100 * MS..400 * MS).contains(&t) {
            h.put_unknown(i % 4, "k", i + 1, t, Some(t + 5 * MS));
        } else {
            h.put(i % 4, "k", i + 1, t, t + 2 * MS);
        }
    }
    h.get(9, "k", Some(60), 700 * MS, 701 * MS);
    h.op(
        9,
        trireme_torture::OpKind::Get { key: "k".into() },
        702 * MS,
        Some(703 * MS),
        Outcome::fail("403"),
    );
    h.list(9, "", &["k"], 704 * MS, 708 * MS);
    h
}

#[test]
fn counts_and_latency_per_class() {
    let report = check(&outage().history(), &CheckConfig::default());
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        (report.totals.ok, report.totals.fail, report.totals.unknown),
        (32, 1, 30)
    );
    let classes: Vec<OpClass> = report.classes.iter().map(|c| c.class).collect();
    assert_eq!(classes, [OpClass::Put, OpClass::Get, OpClass::List]);
    let put = &report.classes[0];
    assert_eq!((put.counts.ok, put.counts.unknown), (30, 30));
    let latency = put.latency.expect("put latency");
    assert_eq!(
        (latency.count, latency.p50, latency.p99, latency.max),
        (30, 2 * MS, 2 * MS, 2 * MS)
    );
    let get = report.classes[1].latency.expect("get latency");
    assert_eq!(get.count, 2);
}

#[test]
fn latency_percentiles_use_nearest_rank() {
    let mut h = H::new();
    for i in 1..=100u64 {
        h.get(0, "k", None, i * 1_000, i * 1_000 + i);
    }
    let history = h.history();
    let all = stats::latency(&history, OpClass::Get, 0, u64::MAX).expect("latency");
    assert_eq!((all.count, all.p50, all.p99, all.max), (100, 50, 99, 100));
    let early = stats::latency(&history, OpClass::Get, 0, 10_500).expect("latency");
    assert_eq!((early.count, early.max), (10, 10));
    assert!(stats::latency(&history, OpClass::Put, 0, u64::MAX).is_none());
}

#[test]
fn outage_shows_as_the_longest_window() {
    let history = outage().history();
    let windows = stats::unavailability(&history, OpClass::Put);
    let longest = windows[0];
    // Last success at 92ms, first attempt after it at 100ms, next success at 402ms.
    assert_eq!((longest.start, longest.end), (100 * MS, 402 * MS));
    assert!(longest.recovered);
    assert_eq!(longest.failed, 30);
    assert_eq!(longest.attempts, 31);
    let report = check(&history, &CheckConfig::default());
    assert_eq!(report.longest_window(), Some(&longest));
    assert_eq!(report.classes[0].windows.len(), 3);
}

#[test]
fn unrecovered_outage_is_open() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.put_unknown(0, "k", 2, 20, Some(50));
    h.put_unknown(1, "k", 3, 30, None);
    let windows = stats::unavailability(&h.history(), OpClass::Put);
    assert_eq!(windows.len(), 2);
    let open = windows[0];
    assert_eq!(
        (open.start, open.end, open.recovered, open.failed),
        (20, 50, false, 2)
    );
    // Before the first success: from the first attempt.
    assert_eq!((windows[1].start, windows[1].end), (0, 10));
}

#[test]
fn summary_line_and_table() {
    let report = check(&outage().history(), &CheckConfig::default());
    assert_eq!(
        report.summary(),
        "torture: 63 ops (32 ok / 1 fail / 30 unknown), 0 anomalies, 0 undecided keys, \
         longest outage 302.0ms (put)"
    );
    let table = report.to_string();
    assert!(table.starts_with("op "), "{table}");
    assert!(table.contains("anomalies: none"), "{table}");
    assert!(
        table.contains("302.0ms from 100.0ms (30 failed)"),
        "{table}"
    );
    assert!(table.lines().any(|l| l.starts_with("list ")), "{table}");
    assert!(!table.lines().any(|l| l.starts_with("delete ")), "{table}");
}

#[test]
fn anomalies_are_counted_and_listed() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.delete(0, "k", 20, 30);
    h.get(1, "k", Some(1), 40, 50);
    h.get(1, "j", Some(99), 40, 50);
    let report = check(&h.history(), &CheckConfig::default());
    assert!(!report.is_clean());
    let counts = report.anomaly_counts();
    assert!(
        counts.contains(&(AnomalyKind::NotLinearizable, 2)),
        "{counts:?}"
    );
    assert!(
        counts.contains(&(AnomalyKind::Resurrection, 1)),
        "{counts:?}"
    );
    assert!(counts.contains(&(AnomalyKind::Phantom, 1)), "{counts:?}");
    let summary = report.summary();
    assert!(
        summary.starts_with("torture: 4 ops (4 ok / 0 fail / 0 unknown), "),
        "{summary}"
    );
    assert!(summary.contains("1 resurrection"), "{summary}");
    let table = report.to_string();
    assert!(table.contains("resurrection on \"k\""), "{table}");
    println!("{table}\n{summary}");
}

#[test]
fn durations_read_well() {
    assert_eq!(format_nanos(850), "850ns");
    assert_eq!(format_nanos(12_345), "12.3µs");
    assert_eq!(format_nanos(4_500_000), "4.5ms");
    assert_eq!(format_nanos(1_234_000_000), "1.23s");
}
