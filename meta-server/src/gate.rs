//! [`WriteGate`]: lets the leader hold new Raft writes and linearizable reads for a moment
//! (a leadership transfer) and know when the ones already started have finished.
//!
//! Every write and linearizable read enters the gate ([`WriteGate::enter`]) and holds an
//! [`InFlight`] guard until it is done. While paused, `enter` waits (up to
//! [`MAX_PAUSE_WAIT`]) instead of failing: when the pause ends the request goes on, and if
//! this node is no longer the leader it gets `NotLeader` naming the new one, which clients
//! follow. Membership operations are serialised by [`WriteGate::ops`].

use crate::error::{MetaError, MetaResult};
use std::time::Duration;
use tokio::sync::watch;
use trireme_api::ApiError;

/// The longest a request waits for a pause to end before answering `Unavailable` (retry).
pub const MAX_PAUSE_WAIT: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct State {
    paused: bool,
    in_flight: usize,
}

pub struct WriteGate {
    state: watch::Sender<State>,
    /// Held by one membership operation (add, promote, remove, transfer) at a time.
    pub ops: tokio::sync::Mutex<()>,
}

impl Default for WriteGate {
    fn default() -> Self {
        WriteGate {
            state: watch::Sender::new(State::default()),
            ops: tokio::sync::Mutex::new(()),
        }
    }
}

/// One write or linearizable read in progress.
pub struct InFlight<'a> {
    gate: &'a WriteGate,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.gate
            .state
            .send_modify(|s| s.in_flight = s.in_flight.saturating_sub(1));
    }
}

/// Writes are paused until this is dropped.
pub struct Paused<'a> {
    gate: &'a WriteGate,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        self.gate.state.send_modify(|s| s.paused = false);
    }
}

impl WriteGate {
    /// Waits while the gate is paused, then counts one request in flight.
    pub async fn enter(&self) -> MetaResult<InFlight<'_>> {
        loop {
            let mut entered = false;
            self.state.send_if_modified(|s| {
                if s.paused {
                    return false;
                }
                s.in_flight += 1;
                entered = true;
                true
            });
            if entered {
                return Ok(InFlight { gate: self });
            }
            let mut rx = self.state.subscribe();
            let resumed = tokio::time::timeout(MAX_PAUSE_WAIT, rx.wait_for(|s| !s.paused))
                .await
                .is_ok_and(|r| r.is_ok());
            if !resumed {
                return Err(MetaError::Api(ApiError::unavailable(
                    "a leadership transfer is holding writes; retry",
                )));
            }
        }
    }

    /// Holds new requests until the returned guard is dropped.
    pub fn pause(&self) -> Paused<'_> {
        self.state.send_modify(|s| s.paused = true);
        Paused { gate: self }
    }

    /// Waits until no request that entered before the pause is still in flight; false if
    /// some are still running after `timeout`.
    pub async fn drained(&self, timeout: Duration) -> bool {
        let mut rx = self.state.subscribe();
        let done = tokio::time::timeout(timeout, rx.wait_for(|s| s.in_flight == 0))
            .await
            .is_ok_and(|r| r.is_ok());
        done
    }

    pub fn is_paused(&self) -> bool {
        self.state.borrow().paused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn pause_holds_new_requests_and_waits_for_running_ones() {
        let gate = Arc::new(WriteGate::default());
        let running = gate.enter().await.expect("open gate");
        let paused = gate.pause();
        assert!(gate.is_paused());
        assert!(
            !gate.drained(Duration::from_millis(20)).await,
            "one in flight"
        );
        drop(running);
        assert!(gate.drained(Duration::from_secs(1)).await);

        let g = gate.clone();
        let waiter = tokio::spawn(async move {
            let _in = g.enter().await.expect("enters after the pause");
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "held while paused");
        drop(paused);
        waiter.await.expect("joined");
        assert!(gate.drained(Duration::from_secs(1)).await);
    }
}
