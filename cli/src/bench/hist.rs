//! [`Histogram`]: an HDR-style latency histogram with log-linear buckets.
//!
//! Values (nanoseconds) below 128 have a bucket each; above, every power of two is split into
//! 128 equal buckets, so a reported percentile is within 1/128 (0.8%) of the true value.
//! Values up to 2^40 ns (18 minutes) are kept apart; larger ones share the last bucket, and
//! the exact maximum is kept separately. Recording is an index computation and an add;
//! workers keep their own histograms, merged at the end.

/// Sub-buckets per power of two: 2^SUB_BITS.
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
/// Largest value kept apart from its neighbours.
const MAX_TRACKED: u64 = 1 << 40;

#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

fn index(v: u64) -> usize {
    let v = v.min(MAX_TRACKED);
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    let mantissa = v >> shift; // in [SUB, 2 * SUB)
    (((shift + 1) as u64) * SUB + (mantissa - SUB)) as usize
}

/// The smallest value of bucket `i`.
fn lowest(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let shift = i / SUB - 1;
    (SUB + i % SUB) << shift
}

/// The largest value of bucket `i`.
fn highest(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let shift = i / SUB - 1;
    lowest(i as usize) + (1u64 << shift) - 1
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; index(MAX_TRACKED) + 1],
            total: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    pub fn record(&mut self, v: u64) {
        self.counts[index(v)] += 1;
        self.total += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn min(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            self.min
        }
    }

    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at quantile `q` (0..=1): the highest value of the bucket holding the
    /// `ceil(q * count)`-th smallest sample, clamped to the recorded minimum and maximum.
    /// 0 for an empty histogram.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return highest(i).clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_fine() {
        let mut prev_high = None;
        for i in 0..index(MAX_TRACKED) {
            let (lo, hi) = (lowest(i), highest(i));
            assert!(lo <= hi);
            if let Some(p) = prev_high {
                assert_eq!(lo, p + 1, "gap before bucket {i}");
            }
            assert_eq!(index(lo), i);
            assert_eq!(index(hi), i);
            // Relative width under 1/128.
            assert!((hi - lo) as f64 <= lo as f64 / 128.0 + 1.0, "bucket {i}");
            prev_high = Some(hi);
        }
    }

    #[test]
    fn percentiles_of_a_uniform_distribution() {
        let mut h = Histogram::new();
        // 1..=100_000 microseconds, in nanoseconds, shuffled order does not matter.
        for us in 1..=100_000u64 {
            h.record(us * 1000);
        }
        assert_eq!(h.count(), 100_000);
        assert_eq!(h.min(), 1000);
        assert_eq!(h.max(), 100_000_000);
        for (q, want) in [
            (0.5, 50_000_000.0),
            (0.9, 90e6),
            (0.99, 99e6),
            (0.999, 99.9e6),
        ] {
            let got = h.quantile(q) as f64;
            assert!(
                (got - want).abs() / want < 1.0 / 128.0,
                "q{q}: got {got}, want {want}"
            );
        }
        assert_eq!(h.quantile(1.0), 100_000_000);
        assert!((h.mean() - 50_000_500.0).abs() < 1.0);
    }

    #[test]
    fn percentiles_are_ordered_and_clamped() {
        let mut h = Histogram::new();
        for v in [5, 7, 1_000, 1_000_000, 3_000_000_000] {
            h.record(v);
        }
        let qs: Vec<u64> = [0.0, 0.5, 0.9, 0.99, 0.999, 1.0]
            .iter()
            .map(|&q| h.quantile(q))
            .collect();
        assert!(qs.windows(2).all(|w| w[0] <= w[1]), "{qs:?}");
        assert_eq!(h.quantile(0.0), 5);
        // The highest value of the sample's bucket: within 1/128 above it.
        assert!(
            (1_000..=1_008).contains(&h.quantile(0.5)),
            "{}",
            h.quantile(0.5)
        );
        assert_eq!(h.quantile(1.0), 3_000_000_000);
        // One sample: every percentile is that sample.
        let mut one = Histogram::new();
        one.record(123_456_789);
        assert_eq!(one.quantile(0.5), 123_456_789);
        assert_eq!(one.quantile(0.999), 123_456_789);
        assert_eq!(Histogram::new().quantile(0.5), 0);
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        for v in 0..1000u64 {
            a.record(v * 10);
            b.record(v * 10 + 5);
        }
        b.record(u64::MAX);
        a.merge(&b);
        assert_eq!(a.count(), 2001);
        assert_eq!(a.max(), u64::MAX);
        assert_eq!(a.min(), 0);
        let p50 = a.quantile(0.5);
        assert!((4900..=5100).contains(&p50), "{p50}");
    }
}
