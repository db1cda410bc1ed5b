//! Per-key linearizability on hand-made histories.

mod common;

use common::H;
use trireme_torture::linearizable::{check, check_key, KeyVerdict};
use trireme_torture::{AnomalyKind, History, LinearizableConfig};

fn verdict(h: &H) -> KeyVerdict {
    check_key(&h.history(), "k", &LinearizableConfig::default())
}

fn assert_valid(h: &H) {
    assert_eq!(verdict(h), KeyVerdict::Linearizable);
}

/// Asserts a violation that names `op` among its ops.
fn assert_violation(h: &H, op: u64) {
    match verdict(h) {
        KeyVerdict::Violation(anomaly) => {
            assert_eq!(anomaly.kind, AnomalyKind::NotLinearizable);
            assert_eq!(anomaly.key, "k");
            assert!(anomaly.ops.contains(&op), "{anomaly}");
            assert!(!anomaly.explanation.contains('\n'));
        }
        other => panic!("expected a violation, got {other:?}"),
    }
}

#[test]
fn stale_read_after_overwrite_is_caught() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.put(1, "k", 2, 20, 30);
    let stale = h.get(2, "k", Some(1), 40, 50);
    assert_violation(&h, stale);
}

#[test]
fn read_from_the_future_is_caught() {
    let mut h = H::new();
    let early = h.get(0, "k", Some(1), 0, 10);
    h.put(1, "k", 1, 20, 30);
    assert_violation(&h, early);
}

#[test]
fn read_of_a_failed_put_is_caught() {
    let mut h = H::new();
    h.put_fail(0, "k", 1, 0, 10);
    let read = h.get(1, "k", Some(1), 20, 30);
    assert_violation(&h, read);
}

#[test]
fn old_value_after_acknowledged_delete_is_caught() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.delete(0, "k", 20, 30);
    let read = h.get(1, "k", Some(1), 40, 50);
    assert_violation(&h, read);
}

#[test]
fn absent_after_acknowledged_put_is_caught() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    let read = h.get(1, "k", None, 20, 30);
    assert_violation(&h, read);
}

#[test]
fn non_monotonic_reads_are_caught() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.put(1, "k", 2, 5, 100);
    h.get(2, "k", Some(2), 20, 30);
    let back = h.get(3, "k", Some(1), 40, 50);
    assert_violation(&h, back);
}

#[test]
fn unknown_put_seen_then_vanishing_is_caught() {
    let mut h = H::new();
    h.put_unknown(0, "k", 1, 0, None);
    h.get(1, "k", Some(1), 10, 20);
    let gone = h.get(1, "k", None, 30, 40);
    assert_violation(&h, gone);
}

#[test]
fn disagreeing_reads_after_quiescence_are_caught() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.put(1, "k", 2, 0, 10);
    h.get(2, "k", Some(1), 20, 30);
    let other = h.get(3, "k", Some(2), 40, 50);
    assert_violation(&h, other);
}

#[test]
fn concurrent_put_and_reads_pass() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 100);
    h.get(1, "k", None, 10, 20);
    h.get(2, "k", Some(1), 30, 40);
    h.get(1, "k", Some(1), 50, 60);
    h.get(3, "k", Some(1), 110, 120);
    assert_valid(&h);
}

#[test]
fn concurrent_puts_in_either_order_pass() {
    for winner in [1, 2] {
        let mut h = H::new();
        h.put(0, "k", 1, 0, 50);
        h.put(1, "k", 2, 0, 50);
        h.get(2, "k", Some(winner), 60, 70);
        h.get(3, "k", Some(winner), 80, 90);
        assert_valid(&h);
    }
}

#[test]
fn unknown_put_appearing_late_passes() {
    let mut h = H::new();
    h.put_unknown(0, "k", 1, 0, Some(10));
    h.get(1, "k", None, 20, 30);
    h.get(1, "k", Some(1), 40, 50);
    h.get(2, "k", Some(1), 60, 70);
    assert_valid(&h);
}

#[test]
fn unknown_put_never_appearing_passes() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 5);
    h.put_unknown(0, "k", 2, 10, Some(20));
    h.put_unknown(1, "k", 3, 12, None);
    h.get(1, "k", Some(1), 30, 40);
    h.get(2, "k", Some(1), 50, 60);
    assert_valid(&h);
}

#[test]
fn reads_concurrent_with_a_delete_pass() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.delete(1, "k", 20, 60);
    h.get(2, "k", Some(1), 30, 40);
    h.get(3, "k", None, 35, 45);
    h.get(2, "k", None, 70, 80);
    assert_valid(&h);
}

#[test]
fn unknown_delete_taking_effect_late_passes() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.delete_unknown(0, "k", 20, Some(30));
    h.get(1, "k", Some(1), 40, 50);
    h.get(1, "k", None, 60, 70);
    assert_valid(&h);
}

#[test]
fn failed_and_unknown_ops_are_left_out() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.put_fail(0, "k", 2, 20, 30);
    h.delete_fail(1, "k", 20, 30);
    h.get_unknown(2, "k", 20, 30);
    h.get(1, "k", Some(1), 40, 50);
    assert_valid(&h);
}

#[test]
fn touching_windows_count_as_concurrent() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.get(1, "k", None, 10, 20);
    assert_valid(&h);
}

#[test]
fn many_unknown_deletes_stay_cheap() {
    let mut h = H::new();
    let mut t = 0;
    for value in 1..=40 {
        h.put(0, "k", value, t, t + 5);
        h.delete_unknown(1, "k", t + 6, Some(t + 7));
        h.get(2, "k", None, t + 8, t + 9);
        t += 10;
    }
    let history = h.history();
    let report = check(&history, &LinearizableConfig::default());
    assert!(report.anomalies.is_empty(), "{:?}", report.anomalies);
    assert!(report.undecided.is_empty());
    assert!(report.steps < 100_000, "{} steps", report.steps);
}

#[test]
fn exhausted_budget_is_undecided_not_an_anomaly() {
    let mut h = H::new();
    for p in 0..5 {
        h.put(p, "k", p + 1, 0, 100);
    }
    h.get(9, "k", Some(3), 200, 210);
    let config = LinearizableConfig {
        max_steps_per_key: 3,
    };
    let report = check(&h.history(), &config);
    assert!(report.anomalies.is_empty());
    assert_eq!(report.undecided.len(), 1);
    assert_eq!(report.undecided[0].key, "k");
    assert_eq!(report.undecided[0].ops, 6);
}

#[test]
fn keys_are_checked_separately() {
    let mut h = H::new();
    h.put(0, "a", 1, 0, 10);
    h.put(0, "b", 2, 0, 10);
    h.get(1, "a", Some(1), 20, 30);
    h.get(1, "b", None, 20, 30);
    let report = check(&h.history(), &LinearizableConfig::default());
    assert_eq!(report.keys, 2);
    assert_eq!(report.anomalies.len(), 1);
    assert_eq!(report.anomalies[0].key, "b");
}

#[test]
fn empty_history_passes() {
    let report = check(&History::default(), &LinearizableConfig::default());
    assert_eq!(report.keys, 0);
    assert!(report.anomalies.is_empty());
}
