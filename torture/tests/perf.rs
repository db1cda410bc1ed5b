//! The linearizability search stays fast on a busy key: 300 ops from 10 concurrent clients.

mod common;

use std::time::{Duration, Instant};

use common::{put_kind, H};
use trireme_torture::linearizable::{self, check_key, KeyVerdict};
use trireme_torture::{check, CheckConfig, LinearizableConfig, Op, OpKind, Outcome};

/// xorshift64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `per_client` ops from each of `clients` sequential clients on one key; every op takes effect
/// at a random point of its window (unknown writes possibly after it, or never).
fn busy_key(seed: u64, clients: u64, per_client: u64) -> Vec<Op> {
    let mut h = H::new();
    busy_key_into(&mut h, "k", 0, seed, clients, per_client);
    h.into_ops()
}

/// Adds a busy key's ops to `h`, with value ids above `base`.
fn busy_key_into(h: &mut H, key: &str, base: u64, seed: u64, clients: u64, per_client: u64) {
    let mut rng = Rng(seed);
    // (lin, client, invoke, complete, choice)
    let mut planned = Vec::new();
    for client in 0..clients {
        let mut t = rng.below(100);
        for _ in 0..per_client {
            let invoke = t;
            let lin = invoke + 1 + rng.below(400);
            let complete = lin + 1 + rng.below(400);
            planned.push((lin, client, invoke, complete, rng.below(20)));
            t = complete + rng.below(20);
        }
    }
    planned.sort_unstable();
    let mut state = None;
    for (i, &(lin, p, invoke, complete, choice)) in planned.iter().enumerate() {
        let value = base + i as u64 + 1;
        match choice {
            0..=5 => {
                state = Some(value);
                h.put(p, key, value, invoke, complete);
            }
            6 => {
                // Unknown and applied, perhaps after the client gave up.
                state = Some(value);
                h.put_unknown(p, key, value, invoke, Some(invoke + (lin - invoke) / 2));
            }
            7 => {
                h.put_unknown(p, key, value, invoke, Some(complete));
            }
            8 => {
                state = None;
                h.delete(p, key, invoke, complete);
            }
            9 => {
                state = None;
                h.delete_unknown(p, key, invoke, Some(complete));
            }
            10 => {
                h.op(
                    p,
                    OpKind::Delete { key: key.into() },
                    invoke,
                    Some(complete),
                    Outcome::fail("403"),
                );
            }
            11 => {
                h.op(
                    p,
                    put_kind(key, value),
                    invoke,
                    Some(complete),
                    Outcome::fail("403"),
                );
            }
            _ => {
                h.get(p, key, state, invoke, complete);
            }
        }
    }
}

#[test]
fn three_hundred_ops_from_ten_clients_check_fast() {
    for seed in [1, 7, 42, 1234, 99_999] {
        let ops = busy_key(seed, 10, 30);
        assert_eq!(ops.len(), 300);
        let history = trireme_torture::History::from_ops(ops).expect("valid");
        let started = Instant::now();
        let verdict = check_key(&history, "k", &LinearizableConfig::default());
        let took = started.elapsed();
        assert_eq!(verdict, KeyVerdict::Linearizable, "seed {seed}");
        assert!(took < Duration::from_secs(1), "seed {seed}: {took:?}");
    }
}

#[test]
fn a_stale_read_on_a_busy_key_is_found_fast() {
    for seed in [1, 5, 7, 42] {
        let mut ops = busy_key(seed, 10, 30);
        // The last read returns the first acknowledged value, overwritten long before: the
        // search has to rule out every order of the ops before it.
        let first = ops
            .iter()
            .find(|op| op.is_ok() && op.put_value().is_some())
            .and_then(|op| op.put_value());
        let last_get = ops
            .iter()
            .rposition(|op| op.read().is_some())
            .expect("a get");
        ops[last_get].outcome = Outcome::read(first.map(common::read_of));
        let history = trireme_torture::History::from_ops(ops).expect("valid");
        let started = Instant::now();
        let report = linearizable::check(&history, &LinearizableConfig::default());
        let took = started.elapsed();
        assert_eq!(report.anomalies.len(), 1, "seed {seed}");
        assert!(report.undecided.is_empty(), "seed {seed}");
        assert!(
            took < Duration::from_secs(1),
            "seed {seed}: {took:?}, {} steps",
            report.steps
        );
    }
}

#[test]
fn full_report_on_ten_busy_keys_is_fast() {
    let mut h = H::new();
    for k in 0..10u64 {
        busy_key_into(&mut h, &format!("k{k}"), k * 1_000, 100 + k, 10, 30);
    }
    let history = trireme_torture::History::from_ops(h.into_ops()).expect("valid");
    let started = Instant::now();
    let report = check(&history, &CheckConfig::default());
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.keys_checked, 10);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
