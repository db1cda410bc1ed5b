//! No resurrection: once an acknowledged delete of a key completed, no later read may return a
//! value that was written before the delete.
//!
//! A read `R` of key `k`, invoked after an acknowledged delete `D` of `k` completed, returning
//! value `v`, is a resurrection when the put of `v` definitely took effect before `D` began:
//! either it was acknowledged before `D` was invoked, or (for a put with an unknown outcome) a
//! read that returned `v` completed before `D` was invoked. Values are unique, so no other put
//! can have rewritten `v` in between; a put concurrent with `D` or with an unknown outcome may
//! have taken effect after `D` and is not a resurrection.

use std::collections::HashMap;

use crate::anomaly::{describe, Anomaly, AnomalyKind};
use crate::history::{History, Op, OpKind, ValueId};

/// Finds reads that return a value from before an acknowledged delete.
pub fn check(history: &History) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for key in history.keys() {
        let ops: Vec<&Op> = history.ops_of_key(key).collect();
        check_key(history, key, &ops, &mut anomalies);
    }
    anomalies
}

/// When each value of the key definitely existed: the put's acknowledgement, or the first
/// completed read returning it, whichever is earlier.
fn effective_by(ops: &[&Op]) -> HashMap<ValueId, u64> {
    let mut by: HashMap<ValueId, u64> = HashMap::new();
    let mut note = |value: ValueId, time: u64| {
        let at = by.entry(value).or_insert(time);
        *at = (*at).min(time);
    };
    for op in ops {
        match (&op.kind, op.completed_at) {
            (OpKind::Put { value, .. }, Some(done)) if op.is_ok() => note(*value, done),
            (OpKind::Get { .. }, Some(done)) => {
                if let Some(Some(read)) = op.read() {
                    note(read.value, done);
                }
            }
            _ => {}
        }
    }
    by
}

fn check_key(history: &History, key: &str, ops: &[&Op], out: &mut Vec<Anomaly>) {
    let effective = effective_by(ops);
    let deletes: Vec<&Op> = ops
        .iter()
        .filter(|op| op.is_ok() && matches!(op.kind, OpKind::Delete { .. }))
        .copied()
        .collect();
    if deletes.is_empty() {
        return;
    }
    for read in ops {
        let Some(Some(seen)) = read.read() else {
            continue;
        };
        let Some(put) = history.put_of(seen.value).filter(|p| p.key() == Some(key)) else {
            continue; // a phantom, reported by the lost-write checker
        };
        let Some(&existed_by) = effective.get(&seen.value) else {
            continue;
        };
        let proof = deletes.iter().find(|delete| {
            let done = delete.completed_or_max();
            done < read.invoked_at && existed_by < delete.invoked_at
        });
        if let Some(delete) = proof {
            out.push(Anomaly::new(
                AnomalyKind::Resurrection,
                key,
                vec![read.id, delete.id, put.id],
                format!(
                    "{}, invoked after delete #{} completed, but {} took effect before that delete began",
                    describe(read),
                    delete.id,
                    describe(put)
                ),
            ));
        }
    }
}
