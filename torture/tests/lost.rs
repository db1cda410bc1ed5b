//! Lost acknowledged writes and phantom reads on hand-made histories.

mod common;

use common::H;
use trireme_torture::{lost, Anomaly, AnomalyKind};

fn found(h: &H) -> Vec<Anomaly> {
    lost::check(&h.history())
}

fn kinds(anomalies: &[Anomaly]) -> Vec<AnomalyKind> {
    anomalies.iter().map(|a| a.kind).collect()
}

#[test]
fn acknowledged_put_missing_from_final_reads_is_lost() {
    let mut h = H::new();
    let put = h.put(0, "k", 1, 0, 10);
    let read = h.get(1, "k", None, 20, 30);
    let anomalies = found(&h);
    assert_eq!(kinds(&anomalies), [AnomalyKind::LostWrite]);
    assert_eq!(anomalies[0].ops, [put, read]);
    assert_eq!(anomalies[0].key, "k");
}

#[test]
fn overwritten_by_an_earlier_put_is_lost() {
    // The final state is value 1, whose put completed before put 2 was invoked: put 2 is lost.
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    let put = h.put(0, "k", 2, 20, 30);
    h.get(1, "k", Some(1), 40, 50);
    let anomalies = found(&h);
    assert_eq!(kinds(&anomalies), [AnomalyKind::LostWrite]);
    assert_eq!(anomalies[0].ops[0], put);
}

#[test]
fn absent_with_only_an_earlier_delete_is_lost() {
    let mut h = H::new();
    h.delete(0, "k", 0, 10);
    h.put(0, "k", 1, 20, 30);
    h.get(1, "k", None, 40, 50);
    assert_eq!(kinds(&found(&h)), [AnomalyKind::LostWrite]);
}

#[test]
fn read_of_a_value_never_written_is_a_phantom() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    let read = h.get(1, "k", Some(7), 20, 30);
    let anomalies = found(&h);
    assert!(kinds(&anomalies).contains(&AnomalyKind::Phantom));
    let phantom = anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::Phantom)
        .expect("phantom");
    assert_eq!(phantom.ops, [read]);
}

#[test]
fn read_of_another_keys_value_is_a_phantom() {
    let mut h = H::new();
    let other = h.put(0, "other", 1, 0, 10);
    let read = h.get(1, "k", Some(1), 20, 30);
    let anomalies = found(&h);
    assert_eq!(kinds(&anomalies), [AnomalyKind::Phantom]);
    assert_eq!(anomalies[0].ops, [read, other]);
    assert!(anomalies[0].explanation.contains("\"other\""));
}

#[test]
fn surviving_put_passes() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.get(1, "k", Some(1), 20, 30);
    assert!(found(&h).is_empty());
}

#[test]
fn put_superseded_by_a_concurrent_put_passes() {
    // Put 2 completed before put 1, but they overlap, so put 2 may have come last.
    let mut h = H::new();
    h.put(0, "k", 1, 0, 30);
    h.put(1, "k", 2, 5, 20);
    h.get(2, "k", Some(2), 40, 50);
    assert!(found(&h).is_empty());
}

#[test]
fn put_superseded_by_a_delete_passes() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.delete(0, "k", 20, 30);
    h.get(1, "k", None, 40, 50);
    assert!(found(&h).is_empty());
}

#[test]
fn put_superseded_by_an_unknown_write_passes() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.put_unknown(1, "k", 2, 5, Some(8));
    h.delete_unknown(1, "k", 12, None);
    h.get(2, "k", Some(2), 40, 50);
    h.get(2, "k", None, 60, 70);
    assert!(found(&h).is_empty());
}

#[test]
fn failed_delete_does_not_excuse_a_missing_put() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.delete_fail(0, "k", 20, 30);
    h.get(1, "k", None, 40, 50);
    assert_eq!(kinds(&found(&h)), [AnomalyKind::LostWrite]);
}

#[test]
fn keys_without_final_reads_are_not_judged() {
    // The only read overlaps the last write: not a final read.
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.put(0, "k", 2, 20, 30);
    h.get(1, "k", None, 25, 35);
    assert!(found(&h).is_empty());
}

#[test]
fn multipart_puts_count_as_puts() {
    let mut h = H::new();
    h.multipart(0, "k", 1, 0, 10);
    h.get(1, "k", None, 20, 30);
    assert_eq!(kinds(&found(&h)), [AnomalyKind::LostWrite]);
}
