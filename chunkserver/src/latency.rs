//! Latencies of real traffic on one disk: a bounded sample of recent chunk reads or writes,
//! their percentiles, and the fail-slow test comparing a disk with its peers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Samples kept per disk and operation (the oldest is dropped first).
pub const MAX_SAMPLES: usize = 256;
/// Samples older than this are ignored: a disk that was slow long ago is not slow now.
pub const WINDOW: Duration = Duration::from_secs(60);
/// With fewer recent samples than this, a disk's percentiles are too noisy to compare.
pub const MIN_SAMPLES: usize = 10;
/// A disk is an outlier when its latency is more than this many times its peers'...
pub const OUTLIER_FACTOR: u64 = 10;
/// ...and above this floor (fast disks differ by large factors at microsecond scale).
pub const OUTLIER_FLOOR: Duration = Duration::from_millis(50);

/// Percentiles of the recent samples, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percentiles {
    pub p50_us: u64,
    pub p99_us: u64,
    pub count: usize,
}

/// The most recent [`MAX_SAMPLES`] latencies of one operation on one disk.
#[derive(Debug, Default)]
pub struct LatencySamples {
    samples: VecDeque<(Instant, u64)>,
}

impl LatencySamples {
    pub fn record(&mut self, at: Instant, took: Duration) {
        if self.samples.len() >= MAX_SAMPLES {
            self.samples.pop_front();
        }
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.samples.push_back((at, us));
    }

    /// Percentiles of the samples taken within [`WINDOW`] before `now`; None if there are none.
    pub fn percentiles(&self, now: Instant) -> Option<Percentiles> {
        let mut recent: Vec<u64> = self
            .samples
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= WINDOW)
            .map(|(_, us)| *us)
            .collect();
        if recent.is_empty() {
            return None;
        }
        recent.sort_unstable();
        Some(Percentiles {
            p50_us: percentile(&recent, 0.50),
            p99_us: percentile(&recent, 0.99),
            count: recent.len(),
        })
    }
}

/// Nearest-rank percentile of sorted, non-empty values.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    let n = sorted.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n.max(1));
    sorted.get(rank - 1).copied().unwrap_or(0)
}

/// Whether `mine_us` is far above its peers': more than [`OUTLIER_FACTOR`] times the median
/// of `peers_us` and above [`OUTLIER_FLOOR`]. No peers, no verdict.
pub fn is_outlier(mine_us: u64, peers_us: &[u64]) -> bool {
    if peers_us.is_empty() {
        return false;
    }
    let mut peers = peers_us.to_vec();
    peers.sort_unstable();
    let median = percentile(&peers, 0.5);
    let floor = OUTLIER_FLOOR.as_micros() as u64;
    mine_us > floor && mine_us > median.saturating_mul(OUTLIER_FACTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_recent_samples() {
        let mut s = LatencySamples::default();
        let now = Instant::now();
        assert_eq!(s.percentiles(now), None);
        for us in 1..=100u64 {
            s.record(now, Duration::from_micros(us));
        }
        let p = s.percentiles(now).expect("samples");
        assert_eq!((p.p50_us, p.p99_us, p.count), (50, 99, 100));
        let later = now + WINDOW + Duration::from_secs(1);
        assert_eq!(s.percentiles(later), None, "old samples are ignored");
    }

    #[test]
    fn keeps_a_bounded_sample() {
        let mut s = LatencySamples::default();
        let now = Instant::now();
        for _ in 0..MAX_SAMPLES {
            s.record(now, Duration::from_secs(1));
        }
        for _ in 0..MAX_SAMPLES {
            s.record(now, Duration::from_micros(5));
        }
        let p = s.percentiles(now).expect("samples");
        assert_eq!((p.p99_us, p.count), (5, MAX_SAMPLES));
    }

    #[test]
    fn outliers_need_both_factor_and_floor() {
        assert!(!is_outlier(1_000_000, &[]));
        assert!(is_outlier(100_000, &[1_000, 2_000, 3_000]));
        assert!(!is_outlier(100_000, &[20_000]), "only 5x");
        assert!(!is_outlier(40_000, &[100]), "below the floor");
        assert!(
            is_outlier(200_000, &[1_000, 1_000, 500_000]),
            "median, not max"
        );
    }
}
