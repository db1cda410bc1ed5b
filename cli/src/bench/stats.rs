//! What a phase measured: per-operation counts, bytes, errors and latency histograms.
//!
//! Each worker records into its own [`Recorder`] (no sharing on the hot path) and bumps the
//! phase's [`Live`] counters for the progress line; the recorders are merged when the phase
//! ends.

use super::hist::Histogram;
use super::op::Op;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Error messages kept per operation type.
pub const KEPT_ERRORS: usize = 5;

/// One operation type's results.
#[derive(Clone, Debug, Default)]
pub struct OpStats {
    /// Latencies of successful operations, in nanoseconds.
    pub latency: Histogram,
    pub ops: u64,
    pub bytes: u64,
    /// Extra count the operation produces (LIST: keys listed).
    pub items: u64,
    pub errors: u64,
    /// The first few error messages, distinct.
    pub first_errors: Vec<String>,
}

impl OpStats {
    fn keep_error(&mut self, msg: String) {
        if self.first_errors.len() < KEPT_ERRORS && !self.first_errors.contains(&msg) {
            self.first_errors.push(msg);
        }
    }

    pub fn merge(&mut self, other: &OpStats) {
        self.latency.merge(&other.latency);
        self.ops += other.ops;
        self.bytes += other.bytes;
        self.items += other.items;
        self.errors += other.errors;
        for m in &other.first_errors {
            self.keep_error(m.clone());
        }
    }
}

/// Counters the progress line reads while a phase runs.
#[derive(Debug, Default)]
pub struct Live {
    pub ops: AtomicU64,
    pub bytes: AtomicU64,
    pub errors: AtomicU64,
}

impl Live {
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.ops.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

/// One worker's results for one phase.
#[derive(Debug, Default)]
pub struct Recorder {
    per_op: [Option<OpStats>; 5],
}

impl Recorder {
    fn slot(&mut self, op: Op) -> &mut OpStats {
        self.per_op[op.index()].get_or_insert_with(OpStats::default)
    }

    /// A successful operation that took `took` and moved `bytes` payload bytes.
    pub fn ok(&mut self, live: &Live, op: Op, took: Duration, bytes: u64, items: u64) {
        let s = self.slot(op);
        s.latency
            .record(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
        s.ops += 1;
        s.bytes += bytes;
        s.items += items;
        live.ops.fetch_add(1, Ordering::Relaxed);
        live.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn err(&mut self, live: &Live, op: Op, msg: String) {
        let s = self.slot(op);
        s.errors += 1;
        s.keep_error(msg);
        live.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `other` into this recorder.
    pub fn merge(&mut self, other: &Recorder) {
        for (mine, theirs) in self.per_op.iter_mut().zip(&other.per_op) {
            if let Some(t) = theirs {
                mine.get_or_insert_with(OpStats::default).merge(t);
            }
        }
    }

    /// The operation types that ran, in [`Op::ALL`] order.
    pub fn results(&self) -> Vec<(Op, &OpStats)> {
        Op::ALL
            .into_iter()
            .filter_map(|op| self.per_op[op.index()].as_ref().map(|s| (op, s)))
            .collect()
    }

    pub fn total_ops(&self) -> u64 {
        self.per_op.iter().flatten().map(|s| s.ops).sum()
    }

    pub fn total_errors(&self) -> u64 {
        self.per_op.iter().flatten().map(|s| s.errors).sum()
    }
}

/// User plus system CPU time of this process so far.
pub fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorders_merge_and_keep_a_few_distinct_errors() {
        let live = Live::default();
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        a.ok(&live, Op::Put, Duration::from_millis(2), 4096, 0);
        b.ok(&live, Op::Put, Duration::from_millis(4), 4096, 0);
        b.ok(&live, Op::List, Duration::from_millis(1), 0, 1000);
        for i in 0..10 {
            a.err(&live, Op::Get, format!("e{}", i % 7));
        }
        a.err(&live, Op::Get, "e0".into());
        a.merge(&b);
        assert_eq!(live.snapshot(), (3, 8192, 11));
        let r = a.results();
        assert_eq!(
            r.iter().map(|(op, _)| *op).collect::<Vec<_>>(),
            vec![Op::Put, Op::Get, Op::List]
        );
        let put = r[0].1;
        assert_eq!((put.ops, put.bytes, put.latency.count()), (2, 8192, 2));
        let get = r[1].1;
        assert_eq!(get.errors, 11);
        assert_eq!(get.first_errors, vec!["e0", "e1", "e2", "e3", "e4"]);
        assert_eq!(r[2].1.items, 1000);
        assert_eq!((a.total_ops(), a.total_errors()), (3, 11));
    }

    #[test]
    fn cpu_time_moves_forward() {
        let before = process_cpu();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu() >= before);
    }
}
