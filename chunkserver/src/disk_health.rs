//! The health of one disk: [`HealthTracker`], the pure state machine driven by probe results
//! and traffic signals, and [`DiskMonitor`], the per-disk record the I/O paths and the health
//! worker update and the heartbeat reports.
//!
//! Transitions (see [`HealthTracker::observe`]):
//! - a failed probe (EIO, EROFS, timeout, read-back mismatch, identity gone) makes a healthy
//!   disk suspect, and `fail_after` failed probes in a row make it failed;
//! - a failed disk comes back only after `recover_after` good probes in a row;
//! - otherwise a good probe gives healthy, unless real traffic saw I/O errors recently, or the
//!   disk is slow (probe slower than `slow_probe`, or latency far above its peers'): suspect
//!   after [`SLOW_STREAK`] slow probes in a row, healthy again after as many fast ones;
//! - a full disk (ENOSPC on the probe) is not a failure: it is reported normally and its
//!   `free_bytes` keeps placements away.
//!
//! A busy machine is not a slow disk: a probe's latency excludes the time its thread waited
//! for a CPU ([`crate::cpu_stall`]), so CPU starvation alone never makes a disk suspect, let
//! alone failed (only failed probes fail a disk, and a probe fails on an I/O error or when it
//! has not returned after the generous [`crate::health::probe_timeout`]).

use crate::latency::{LatencySamples, Percentiles};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use trireme_api::meta::{DiskHealth, DiskState};

/// Good probes in a row that bring a failed disk back.
pub const RECOVER_AFTER: u32 = 5;
/// An I/O error on real traffic keeps the disk suspect this long.
pub const RECENT_IO_ERRORS: Duration = Duration::from_secs(60);
/// Slow probes in a row that make a disk suspect, and fast ones that clear it: one slow
/// sample (an fsync behind a burst of writes) is not a fail-slow disk.
pub const SLOW_STREAK: u32 = 2;

/// What one probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    /// Wrote, fsynced and read back the probe file in this long.
    Ok(Duration),
    /// The filesystem is full (ENOSPC, EDQUOT): the disk answers, it has no room.
    Full(Duration),
    /// Why the probe failed.
    Failed(String),
}

impl ProbeResult {
    pub fn latency(&self) -> Option<Duration> {
        match self {
            ProbeResult::Ok(d) | ProbeResult::Full(d) => Some(*d),
            ProbeResult::Failed(_) => None,
        }
    }
}

/// The thresholds of the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthPolicy {
    pub fail_after: u32,
    pub recover_after: u32,
    pub slow_probe: Duration,
}

/// Reasons, from outside the probe, why a disk looks unwell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    /// Latency far above the other disks' (fail-slow).
    pub slow: Option<String>,
    /// Recent I/O errors on real traffic.
    pub io_errors: Option<String>,
}

/// A disk's health state and the counts that drive it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthTracker {
    pub state: DiskState,
    pub consecutive_failures: u32,
    pub consecutive_ok: u32,
    /// Slow (or fast) probes in a row, for fail-slow hysteresis.
    pub consecutive_slow: u32,
    pub consecutive_fast: u32,
    /// Suspect because slow (cleared only by a streak of fast probes).
    pub slow_flagged: bool,
    /// Why the state is not healthy, in words.
    pub reason: Option<String>,
}

impl Default for HealthTracker {
    fn default() -> Self {
        HealthTracker {
            state: DiskState::Healthy,
            consecutive_failures: 0,
            consecutive_ok: 0,
            consecutive_slow: 0,
            consecutive_fast: 0,
            slow_flagged: false,
            reason: None,
        }
    }
}

impl HealthTracker {
    /// Applies one probe result; returns the new state.
    pub fn observe(
        &mut self,
        probe: &ProbeResult,
        signals: &Signals,
        policy: &HealthPolicy,
    ) -> DiskState {
        match probe {
            ProbeResult::Failed(error) => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.consecutive_ok = 0;
                self.consecutive_fast = 0;
                let (n, limit) = (self.consecutive_failures, policy.fail_after.max(1));
                if n >= limit {
                    self.state = DiskState::Failed;
                    self.reason = Some(format!("{n} failed probes in a row; last: {error}"));
                } else if self.state != DiskState::Failed {
                    self.state = DiskState::Suspect;
                    self.reason = Some(format!("probe failed ({n} of {limit}): {error}"));
                }
            }
            ProbeResult::Ok(latency) | ProbeResult::Full(latency) => {
                self.consecutive_failures = 0;
                self.consecutive_ok = self.consecutive_ok.saturating_add(1);
                if self.state == DiskState::Failed && self.consecutive_ok < policy.recover_after {
                    self.reason = Some(format!(
                        "failed; recovering: {} of {} good probes in a row",
                        self.consecutive_ok, policy.recover_after
                    ));
                    return self.state;
                }
                let slow_probe = (*latency > policy.slow_probe).then(|| {
                    format!(
                        "probe took {} ms (slow above {} ms)",
                        latency.as_millis(),
                        policy.slow_probe.as_millis()
                    )
                });
                let slow = slow_probe.or_else(|| signals.slow.clone());
                if slow.is_some() {
                    self.consecutive_slow = self.consecutive_slow.saturating_add(1);
                    self.consecutive_fast = 0;
                } else {
                    self.consecutive_fast = self.consecutive_fast.saturating_add(1);
                    self.consecutive_slow = 0;
                }
                // Slowness needs a streak either way (no flapping on one sample); I/O errors
                // on real traffic count at once.
                let slow_reason = match slow {
                    Some(r) if self.slow_flagged || self.consecutive_slow >= SLOW_STREAK => {
                        self.slow_flagged = true;
                        Some(r)
                    }
                    Some(_) => None,
                    None if self.slow_flagged && self.consecutive_fast < SLOW_STREAK => {
                        Some(format!(
                            "slow; recovering: {} of {SLOW_STREAK} fast probes in a row",
                            self.consecutive_fast
                        ))
                    }
                    None => {
                        self.slow_flagged = false;
                        None
                    }
                };
                self.reason = slow_reason.or_else(|| signals.io_errors.clone());
                self.state = match self.reason {
                    Some(_) => DiskState::Suspect,
                    None => DiskState::Healthy,
                };
            }
        }
        self.state
    }

    /// An I/O error on real traffic: a healthy disk is suspect at once (the probe that the
    /// error triggers decides what comes next).
    pub fn traffic_error(&mut self, what: &str) {
        if self.state == DiskState::Healthy {
            self.state = DiskState::Suspect;
            self.reason = Some(format!("I/O error on real traffic: {what}"));
        }
    }
}

/// Chunk traffic counters of one disk since start-up.
#[derive(Debug, Default)]
pub struct TrafficCounters {
    pub bytes_read: AtomicU64,
    pub chunks_read: AtomicU64,
    pub bytes_written: AtomicU64,
    pub chunks_written: AtomicU64,
}

/// Everything measured on one disk; shared by the I/O paths, the workers and the reports.
#[derive(Debug, Default)]
pub struct DiskMonitor {
    inner: Mutex<Inner>,
    io_errors: AtomicU64,
    corrupt: AtomicU64,
    pub traffic: TrafficCounters,
    probe_now: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    tracker: HealthTracker,
    reads: LatencySamples,
    writes: LatencySamples,
    probe_latency: Option<Duration>,
    last_probe: Option<Instant>,
    last_error: Option<String>,
    last_io_error: Option<Instant>,
    last_scrub_ms: Option<u64>,
}

impl DiskMonitor {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self) -> DiskState {
        self.lock().tracker.state
    }

    pub fn tracker(&self) -> HealthTracker {
        self.lock().tracker.clone()
    }

    /// A chunk read of `bytes` on real traffic took `took`.
    pub fn record_read(&self, took: Duration, bytes: u64) {
        self.lock().reads.record(Instant::now(), took);
        self.traffic.bytes_read.fetch_add(bytes, Ordering::Relaxed);
        self.traffic.chunks_read.fetch_add(1, Ordering::Relaxed);
    }

    /// A chunk write of `bytes` on real traffic took `took`.
    pub fn record_write(&self, took: Duration, bytes: u64) {
        self.lock().writes.record(Instant::now(), took);
        self.traffic
            .bytes_written
            .fetch_add(bytes, Ordering::Relaxed);
        self.traffic.chunks_written.fetch_add(1, Ordering::Relaxed);
    }

    /// An I/O error (EIO, EROFS...) on real traffic: counts it and asks for a probe now.
    pub fn io_error(&self, what: &str) {
        self.io_errors.fetch_add(1, Ordering::Relaxed);
        {
            let mut inner = self.lock();
            inner.last_error = Some(what.to_string());
            inner.last_io_error = Some(Instant::now());
            inner.tracker.traffic_error(what);
        }
        self.probe_now.notify_one();
    }

    /// A replica on this disk was found corrupt.
    pub fn corrupt_replica(&self, reason: &str) {
        self.corrupt.fetch_add(1, Ordering::Relaxed);
        self.lock().last_error = Some(reason.to_string());
    }

    pub fn io_errors(&self) -> u64 {
        self.io_errors.load(Ordering::Relaxed)
    }

    pub fn corrupt_replicas(&self) -> u64 {
        self.corrupt.load(Ordering::Relaxed)
    }

    /// Resolves when an I/O path asked for a probe now.
    pub async fn probe_requested(&self) {
        self.probe_now.notified().await;
    }

    /// Applies a probe result; returns (state before, state after).
    pub fn probed(
        &self,
        result: &ProbeResult,
        signals: &Signals,
        policy: &HealthPolicy,
    ) -> (DiskState, DiskState) {
        if let ProbeResult::Failed(_) = result {
            self.io_errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut inner = self.lock();
        let before = inner.tracker.state;
        inner.last_probe = Some(Instant::now());
        inner.probe_latency = result.latency();
        match result {
            ProbeResult::Failed(e) => inner.last_error = Some(format!("probe: {e}")),
            ProbeResult::Full(_) => inner.last_error = Some("probe: disk full".to_string()),
            ProbeResult::Ok(_) => {}
        }
        let after = inner.tracker.observe(result, signals, policy);
        (before, after)
    }

    /// The latency of the last probe, if it passed.
    pub fn probe_latency(&self) -> Option<Duration> {
        self.lock().probe_latency
    }

    /// Read and write percentiles of recent real traffic.
    pub fn latencies(&self, now: Instant) -> (Option<Percentiles>, Option<Percentiles>) {
        let inner = self.lock();
        (inner.reads.percentiles(now), inner.writes.percentiles(now))
    }

    /// Words describing the I/O errors of real traffic within `window` before `now`.
    pub fn recent_io_errors(&self, now: Instant, window: Duration) -> Option<String> {
        let inner = self.lock();
        let at = inner.last_io_error?;
        let ago = now.saturating_duration_since(at);
        (ago <= window).then(|| {
            let last = inner.last_error.as_deref().unwrap_or("I/O error");
            format!("I/O error on real traffic {} s ago: {last}", ago.as_secs())
        })
    }

    pub fn set_last_scrub_ms(&self, ms: u64) {
        self.lock().last_scrub_ms = Some(ms);
    }

    pub fn last_scrub_ms(&self) -> Option<u64> {
        self.lock().last_scrub_ms
    }

    /// The health part of this disk's heartbeat report.
    pub fn health(&self) -> DiskHealth {
        let now = Instant::now();
        let inner = self.lock();
        let (reads, writes) = (inner.reads.percentiles(now), inner.writes.percentiles(now));
        DiskHealth {
            probe_latency_us: inner.probe_latency.map(micros),
            last_probe_ms_ago: inner
                .last_probe
                .map(|t| millis(now.saturating_duration_since(t))),
            consecutive_failures: inner.tracker.consecutive_failures,
            io_errors: self.io_errors(),
            corrupt_replicas: self.corrupt_replicas(),
            read_p50_us: reads.map(|p| p.p50_us),
            read_p99_us: reads.map(|p| p.p99_us),
            write_p50_us: writes.map(|p| p.p50_us),
            write_p99_us: writes.map(|p| p.p99_us),
            last_error: inner.last_error.clone(),
            reason: inner.tracker.reason.clone(),
            last_scrub_ms: inner.last_scrub_ms,
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(millis)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
