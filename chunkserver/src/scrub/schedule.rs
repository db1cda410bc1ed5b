//! When a scrub pass is due (a pure function of the pass history, the leader's epoch, the
//! interval and the time), and how it runs (paced or at full allowed speed).

use crate::scrub_state::SavedScrub;
use std::time::Duration;

/// A pass to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pass {
    pub epoch: u64,
    /// Spread over half the interval (periodic passes), or at full allowed speed.
    pub paced: bool,
}

/// Whether a pass is due: `Ok(pass)` now, or `Err(Some(d))` in `d`, or `Err(None)` only when
/// the control changes. `history` is the last pass record, `epoch` the leader's.
pub fn due(
    history: Option<&SavedScrub>,
    epoch: u64,
    interval_s: u64,
    now_ms: u64,
) -> Result<Pass, Option<Duration>> {
    let history = history.filter(|h| h.pass_started_ms.is_some());
    if epoch > history.map_or(0, |h| h.epoch) {
        return Ok(Pass {
            epoch,
            paced: false,
        });
    }
    let paced = |epoch| Ok(Pass { epoch, paced: true });
    let Some(h) = history else {
        return if interval_s > 0 {
            paced(epoch)
        } else {
            Err(None)
        };
    };
    if h.unfinished() {
        return paced(h.epoch);
    }
    if interval_s == 0 {
        return Err(None);
    }
    let next = h
        .pass_started_ms
        .unwrap_or(0)
        .saturating_add(interval_s.saturating_mul(1000));
    if now_ms >= next {
        paced(epoch)
    } else {
        Err(Some(Duration::from_millis(next - now_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(epoch: u64, started: u64) -> SavedScrub {
        SavedScrub {
            v: 1,
            epoch,
            pass_started_ms: Some(started),
            pass_completed_ms: Some(started + 10),
            last_pass_epoch: Some(epoch),
            disk_scrubbed_ms: None,
        }
    }

    #[test]
    fn passes_come_by_interval_epoch_and_unfinished_work() {
        let paced = |epoch| Ok(Pass { epoch, paced: true });
        // First start: a paced pass at once, unless periodic passes are off.
        assert_eq!(due(None, 0, 60, 1_000), paced(0));
        assert_eq!(due(None, 0, 0, 1_000), Err(None));
        // The interval counts from the last start.
        let h = done(2, 1_000);
        assert_eq!(
            due(Some(&h), 2, 60, 31_000),
            Err(Some(Duration::from_secs(30)))
        );
        assert_eq!(due(Some(&h), 2, 60, 61_000), paced(2));
        assert_eq!(due(Some(&h), 2, 0, 1_000_000), Err(None));
        // A new epoch starts a full-speed pass now; an old one does nothing.
        let start = Ok(Pass {
            epoch: 3,
            paced: false,
        });
        assert_eq!(due(Some(&h), 3, 60, 2_000), start);
        assert_eq!(
            due(Some(&h), 1, 60, 2_000),
            Err(Some(Duration::from_secs(59)))
        );
        assert_eq!(due(None, 3, 0, 5), start);
        // An unfinished pass is resumed at once.
        let unfinished = SavedScrub {
            pass_completed_ms: Some(500),
            ..h
        };
        assert_eq!(due(Some(&unfinished), 2, 60, 2_000), paced(2));
    }
}
