//! Lost acknowledged writes and phantom reads.
//!
//! **Phantom**: an acknowledged get of key `k` returned a value id that no put of `k` ever wrote
//! (whatever that put's outcome: a read of a failed put's value is the linearizability
//! checker's business).
//!
//! **Lost write**: judged against the key's *final reads*, the acknowledged gets invoked once no
//! put or delete of the key was in flight any more (after the last completion, or for an op that
//! never completed, its invocation). A key without final reads is not judged. An acknowledged
//! put `P` is lost when no final read returned its value and some final read returned a state
//! that nothing after `P` could have produced: the put of the value it returned (or, for
//! "absent", every delete of the key) definitely completed before `P` was invoked, or failed,
//! or does not exist. A write that may have followed `P` (acknowledged and completed after `P`
//! was invoked, or unknown) supersedes it; this is the sound form of "superseded by a later
//! write or delete".

use crate::anomaly::{describe, show_state, Anomaly, AnomalyKind};
use crate::history::{History, Op, OpKind, ValueId};

/// Finds lost acknowledged writes and phantom reads on every key.
pub fn check(history: &History) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for key in history.keys() {
        let ops: Vec<&Op> = history.ops_of_key(key).collect();
        phantoms(history, key, &ops, &mut anomalies);
        lost_writes(history, key, &ops, &mut anomalies);
    }
    anomalies
}

fn phantoms(history: &History, key: &str, ops: &[&Op], out: &mut Vec<Anomaly>) {
    for op in ops {
        let Some(Some(read)) = op.read() else {
            continue;
        };
        match history.put_of(read.value) {
            Some(put) if put.key() == Some(key) => {}
            Some(put) => out.push(Anomaly::new(
                AnomalyKind::Phantom,
                key,
                vec![op.id, put.id],
                format!(
                    "{}: that value was written to key {:?} by put #{}",
                    describe(op),
                    put.key().unwrap_or_default(),
                    put.id
                ),
            )),
            None => out.push(Anomaly::new(
                AnomalyKind::Phantom,
                key,
                vec![op.id],
                format!("{}: no put ever wrote that value", describe(op)),
            )),
        }
    }
}

/// The final reads of a key: acknowledged gets invoked after every write of it finished.
pub fn final_reads<'a>(ops: &[&'a Op]) -> Vec<&'a Op> {
    let quiet_since = ops
        .iter()
        .filter(|op| op.is_write())
        .map(|op| op.completed_at.unwrap_or(op.invoked_at))
        .max();
    ops.iter()
        .filter(|op| op.read().is_some())
        .filter(|op| quiet_since.is_none_or(|quiet| op.invoked_at > quiet))
        .copied()
        .collect()
}

fn lost_writes(history: &History, key: &str, ops: &[&Op], out: &mut Vec<Anomaly>) {
    let finals = final_reads(ops);
    if finals.is_empty() {
        return;
    }
    for put in ops.iter().filter(|op| op.is_ok()) {
        let OpKind::Put { value, .. } = put.kind else {
            continue;
        };
        let seen = |read: &&Op| matches!(read.read(), Some(Some(r)) if r.value == value);
        if finals.iter().any(seen) {
            continue;
        }
        let unexplained = finals.iter().find(|read| {
            let state = read.read().flatten().map(|r| r.value);
            !superseded(history, key, ops, put, state)
        });
        if let Some(read) = unexplained {
            let state = read.read().flatten().map(|r| r.value);
            out.push(Anomaly::new(
                AnomalyKind::LostWrite,
                key,
                vec![put.id, read.id],
                format!(
                    "{} is gone: final get #{} returned {}, which no write that may follow it \
                     produced",
                    describe(put),
                    read.id,
                    show_state(state)
                ),
            ));
        }
    }
}

/// Could a write that may have followed `put` have left the key in `state`?
fn superseded(history: &History, key: &str, ops: &[&Op], put: &Op, state: Option<ValueId>) -> bool {
    let may_follow = |w: &Op| w.id != put.id && !w.is_fail() && w.may_follow(put);
    match state {
        Some(value) => history
            .put_of(value)
            .is_some_and(|w| w.key() == Some(key) && may_follow(w)),
        None => ops
            .iter()
            .any(|w| matches!(w.kind, OpKind::Delete { .. }) && may_follow(w)),
    }
}
