//! Property tests against a simulated sequential register.
//!
//! - Histories produced by a real sequential register, with random invoke/complete windows
//!   around each op's linearization point and random fail/unknown outcomes, must pass every
//!   checker.
//! - The same histories with one read made definitely wrong (a never-written value, a value
//!   overwritten before the read began, "absent" after an acknowledged put) must be caught.
//! - Small random histories, right or wrong, must get the same verdict from the checker as from
//!   a brute-force search that knows nothing of the checker's shortcuts.

mod common;

use std::collections::HashSet;

use common::{put_kind, read_of, H};
use proptest::prelude::*;
use trireme_torture::linearizable::{check_key, KeyVerdict};
use trireme_torture::{
    check, AnomalyKind, CheckConfig, History, LinearizableConfig, Op, OpKind, Outcome,
};

const KEYS: [&str; 3] = ["k0", "k1", "k2"];

/// One generated op: (kind, key, process, before, after, fate, late completion).
type Spec = (u8, usize, u64, u64, u64, u8, Option<u64>);

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..10,
        0usize..3,
        0u64..10,
        0u64..250,
        0u64..250,
        0u8..10,
        proptest::option::of(0u64..400),
    )
}

/// Runs the specs against a register per key; returns the recorded ops.
fn simulate(specs: &[Spec]) -> Vec<Op> {
    let mut h = H::new();
    let mut state: Vec<Option<u64>> = vec![None; KEYS.len()];
    for (i, &(kind, key_index, p, before, after, fate, late)) in specs.iter().enumerate() {
        let key = KEYS[key_index];
        let lin = 1_000 + 100 * i as u64;
        let (inv, done) = (lin - before, lin + after);
        let late_done = late.map(|d| inv + d);
        match kind {
            0..=3 | 7..=8 => {
                let value = i as u64 + 1;
                let kind = if kind <= 3 {
                    put_kind(key, value)
                } else {
                    OpKind::Delete { key: key.into() }
                };
                let effect = if kind_is_put(&kind) {
                    Some(value)
                } else {
                    None
                };
                match fate {
                    0..=6 => {
                        state[key_index] = effect;
                        h.op(p, kind, inv, Some(done), Outcome::written());
                    }
                    7 => {
                        h.op(p, kind, inv, Some(done), Outcome::fail("409"));
                    }
                    8 => {
                        state[key_index] = effect;
                        h.op(p, kind, inv, late_done, Outcome::unknown("timeout"));
                    }
                    _ => {
                        h.op(p, kind, inv, late_done, Outcome::unknown("timeout"));
                    }
                }
            }
            4..=6 => match fate {
                0..=7 => {
                    h.get(p, key, state[key_index], inv, done);
                }
                8 => {
                    h.get_unknown(p, key, inv, done);
                }
                _ => {
                    let kind = OpKind::Get { key: key.into() };
                    h.op(p, kind, inv, Some(done), Outcome::fail("503 slow down"));
                }
            },
            _ => {
                let present: Vec<&str> = KEYS
                    .iter()
                    .zip(&state)
                    .filter(|(_, s)| s.is_some())
                    .map(|(k, _)| *k)
                    .collect();
                h.list(p, "k", &present, inv, done);
            }
        }
    }
    // Final quiescent reads of every key, then a final listing.
    let mut t = 1_000 + 100 * specs.len() as u64 + 1_000;
    for (key, value) in KEYS.iter().zip(&state) {
        h.get(0, key, *value, t, t + 5);
        t += 10;
    }
    let present: Vec<&str> = KEYS
        .iter()
        .zip(&state)
        .filter(|(_, s)| s.is_some())
        .map(|(k, _)| *k)
        .collect();
    h.list(0, "", &present, t, t + 5);
    h.into_ops()
}

fn kind_is_put(kind: &OpKind) -> bool {
    matches!(kind, OpKind::Put { .. })
}

fn history(ops: Vec<Op>) -> History {
    History::from_ops(ops).expect("generated history is valid")
}

/// Brute force: is there an order of the key's ops that respects real time and a register?
fn oracle(ops: &[Op]) -> bool {
    struct Item {
        call: u64,
        ret: Option<u64>,
        effect: Option<Option<u64>>,
        read: Option<Option<u64>>,
    }
    let items: Vec<Item> = ops
        .iter()
        .filter(|op| !op.is_fail())
        .filter(|op| !(matches!(op.kind, OpKind::Get { .. }) && op.is_unknown()))
        .map(|op| Item {
            call: op.invoked_at,
            ret: if op.is_unknown() {
                None
            } else {
                op.completed_at
            },
            effect: match op.kind {
                OpKind::Put { value, .. } => Some(Some(value)),
                OpKind::Delete { .. } => Some(None),
                _ => None,
            },
            read: op.read().map(|r| r.map(|r| r.value)),
        })
        .collect();
    fn dfs(
        items: &[Item],
        done: u64,
        state: Option<u64>,
        seen: &mut HashSet<(u64, Option<u64>)>,
    ) -> bool {
        let required_left =
            (0..items.len()).any(|i| done & (1 << i) == 0 && items[i].ret.is_some());
        if !required_left {
            return true;
        }
        if !seen.insert((done, state)) {
            return false;
        }
        for (c, item) in items.iter().enumerate() {
            if done & (1 << c) != 0 {
                continue;
            }
            let blocked = items.iter().enumerate().any(|(r, other)| {
                done & (1 << r) == 0 && other.ret.is_some_and(|ret| ret < item.call)
            });
            if blocked {
                continue;
            }
            let next = match (item.effect, item.read) {
                (Some(effect), _) => effect,
                (None, Some(read)) if read == state => state,
                _ => continue,
            };
            if dfs(items, done | (1 << c), next, seen) {
                return true;
            }
        }
        false
    }
    dfs(&items, 0, None, &mut HashSet::new())
}

fn small_op() -> impl Strategy<Value = (u8, u64, u64, u8, Option<u64>)> {
    (0u8..3, 0u64..60, 0u64..40, 0u8..8, 0u64..10).prop_map(|(kind, inv, dur, fate, read)| {
        (
            kind,
            inv,
            dur,
            fate,
            if read == 0 { None } else { Some(read) },
        )
    })
}

fn build_small(specs: &[(u8, u64, u64, u8, Option<u64>)]) -> Vec<Op> {
    let mut h = H::new();
    for (i, &(kind, inv, dur, fate, read)) in specs.iter().enumerate() {
        let p = i as u64;
        let done = inv + dur;
        let outcome_done = if fate == 7 { None } else { Some(done) };
        let outcome = match fate {
            0..=4 => Outcome::written(),
            5 => Outcome::fail("403"),
            _ => Outcome::unknown("timeout"),
        };
        match kind {
            0 => {
                h.op(p, put_kind("k", i as u64 + 1), inv, outcome_done, outcome);
            }
            1 => {
                let kind = OpKind::Delete { key: "k".into() };
                h.op(p, kind, inv, outcome_done, outcome);
            }
            _ if fate <= 4 => {
                h.get(p, "k", read, inv, done);
            }
            _ => {
                h.get_unknown(p, "k", inv, done);
            }
        }
    }
    h.into_ops()
}

/// Brute force over several keys with lists: is there one order of every op that respects
/// real time, each key's register and each listing?
fn oracle_multi(ops: &[Op]) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Act {
        Set(usize, Option<u64>),
        Read(usize, Option<u64>),
        List(u8),
    }
    let key_index = |key: &str| KEYS.iter().position(|k| *k == key).unwrap_or(0);
    let items: Vec<(u64, Option<u64>, Act)> = ops
        .iter()
        .filter(|op| !op.is_fail())
        .filter(|op| op.is_write() || op.is_ok())
        .map(|op| {
            let ret = if op.is_unknown() {
                None
            } else {
                op.completed_at
            };
            let act = match &op.kind {
                OpKind::Put { key, value, .. } => Act::Set(key_index(key), Some(*value)),
                OpKind::Delete { key } => Act::Set(key_index(key), None),
                OpKind::Get { key } => {
                    Act::Read(key_index(key), op.read().flatten().map(|r| r.value))
                }
                OpKind::List { .. } => {
                    let keys = op.listed().unwrap_or_default();
                    Act::List(keys.iter().fold(0, |mask, k| mask | 1 << key_index(k)))
                }
            };
            (op.invoked_at, ret, act)
        })
        .collect();
    type State = [Option<u64>; 3];
    fn dfs(
        items: &[(u64, Option<u64>, Act)],
        done: u64,
        state: State,
        seen: &mut HashSet<(u64, State)>,
    ) -> bool {
        if !(0..items.len()).any(|i| done & (1 << i) == 0 && items[i].1.is_some()) {
            return true;
        }
        if !seen.insert((done, state)) {
            return false;
        }
        for (c, &(call, _, act)) in items.iter().enumerate() {
            let blocked = items
                .iter()
                .enumerate()
                .any(|(r, other)| done & (1 << r) == 0 && other.1.is_some_and(|ret| ret < call));
            if done & (1 << c) != 0 || blocked {
                continue;
            }
            let mut next = state;
            let ok = match act {
                Act::Set(k, v) => {
                    next[k] = v;
                    true
                }
                Act::Read(k, v) => state[k] == v,
                Act::List(mask) => (0..3).all(|k| state[k].is_some() == (mask & (1 << k) != 0)),
            };
            if ok && dfs(items, done | (1 << c), next, seen) {
                return true;
            }
        }
        false
    }
    dfs(&items, 0, [None; 3], &mut HashSet::new())
}

/// (kind, key, invoke, duration, fate, read value or listed-key mask)
type MultiSpec = (u8, usize, u64, u64, u8, u64);

fn build_multi(specs: &[MultiSpec]) -> Vec<Op> {
    let mut h = H::new();
    for (i, &(kind, k, inv, dur, fate, read)) in specs.iter().enumerate() {
        let (p, key, done) = (i as u64, KEYS[k], inv + dur);
        let recorded = if fate == 7 { None } else { Some(done) };
        let outcome = match fate {
            0..=4 => Outcome::written(),
            5 => Outcome::fail("403"),
            _ => Outcome::unknown("timeout"),
        };
        match kind {
            0 => {
                h.op(p, put_kind(key, i as u64 + 1), inv, recorded, outcome);
            }
            1 => {
                h.op(
                    p,
                    OpKind::Delete { key: key.into() },
                    inv,
                    recorded,
                    outcome,
                );
            }
            2 if fate <= 5 => {
                h.get(p, key, (read > 0).then_some(read), inv, done);
            }
            _ if fate <= 5 => {
                let listed: Vec<&str> = (0..3)
                    .filter(|b| read & (1 << b) != 0)
                    .map(|b| KEYS[b])
                    .collect();
                h.list(p, "k", &listed, inv, done);
            }
            _ => {
                h.get_unknown(p, key, inv, done);
            }
        }
    }
    h.into_ops()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn register_histories_pass(specs in proptest::collection::vec(spec(), 1..120)) {
        let report = check(&history(simulate(&specs)), &CheckConfig::default());
        prop_assert!(report.is_clean(), "{}", report);
        prop_assert!(report.undecided.is_empty());
    }

    #[test]
    fn a_never_written_read_is_caught(specs in proptest::collection::vec(spec(), 1..80), pick in any::<prop::sample::Index>()) {
        let mut ops = simulate(&specs);
        let gets: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].read().is_some()).collect();
        let target = gets[pick.index(gets.len())];
        ops[target].outcome = Outcome::read(Some(read_of(1_000_000)));
        let key = ops[target].key().unwrap_or_default().to_string();
        let report = check(&history(ops), &CheckConfig::default());
        let kinds: HashSet<AnomalyKind> = report.anomalies.iter().filter(|a| a.key == key).map(|a| a.kind).collect();
        prop_assert!(kinds.contains(&AnomalyKind::NotLinearizable), "{}", report);
        prop_assert!(kinds.contains(&AnomalyKind::Phantom), "{}", report);
    }

    #[test]
    fn a_stale_read_is_caught(specs in proptest::collection::vec(spec(), 1..80), pick in any::<prop::sample::Index>()) {
        let mut ops = simulate(&specs);
        // (read, stale value): an acked put whose value a later acked write definitely
        // overwrote before the read began.
        let mut candidates = Vec::new();
        for r in ops.iter().filter(|op| op.read().is_some()) {
            for p in ops.iter().filter(|p| p.is_ok() && kind_is_put(&p.kind) && p.key() == r.key()) {
                let overwritten = ops.iter().any(|w| {
                    w.is_ok() && w.is_write() && w.key() == r.key() && w.id != p.id
                        && p.completed_or_max() < w.invoked_at && w.completed_or_max() < r.invoked_at
                });
                let value = p.put_value();
                if overwritten && r.read().flatten().map(|v| v.value) != value {
                    candidates.push((r.id, value));
                }
            }
        }
        if candidates.is_empty() {
            return Ok(());
        }
        let (target, value) = candidates[pick.index(candidates.len())];
        let index = ops.iter().position(|op| op.id == target).unwrap_or_default();
        ops[index].outcome = Outcome::read(value.map(read_of));
        let key = ops[index].key().unwrap_or_default().to_string();
        let verdict = check_key(&history(ops), &key, &LinearizableConfig::default());
        prop_assert!(matches!(verdict, KeyVerdict::Violation(_)), "{:?}", verdict);
    }

    #[test]
    fn small_histories_agree_with_brute_force(specs in proptest::collection::vec(small_op(), 1..9)) {
        let ops = build_small(&specs);
        let expected = oracle(&ops);
        let history = history(ops);
        let verdict = check_key(&history, "k", &LinearizableConfig::default());
        match verdict {
            KeyVerdict::Linearizable => prop_assert!(expected, "checker accepted a violation"),
            KeyVerdict::Violation(ref a) => prop_assert!(!expected, "checker refused a valid history: {}", a),
            KeyVerdict::Undecided(_) => prop_assert!(false, "undecided on a tiny history"),
        }
        if expected {
            // Every other checker must be quiet on a linearizable history too.
            let report = check(&history, &CheckConfig::default());
            prop_assert!(report.is_clean(), "{}", report);
        }
    }

    #[test]
    fn valid_multi_key_histories_raise_no_alarm(
        specs in proptest::collection::vec((0u8..4, 0usize..2, 0u64..40, 0u64..25, 0u8..8, 0u64..8), 1..9)
    ) {
        let ops = build_multi(&specs);
        if oracle_multi(&ops) {
            let report = check(&history(ops), &CheckConfig::default());
            prop_assert!(report.is_clean(), "{}", report);
        }
    }
}
