//! List-after-write: an acknowledged list (all pages of one listing of a prefix) must reflect
//! every write that finished before it began. "Before" is strict throughout: ops with equal
//! times count as concurrent.
//!
//! - **Missing key**: an acknowledged put of `k` (under the prefix) completed before the list
//!   was invoked, yet the list lacks `k`, and no delete of `k` that did not fail was invoked
//!   by the time the list completed and could have followed that put.
//! - **Phantom key**: the list shows `k` although no put of `k` that did not fail was invoked
//!   by the time the list completed (or `k` is not under the prefix at all).
//! - **Deleted key**: the list shows `k` although an acknowledged delete of `k` completed before
//!   the list was invoked and no put of `k` that did not fail, invoked by the time the list
//!   completed, could have followed that delete.
//!
//! The checker assumes the workload owns the listed prefixes: keys written there by anyone else
//! show up as phantoms.

use std::collections::HashSet;

use crate::anomaly::{describe, Anomaly, AnomalyKind};
use crate::history::{History, Op, OpKind};

/// Checks every acknowledged list of the history.
pub fn check(history: &History) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for list in history.ops() {
        let (OpKind::List { prefix }, Some(keys)) = (&list.kind, list.listed()) else {
            continue;
        };
        missing_keys(history, list, prefix, keys, &mut anomalies);
        for key in keys {
            listed_key(history, list, prefix, key, &mut anomalies);
        }
    }
    anomalies
}

fn is_put(op: &Op) -> bool {
    matches!(op.kind, OpKind::Put { .. })
}

fn is_delete(op: &Op) -> bool {
    matches!(op.kind, OpKind::Delete { .. })
}

fn missing_keys(
    history: &History,
    list: &Op,
    prefix: &str,
    keys: &[String],
    out: &mut Vec<Anomaly>,
) {
    let listed: HashSet<&str> = keys.iter().map(String::as_str).collect();
    let list_done = list.completed_or_max();
    for key in history.keys_with_prefix(prefix) {
        if listed.contains(key) {
            continue;
        }
        let ops: Vec<&Op> = history.ops_of_key(key).collect();
        let unexcused = ops.iter().find(|put| {
            is_put(put)
                && put.is_ok()
                && put.completed_or_max() < list.invoked_at
                && !ops.iter().any(|d| {
                    is_delete(d) && !d.is_fail() && d.invoked_at <= list_done && d.may_follow(put)
                })
        });
        if let Some(put) = unexcused {
            out.push(Anomaly::new(
                AnomalyKind::ListMissingKey,
                key,
                vec![list.id, put.id],
                format!(
                    "list #{} of prefix {prefix:?} (client {}) lacks the key, but {} completed \
                     before the list began and no delete could have followed it",
                    list.id,
                    list.process,
                    describe(put)
                ),
            ));
        }
    }
}

fn listed_key(history: &History, list: &Op, prefix: &str, key: &str, out: &mut Vec<Anomaly>) {
    let list_done = list.completed_or_max();
    let head = format!(
        "list #{} of prefix {prefix:?} (client {})",
        list.id, list.process
    );
    if !key.starts_with(prefix) {
        out.push(Anomaly::new(
            AnomalyKind::ListPhantomKey,
            key,
            vec![list.id],
            format!("{head} shows a key outside its prefix"),
        ));
        return;
    }
    let ops: Vec<&Op> = history.ops_of_key(key).collect();
    let puts: Vec<&Op> = ops
        .iter()
        .filter(|op| is_put(op) && !op.is_fail() && op.invoked_at <= list_done)
        .copied()
        .collect();
    if puts.is_empty() {
        out.push(Anomaly::new(
            AnomalyKind::ListPhantomKey,
            key,
            vec![list.id],
            format!("{head} shows the key, but no put of it was invoked before the list completed"),
        ));
        return;
    }
    let deleted = ops.iter().find(|d| {
        is_delete(d)
            && d.is_ok()
            && d.completed_or_max() < list.invoked_at
            && !puts.iter().any(|p| p.may_follow(d))
    });
    if let Some(delete) = deleted {
        out.push(Anomaly::new(
            AnomalyKind::ListDeletedKey,
            key,
            vec![list.id, delete.id],
            format!(
                "{head} shows the key, but {} completed before the list began and no put could \
                 have followed it",
                describe(delete)
            ),
        ));
    }
}
