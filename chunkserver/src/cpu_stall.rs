//! Timing disk I/O without counting CPU starvation. On a loaded machine a thread doing I/O
//! also waits for a CPU: runnable, on the run queue, not running. That wait says the machine
//! is busy, not that the disk is slow, so the health probe subtracts it: [`IoTimer`] reads the
//! calling thread's run-queue wait (`/proc/thread-self/schedstat`, second field, ns) before
//! and after, and [`disk_time`] is the wall time minus that wait. Where schedstat is missing
//! the wait counts as zero (wall time, the old behaviour). Time blocked in the kernel on the
//! disk (fsync, reads) is not run-queue wait, so a slow disk still shows.

use std::fs;
use std::time::{Duration, Instant};

/// Where the calling thread's scheduler statistics live (Linux).
const SCHEDSTAT: &str = "/proc/thread-self/schedstat";

/// The calling thread's total run-queue wait so far, if the kernel reports it.
pub fn run_queue_wait() -> Option<Duration> {
    let text = fs::read_to_string(SCHEDSTAT).ok()?;
    let ns: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// What one timed section took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timed {
    /// Wall-clock time.
    pub wall: Duration,
    /// Of which the thread waited for a CPU (zero when unknown).
    pub stalled: Duration,
}

impl Timed {
    /// The time attributable to the disk.
    pub fn disk(&self) -> Duration {
        disk_time(self.wall, self.stalled)
    }
}

/// Wall time minus the run-queue wait inside it (never negative).
pub fn disk_time(wall: Duration, stalled: Duration) -> Duration {
    wall.saturating_sub(stalled)
}

/// Times a section of blocking work on one thread; start and stop on the same thread.
#[derive(Debug)]
pub struct IoTimer {
    start: Instant,
    wait: Option<Duration>,
}

impl IoTimer {
    pub fn start() -> IoTimer {
        // Read the wait first: the read itself is not part of the section.
        let wait = run_queue_wait();
        IoTimer {
            start: Instant::now(),
            wait,
        }
    }

    pub fn stop(&self) -> Timed {
        let wall = self.start.elapsed();
        let stalled = match (self.wait, run_queue_wait()) {
            (Some(before), Some(after)) => after.saturating_sub(before).min(wall),
            _ => Duration::ZERO,
        };
        Timed { wall, stalled }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_starvation_is_not_disk_time() {
        let ms = Duration::from_millis;
        assert_eq!(
            disk_time(ms(3000), ms(2900)),
            ms(100),
            "a starved fast disk"
        );
        assert_eq!(disk_time(ms(3000), ms(0)), ms(3000), "a slow disk");
        assert_eq!(disk_time(ms(10), ms(20)), ms(0), "never negative");
    }

    #[test]
    fn a_timer_measures_wall_time_and_bounds_the_stall() {
        let t = IoTimer::start();
        std::thread::sleep(Duration::from_millis(20));
        let timed = t.stop();
        assert!(timed.wall >= Duration::from_millis(20), "{timed:?}");
        assert!(timed.stalled <= timed.wall);
        // Sleeping is not waiting for a CPU: most of it stays.
        assert!(timed.disk() >= Duration::from_millis(10), "{timed:?}");
    }
}
