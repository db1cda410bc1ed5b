//! Rate limits of the scrub worker, as pure functions of time: a token bucket for its
//! bandwidth and the pacing that spreads a periodic pass over its interval.

use std::time::{Duration, Instant};

/// A token bucket of bytes per second that may go into debt: [`TokenBucket::take`] always
/// succeeds and says how long to wait before going on, so a request larger than the burst
/// still passes, at the configured rate.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A bucket of `rate` bytes per second holding at most one second of tokens, full.
    pub fn new(rate: u64, now: Instant) -> Self {
        let rate = rate.max(1) as f64;
        TokenBucket {
            rate,
            burst: rate,
            tokens: rate,
            last: now,
        }
    }

    pub fn rate(&self) -> u64 {
        self.rate as u64
    }

    /// Changes the rate, keeping the tokens (capped to the new burst).
    pub fn set_rate(&mut self, rate: u64, now: Instant) {
        self.refill(now);
        self.rate = rate.max(1) as f64;
        self.burst = self.rate;
        self.tokens = self.tokens.min(self.burst);
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }

    /// Takes `n` tokens; returns how long to wait before using them.
    pub fn take(&mut self, n: u64, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// How long to wait before the next item of a paced pass: a pass that should take `target`
/// and has done `done` of `total` bytes since `started` waits until it is no longer ahead
/// of schedule.
pub fn pace(started: Instant, now: Instant, done: u64, total: u64, target: Duration) -> Duration {
    if total == 0 || done >= total {
        return Duration::ZERO;
    }
    let due = target.mul_f64(done as f64 / total as f64);
    due.saturating_sub(now.saturating_duration_since(started))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_limits_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, t0);
        assert_eq!(b.take(1000, t0), Duration::ZERO, "one second of burst");
        assert_eq!(b.take(500, t0), Duration::from_millis(500));
        // Debt is paid back over time.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(b.take(0, t1), Duration::ZERO);
        // A request larger than the burst passes, with a wait at the rate.
        assert_eq!(b.take(3000, t1), Duration::from_secs(3));
        // Idle time never stores more than the burst.
        let t2 = t1 + Duration::from_secs(100);
        assert_eq!(b.take(1000, t2), Duration::ZERO);
        assert_eq!(b.take(100, t2), Duration::from_millis(100));
    }

    #[test]
    fn bucket_rate_changes_apply_at_once() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, t0);
        b.take(100, t0);
        b.set_rate(1000, t0);
        assert_eq!(b.take(1000, t0), Duration::from_secs(1));
        assert_eq!(b.rate(), 1000);
    }

    #[test]
    fn pacing_spreads_a_pass() {
        let t0 = Instant::now();
        let target = Duration::from_secs(100);
        assert_eq!(pace(t0, t0, 0, 10, target), Duration::ZERO);
        assert_eq!(pace(t0, t0, 5, 10, target), Duration::from_secs(50));
        let t1 = t0 + Duration::from_secs(20);
        assert_eq!(pace(t0, t1, 5, 10, target), Duration::from_secs(30));
        let late = t0 + Duration::from_secs(80);
        assert_eq!(pace(t0, late, 5, 10, target), Duration::ZERO);
        assert_eq!(pace(t0, t0, 0, 0, target), Duration::ZERO);
    }
}
