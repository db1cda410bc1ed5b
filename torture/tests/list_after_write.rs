//! List-after-write on hand-made histories.

mod common;

use common::H;
use trireme_torture::{list_after_write, Anomaly, AnomalyKind};

fn found(h: &H) -> Vec<Anomaly> {
    list_after_write::check(&h.history())
}

fn kinds(h: &H) -> Vec<AnomalyKind> {
    found(h).iter().map(|a| a.kind).collect()
}

#[test]
fn list_missing_an_acknowledged_key_is_caught() {
    let mut h = H::new();
    let put = h.put(0, "p/a", 1, 0, 10);
    h.put(0, "p/b", 2, 0, 10);
    let list = h.list(1, "p/", &["p/b"], 20, 30);
    let anomalies = found(&h);
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].kind, AnomalyKind::ListMissingKey);
    assert_eq!(anomalies[0].key, "p/a");
    assert_eq!(anomalies[0].ops, [list, put]);
}

#[test]
fn an_earlier_delete_does_not_excuse_a_missing_key() {
    let mut h = H::new();
    h.delete(0, "p/a", 0, 5);
    h.put(0, "p/a", 1, 10, 20);
    h.list(1, "p/", &[], 30, 40);
    assert_eq!(kinds(&h), [AnomalyKind::ListMissingKey]);
}

#[test]
fn list_showing_a_key_never_put_is_caught() {
    let mut h = H::new();
    h.list(1, "p/", &["p/x"], 0, 10);
    assert_eq!(kinds(&h), [AnomalyKind::ListPhantomKey]);
}

#[test]
fn list_showing_a_key_whose_only_put_failed_is_caught() {
    let mut h = H::new();
    h.put_fail(0, "p/a", 1, 0, 10);
    h.list(1, "p/", &["p/a"], 20, 30);
    assert_eq!(kinds(&h), [AnomalyKind::ListPhantomKey]);
}

#[test]
fn list_showing_a_key_put_only_after_it_is_caught() {
    let mut h = H::new();
    h.list(1, "p/", &["p/a"], 0, 10);
    h.put(0, "p/a", 1, 20, 30);
    assert_eq!(kinds(&h), [AnomalyKind::ListPhantomKey]);
}

#[test]
fn list_showing_a_key_outside_its_prefix_is_caught() {
    let mut h = H::new();
    h.put(0, "q/a", 1, 0, 10);
    h.list(1, "p/", &["q/a"], 20, 30);
    let anomalies = found(&h);
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].kind, AnomalyKind::ListPhantomKey);
    assert!(anomalies[0].explanation.contains("outside"));
}

#[test]
fn list_showing_a_deleted_key_is_caught() {
    let mut h = H::new();
    h.put(0, "p/a", 1, 0, 10);
    let delete = h.delete(0, "p/a", 20, 30);
    let list = h.list(1, "p/", &["p/a"], 40, 50);
    let anomalies = found(&h);
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].kind, AnomalyKind::ListDeletedKey);
    assert_eq!(anomalies[0].ops, [list, delete]);
}

#[test]
fn lists_concurrent_with_a_put_may_show_it_or_not() {
    let mut h = H::new();
    h.put(0, "p/a", 1, 0, 50);
    h.list(1, "p/", &[], 10, 20);
    h.list(2, "p/", &["p/a"], 10, 20);
    h.list(1, "p/", &["p/a"], 60, 70);
    assert!(found(&h).is_empty());
}

#[test]
fn lists_concurrent_with_a_delete_may_show_it_or_not() {
    let mut h = H::new();
    h.put(0, "p/a", 1, 0, 10);
    h.delete(0, "p/a", 20, 40);
    h.list(1, "p/", &[], 30, 50);
    h.list(2, "p/", &["p/a"], 30, 50);
    h.list(1, "p/", &[], 60, 70);
    assert!(found(&h).is_empty());
}

#[test]
fn delete_invoked_before_the_list_completed_excuses_a_missing_key() {
    let mut h = H::new();
    h.put(0, "p/a", 1, 0, 10);
    h.list(1, "p/", &[], 20, 40);
    h.delete(0, "p/a", 30, 50);
    assert!(found(&h).is_empty());
}

#[test]
fn unknown_writes_may_show_or_not() {
    let mut h = H::new();
    h.put_unknown(0, "p/a", 1, 0, Some(5));
    h.put(0, "p/b", 2, 0, 5);
    h.delete_unknown(0, "p/b", 6, Some(9));
    h.list(1, "p/", &["p/a"], 20, 30);
    h.list(1, "p/", &["p/b"], 40, 50);
    assert!(found(&h).is_empty());
}

#[test]
fn put_again_after_delete_shows() {
    let mut h = H::new();
    h.put(0, "p/a", 1, 0, 10);
    h.delete(0, "p/a", 20, 30);
    h.multipart(0, "p/a", 2, 40, 50);
    h.list(1, "p/", &["p/a"], 60, 70);
    assert!(found(&h).is_empty());
}

#[test]
fn keys_outside_the_prefix_are_not_required() {
    let mut h = H::new();
    h.put(0, "q/a", 1, 0, 10);
    h.put(0, "p", 2, 0, 10);
    h.list(1, "p/", &[], 20, 30);
    assert!(found(&h).is_empty());
}
