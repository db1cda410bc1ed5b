//! Fail-slow across chunkservers. A chunkserver compares its own disks with each other, which
//! cannot see a chunkserver whose disks are all slow (or one with a single disk). The leader
//! sees every disk: a healthy disk whose probe latency stays far above the median of the other
//! chunkservers' disks for [`STREAK`] probes in a row is treated as suspect (reads go
//! elsewhere first, placement prefers other disks) until it is fast for as many probes.
//!
//! A streak counts probes, not heartbeats: a chunkserver reports its last probe in every
//! heartbeat (by default 5 heartbeats per probe), so a heartbeat repeating the latency
//! already judged adds nothing. Otherwise one slow probe (a 4 KiB fsync stuck behind a burst
//! of writes on a loaded machine) made a disk suspect by itself.

use std::collections::HashMap;
use trireme_api::ids::{ChunkserverId, DiskId};
use trireme_api::meta::{DiskReport, DiskState};

/// How many times the peers' median a probe must take to count as slow.
pub const FACTOR: u64 = 10;
/// ...and at least this long (fast disks differ by large factors at microsecond scale).
pub const FLOOR_US: u64 = 50_000;
/// Probes in a row that flag (or clear) a disk.
pub const STREAK: u32 = 3;
/// Peer disks needed before comparing at all.
pub const MIN_PEERS: usize = 3;

#[derive(Clone, Debug, Default)]
pub struct Streak {
    slow: u32,
    fast: u32,
    flagged: bool,
    /// The probe latency last judged: the same one again is the same probe.
    judged_us: Option<u64>,
}

/// The median probe latency of `latencies`, if there are enough of them.
pub fn median(mut latencies: Vec<u64>) -> Option<u64> {
    if latencies.len() < MIN_PEERS {
        return None;
    }
    latencies.sort_unstable();
    Some(latencies[latencies.len() / 2])
}

/// Updates the streaks of one chunkserver's disks against its peers' median probe latency,
/// and marks the flagged ones suspect (with the reason) in `disks`.
pub fn judge(
    streaks: &mut HashMap<(ChunkserverId, DiskId), Streak>,
    chunkserver: ChunkserverId,
    disks: &mut [DiskReport],
    peers_median_us: Option<u64>,
) {
    for d in disks.iter_mut() {
        let key = (chunkserver, d.disk_id.clone());
        let (Some(latency), Some(median)) = (d.health.probe_latency_us, peers_median_us) else {
            streaks.remove(&key);
            continue;
        };
        if d.state != DiskState::Healthy {
            streaks.remove(&key);
            continue;
        }
        let limit = (median * FACTOR).max(FLOOR_US);
        let s = streaks.entry(key).or_default();
        if s.judged_us == Some(latency) {
            // The same probe, reported again: no new evidence either way.
        } else if latency > limit {
            s.slow += 1;
            s.fast = 0;
            if s.slow >= STREAK {
                s.flagged = true;
            }
        } else {
            s.fast += 1;
            s.slow = 0;
            if s.fast >= STREAK {
                s.flagged = false;
            }
        }
        s.judged_us = Some(latency);
        if s.flagged {
            d.state = DiskState::Suspect;
            d.health.reason = Some(format!(
                "probe latency {} ms is far above the other chunkservers' disks (median {:.1} ms)",
                latency / 1000,
                median as f64 / 1000.0
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(latency_ms: u64) -> DiskReport {
        disk_us(latency_ms * 1000)
    }

    fn disk_us(latency_us: u64) -> DiskReport {
        let mut d = DiskReport {
            disk_id: DiskId("d".into()),
            path: String::new(),
            state: DiskState::Healthy,
            capacity_bytes: 0,
            free_bytes: 0,
            used_bytes: 0,
            chunk_count: 0,
            health: Default::default(),
        };
        d.health.probe_latency_us = Some(latency_us);
        d
    }

    #[test]
    fn one_slow_probe_reported_in_many_heartbeats_is_not_a_streak() {
        let mut streaks = HashMap::new();
        let median = Some(1_000);
        // One 80 ms probe, repeated by five heartbeats, then fast probes.
        for us in [80_000, 80_000, 80_000, 80_000, 80_000, 900, 900, 1_100] {
            let mut disks = vec![disk_us(us)];
            judge(&mut streaks, 1, &mut disks, median);
            assert_eq!(disks[0].state, DiskState::Healthy, "at {us} us");
        }
        // Three distinct slow probes in a row are a streak.
        let states: Vec<DiskState> = [80_000, 80_000, 81_000, 81_000, 82_000]
            .into_iter()
            .map(|us| {
                let mut disks = vec![disk_us(us)];
                judge(&mut streaks, 1, &mut disks, median);
                disks[0].state
            })
            .collect();
        use DiskState::*;
        assert_eq!(states, vec![Healthy, Healthy, Healthy, Healthy, Suspect]);
    }

    #[test]
    fn a_slow_disk_is_flagged_after_a_streak_and_cleared_after_one() {
        let mut streaks = HashMap::new();
        let median = median(vec![2_000, 3_000, 2_500, 4_000]);
        assert_eq!(median, Some(3_000));
        let mut states = Vec::new();
        // Distinct latencies: distinct probes.
        for (i, ms) in [800, 800, 800, 800, 5, 800, 5, 5, 5]
            .into_iter()
            .enumerate()
        {
            let mut disks = vec![disk_us(ms * 1000 + i as u64)];
            judge(&mut streaks, 1, &mut disks, median);
            states.push(disks[0].state);
        }
        use DiskState::*;
        assert_eq!(
            states,
            vec![Healthy, Healthy, Suspect, Suspect, Suspect, Suspect, Suspect, Suspect, Healthy]
        );
    }

    #[test]
    fn no_judgement_without_enough_peers_or_below_the_floor() {
        let mut streaks = HashMap::new();
        assert_eq!(median(vec![1, 2]), None);
        for _ in 0..5 {
            let mut disks = vec![disk(800)];
            judge(&mut streaks, 1, &mut disks, None);
            assert_eq!(disks[0].state, DiskState::Healthy);
            // 40 ms is 40x a 1 ms median, but below the 50 ms floor.
            let mut disks = vec![disk(40)];
            judge(&mut streaks, 2, &mut disks, Some(1_000));
            assert_eq!(disks[0].state, DiskState::Healthy);
        }
    }
}
