//! Figures of a history that are not checks: outcome counts, latency percentiles and
//! unavailability windows, per [`OpClass`].
//!
//! An unavailability window of a class is a stretch between two successful completions (or
//! before the first, or after the last) during which ops of the class were attempted and none
//! succeeded. It starts at the earlier success, or at the first attempt after it when clients
//! were idle, and ends at the next success (`recovered`) or, for the trailing window, at the
//! last failure seen (not recovered). Under steady load the windows are about one latency long;
//! a leader failover shows as one window of its length.

use serde::{Deserialize, Serialize};

use crate::history::{History, Op, OpClass};

/// Outcomes of the ops of one class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.ok + self.fail + self.unknown
    }

    fn add(&mut self, op: &Op) {
        if op.is_ok() {
            self.ok += 1;
        } else if op.is_fail() {
            self.fail += 1;
        } else {
            self.unknown += 1;
        }
    }
}

/// Counts per class, in [`OpClass::ALL`] order.
pub fn counts(history: &History) -> Vec<(OpClass, Counts)> {
    OpClass::ALL
        .iter()
        .map(|&class| {
            let mut counts = Counts::default();
            for op in history.ops().iter().filter(|op| op.kind.class() == class) {
                counts.add(op);
            }
            (class, counts)
        })
        .collect()
}

/// Latency percentiles in nanoseconds (nearest rank).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    pub count: usize,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

/// Latency of the ops of `class` that completed definitely (ok or fail; an unknown op's
/// completion is a timeout, not a latency) and were invoked within `from..to`.
pub fn latency(history: &History, class: OpClass, from: u64, to: u64) -> Option<Latency> {
    let mut samples: Vec<u64> = history
        .ops()
        .iter()
        .filter(|op| op.kind.class() == class && !op.is_unknown())
        .filter(|op| (from..to).contains(&op.invoked_at))
        .filter_map(|op| op.completed_at.map(|done| done - op.invoked_at))
        .collect();
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let index = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index]
    };
    Some(Latency {
        count: samples.len(),
        p50: rank(0.50),
        p99: rank(0.99),
        max: samples[samples.len() - 1],
    })
}

/// A stretch of time during which no op of a class succeeded although some were attempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub class: OpClass,
    pub start: u64,
    pub end: u64,
    /// Ops of the class invoked in the window.
    pub attempts: usize,
    /// Of those, the ones that failed or had an unknown outcome.
    pub failed: usize,
    /// Whether a success ended the window (false: the history ended first).
    pub recovered: bool,
}

impl Window {
    /// Length in nanoseconds.
    pub fn length(&self) -> u64 {
        self.end - self.start
    }
}

/// The unavailability windows of `class`, longest first.
pub fn unavailability(history: &History, class: OpClass) -> Vec<Window> {
    let ops: Vec<&Op> = history
        .ops()
        .iter()
        .filter(|op| op.kind.class() == class)
        .collect();
    // An op occupies invoke..end; one that never completed only its invocation instant.
    let end = |op: &Op| op.completed_at.unwrap_or(op.invoked_at);
    let mut successes: Vec<u64> = ops
        .iter()
        .filter(|op| op.is_ok())
        .map(|op| end(op))
        .collect();
    successes.sort_unstable();
    let mut by_end: Vec<(u64, u64)> = ops.iter().map(|op| (end(op), op.invoked_at)).collect();
    by_end.sort_unstable();
    // suffix_min[i]: earliest invocation among ops ending at or after by_end[i].
    let mut suffix_min = vec![u64::MAX; by_end.len() + 1];
    for i in (0..by_end.len()).rev() {
        suffix_min[i] = suffix_min[i + 1].min(by_end[i].1);
    }
    let invokes: Vec<u64> = ops.iter().map(|op| op.invoked_at).collect(); // sorted: history order
    let failed_invokes: Vec<u64> = ops
        .iter()
        .filter(|op| !op.is_ok())
        .map(|op| op.invoked_at)
        .collect();
    let in_range = |sorted: &[u64], from: u64, to: u64| {
        sorted.partition_point(|&t| t < to) - sorted.partition_point(|&t| t < from)
    };
    // Earliest invocation of an op still unfinished after `after` (None: every op).
    let first_busy = |after: Option<u64>| {
        let i = after.map_or(0, |a| by_end.partition_point(|&(e, _)| e <= a));
        (i < by_end.len()).then(|| suffix_min[i])
    };

    let mut windows = Vec::new();
    let mut previous: Option<u64> = None;
    for &success in &successes {
        if previous.is_some_and(|p| success <= p) {
            continue;
        }
        if let Some(first) = first_busy(previous) {
            let start = previous.map_or(first, |p| p.max(first));
            if start < success {
                windows.push(Window {
                    class,
                    start,
                    end: success,
                    attempts: in_range(&invokes, start, success),
                    failed: in_range(&failed_invokes, start, success),
                    recovered: true,
                });
            }
        }
        previous = Some(success);
    }
    if let Some(first) = first_busy(previous) {
        let start = previous.map_or(first, |p| p.max(first));
        let last = by_end.last().map_or(start, |&(e, _)| e);
        windows.push(Window {
            class,
            start,
            end: last.max(start),
            attempts: in_range(&invokes, start, u64::MAX),
            failed: in_range(&failed_invokes, start, u64::MAX),
            recovered: false,
        });
    }
    windows.sort_by_key(|w| std::cmp::Reverse(w.length()));
    windows
}

/// A duration for humans: `850ns`, `12.3µs`, `4.5ms`, `1.23s`.
pub fn format_nanos(nanos: u64) -> String {
    let n = nanos as f64;
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 1_000_000 {
        format!("{:.1}µs", n / 1e3)
    } else if nanos < 1_000_000_000 {
        format!("{:.1}ms", n / 1e6)
    } else {
        format!("{:.2}s", n / 1e9)
    }
}
