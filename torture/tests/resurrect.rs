//! No resurrection after delete, on hand-made histories.

mod common;

use common::H;
use trireme_torture::{resurrect, AnomalyKind};

#[test]
fn old_value_after_acknowledged_delete_is_caught() {
    let mut h = H::new();
    let put = h.put(0, "k", 1, 0, 10);
    let delete = h.delete(0, "k", 20, 30);
    let read = h.get(1, "k", Some(1), 40, 50);
    let anomalies = resurrect::check(&h.history());
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].kind, AnomalyKind::Resurrection);
    assert_eq!(anomalies[0].ops, [read, delete, put]);
}

#[test]
fn unknown_put_seen_before_the_delete_cannot_come_back() {
    let mut h = H::new();
    h.put_unknown(0, "k", 1, 0, Some(5));
    h.get(1, "k", Some(1), 6, 10);
    h.delete(0, "k", 20, 30);
    h.get(1, "k", Some(1), 40, 50);
    let anomalies = resurrect::check(&h.history());
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].kind, AnomalyKind::Resurrection);
}

#[test]
fn put_concurrent_with_the_delete_may_win() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 25);
    h.delete(1, "k", 20, 30);
    h.get(2, "k", Some(1), 40, 50);
    assert!(resurrect::check(&h.history()).is_empty());
}

#[test]
fn unknown_put_may_take_effect_after_the_delete() {
    let mut h = H::new();
    h.put_unknown(0, "k", 1, 0, Some(10));
    h.delete(1, "k", 20, 30);
    h.get(2, "k", Some(1), 40, 50);
    assert!(resurrect::check(&h.history()).is_empty());
}

#[test]
fn read_concurrent_with_the_delete_passes() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.delete(0, "k", 20, 30);
    h.get(1, "k", Some(1), 25, 35);
    assert!(resurrect::check(&h.history()).is_empty());
}

#[test]
fn new_value_after_delete_passes() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.delete(0, "k", 20, 30);
    h.put(0, "k", 2, 40, 50);
    h.get(1, "k", Some(2), 60, 70);
    h.get(1, "k", None, 21, 29);
    assert!(resurrect::check(&h.history()).is_empty());
}

#[test]
fn failed_or_unknown_deletes_prove_nothing() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.delete_fail(0, "k", 20, 30);
    h.delete_unknown(0, "k", 31, Some(35));
    h.get(1, "k", Some(1), 40, 50);
    assert!(resurrect::check(&h.history()).is_empty());
}
