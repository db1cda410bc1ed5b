//! Per-key linearizability: every key is a register (initially absent) that puts set, deletes
//! clear and gets read. Linearizability is compositional (P-compositionality), so each key is
//! searched on its own (the search itself is in `wgl.rs`).
//!
//! Which ops take part:
//! - acknowledged puts, deletes and gets, within their invoke..complete window;
//! - failed ops never took effect and are left out; unknown gets observed nothing and are
//!   dropped;
//! - an unknown put may take effect any time after its invocation, or never. If no get observed
//!   its value, "never" explains everything it could do, so it is left out; if gets did, it
//!   must precede all of them, so it takes part with the earliest such get's completion as its
//!   deadline;
//! - an unknown delete takes part as optional (no deadline), unless no get returning "absent"
//!   completed at or after its invocation, in which case leaving it out changes nothing.
//!
//! A key whose search exceeds [`LinearizableConfig::max_steps_per_key`] is reported undecided:
//! not an anomaly, but counted in the report.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::anomaly::{describe, Anomaly, AnomalyKind};
use crate::history::{History, Op, OpId, OpKind, Outcome, ValueId};
use crate::wgl::{search, Action, SearchOp, Verdict};

/// Pending ops named in an explanation (all are listed in the anomaly's ops).
const SHOWN_PENDING: usize = 6;

/// Tuning of the search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearizableConfig {
    /// Search steps allowed per key before it is reported undecided. A step is one call tried
    /// or one backtrack; a million take well under a second.
    pub max_steps_per_key: u64,
}

impl Default for LinearizableConfig {
    fn default() -> Self {
        LinearizableConfig {
            max_steps_per_key: 5_000_000,
        }
    }
}

/// A key the search gave up on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndecidedKey {
    pub key: String,
    /// Ops of the key that took part in the search.
    pub ops: usize,
    pub steps: u64,
}

/// The result of checking every key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearizableReport {
    pub anomalies: Vec<Anomaly>,
    pub undecided: Vec<UndecidedKey>,
    /// Keys searched.
    pub keys: usize,
    /// Search steps over all keys.
    pub steps: u64,
}

/// The verdict for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyVerdict {
    Linearizable,
    Violation(Anomaly),
    Undecided(UndecidedKey),
}

/// Checks every key of the history.
pub fn check(history: &History, config: &LinearizableConfig) -> LinearizableReport {
    let mut report = LinearizableReport::default();
    for key in history.keys() {
        let (verdict, steps) = check_key_counting(history, key, config);
        report.keys += 1;
        report.steps += steps;
        match verdict {
            KeyVerdict::Linearizable => {}
            KeyVerdict::Violation(anomaly) => report.anomalies.push(anomaly),
            KeyVerdict::Undecided(undecided) => report.undecided.push(undecided),
        }
    }
    report
}

/// Checks one key.
pub fn check_key(history: &History, key: &str, config: &LinearizableConfig) -> KeyVerdict {
    check_key_counting(history, key, config).0
}

fn check_key_counting(
    history: &History,
    key: &str,
    config: &LinearizableConfig,
) -> (KeyVerdict, u64) {
    let ops: Vec<&Op> = history.ops_of_key(key).collect();
    let (search_ops, ids) = prepare(&ops);
    if let Some(anomaly) = impossible_read(history, key, &search_ops, &ids) {
        return (KeyVerdict::Violation(anomaly), 0);
    }
    match search(&search_ops, config.max_steps_per_key) {
        Verdict::Linearizable { steps } => (KeyVerdict::Linearizable, steps),
        Verdict::Undecided { steps } => {
            let undecided = UndecidedKey {
                key: key.to_string(),
                ops: search_ops.len(),
                steps,
            };
            (KeyVerdict::Undecided(undecided), steps)
        }
        Verdict::Violation { steps, stuck } => {
            let op_of = |i: usize| history.op(ids[i]);
            let blocking = op_of(stuck.blocking).map(describe).unwrap_or_default();
            let pending: Vec<usize> = stuck
                .pending
                .iter()
                .copied()
                .filter(|&i| i != stuck.blocking)
                .collect();
            let mut involved = vec![ids[stuck.blocking]];
            involved.extend(pending.iter().map(|&i| ids[i]));
            let rest = if pending.is_empty() {
                String::new()
            } else {
                let mut names: Vec<String> = pending
                    .iter()
                    .take(SHOWN_PENDING)
                    .filter_map(|&i| op_of(i))
                    .map(describe)
                    .collect();
                if pending.len() > SHOWN_PENDING {
                    names.push(format!("{} more", pending.len() - SHOWN_PENDING));
                }
                format!(", and no concurrent op can go first ({})", names.join("; "))
            };
            let explanation = format!(
                "no valid order of the {} ops: once {} of them took effect the key {}, then {} \
                 cannot take effect before it returned{}",
                search_ops.len(),
                stuck.linearized,
                match stuck.state {
                    Some(value) => format!("holds value {value}"),
                    None => String::from("is absent"),
                },
                blocking,
                rest,
            );
            let anomaly = Anomaly::new(AnomalyKind::NotLinearizable, key, involved, explanation);
            (KeyVerdict::Violation(anomaly), steps)
        }
    }
}

/// A read no search can place: its value was never written by a put of the key that may have
/// taken effect, or only by one invoked after the read completed. Found without searching, and
/// explained precisely.
fn impossible_read(
    history: &History,
    key: &str,
    ops: &[SearchOp],
    ids: &[OpId],
) -> Option<Anomaly> {
    let writers: HashMap<ValueId, usize> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op.action {
            Action::Set(value) => Some((value, i)),
            _ => None,
        })
        .collect();
    ops.iter().enumerate().find_map(|(r, read)| {
        let (Action::Read(Some(value)), Some(ret)) = (read.action, read.ret) else {
            return None;
        };
        let read_op = describe(history.op(ids[r])?);
        match writers.get(&value) {
            None => Some(Anomaly::new(
                AnomalyKind::NotLinearizable,
                key,
                vec![ids[r]],
                format!("{read_op}: no put of the key that may have taken effect wrote it"),
            )),
            Some(&w) if ops[w].call > ret => Some(Anomaly::new(
                AnomalyKind::NotLinearizable,
                key,
                vec![ids[r], ids[w]],
                format!(
                    "{read_op}, completed before {} was invoked",
                    describe(history.op(ids[w])?)
                ),
            )),
            Some(_) => None,
        }
    })
}

/// Turns a key's ops into search ops (sorted by call time), with the op id of each.
fn prepare(ops: &[&Op]) -> (Vec<SearchOp>, Vec<OpId>) {
    // Earliest completion of an acknowledged get returning each value, and the latest
    // completion of one returning "absent".
    let mut first_seen: HashMap<ValueId, u64> = HashMap::new();
    let mut last_absent: Option<u64> = None;
    for op in ops {
        let (Some(read), Some(done)) = (op.read(), op.completed_at) else {
            continue;
        };
        match read {
            Some(seen) => {
                let at = first_seen.entry(seen.value).or_insert(done);
                *at = (*at).min(done);
            }
            None => last_absent = Some(last_absent.map_or(done, |t| t.max(done))),
        }
    }
    let mut search_ops = Vec::with_capacity(ops.len());
    let mut ids = Vec::with_capacity(ops.len());
    for op in ops {
        if let Some(entry) = search_op(op, &first_seen, last_absent) {
            search_ops.push(entry);
            ids.push(op.id);
        }
    }
    (search_ops, ids)
}

/// The search op standing for `op`, if it takes part (see the module docs).
fn search_op(
    op: &Op,
    first_seen: &HashMap<ValueId, u64>,
    last_absent: Option<u64>,
) -> Option<SearchOp> {
    let call = op.invoked_at;
    let (action, ret) = match (&op.kind, &op.outcome) {
        (_, Outcome::Fail { .. }) | (OpKind::List { .. }, _) => return None,
        (OpKind::Get { .. }, _) => {
            let read = op.read()?;
            (Action::Read(read.map(|r| r.value)), Some(op.completed_at?))
        }
        (OpKind::Put { value, .. }, Outcome::Unknown { .. }) => {
            (Action::Set(*value), Some(*first_seen.get(value)?))
        }
        (OpKind::Put { value, .. }, _) => (Action::Set(*value), Some(op.completed_at?)),
        (OpKind::Delete { .. }, Outcome::Unknown { .. }) => {
            last_absent.filter(|&absent| absent >= call)?;
            (Action::Clear, None)
        }
        (OpKind::Delete { .. }, _) => (Action::Clear, Some(op.completed_at?)),
    };
    Some(SearchOp { action, call, ret })
}
