//! Content integrity on hand-made histories.

mod common;

use common::{hash, read_of, size, H};
use trireme_torture::{content_hash, integrity, AnomalyKind, ReadValue};

#[test]
fn corrupted_body_is_caught() {
    let mut h = H::new();
    let put = h.put(0, "k", 1, 0, 10);
    let bad = ReadValue {
        value: 1,
        hash: content_hash(b"body of value 2"),
        size: size(1),
    };
    let read = h.get_body(1, "k", bad, 20, 30);
    let anomalies = integrity::check(&h.history());
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].kind, AnomalyKind::ContentMismatch);
    assert_eq!(anomalies[0].ops, [read, put]);
    assert_eq!(anomalies[0].key, "k");
}

#[test]
fn truncated_body_is_caught() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    let short = ReadValue {
        value: 1,
        hash: content_hash(b"body of"),
        size: 7,
    };
    h.get_body(1, "k", short, 20, 30);
    let anomalies = integrity::check(&h.history());
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].kind, AnomalyKind::SizeMismatch);
}

#[test]
fn intact_bodies_pass_and_hash_case_is_ignored() {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.multipart(0, "k", 2, 20, 30);
    h.get(1, "k", Some(1), 5, 15);
    let upper = ReadValue {
        value: 2,
        hash: hash(2).to_uppercase(),
        size: size(2),
    };
    h.get_body(1, "k", upper, 40, 50);
    h.get(1, "k", None, 0, 1);
    assert!(integrity::check(&h.history()).is_empty());
}

#[test]
fn unknown_value_ids_are_left_to_the_phantom_check() {
    let mut h = H::new();
    h.get_body(1, "k", read_of(9), 20, 30);
    assert!(integrity::check(&h.history()).is_empty());
}
