//! Condition polls with deadlines: every wait in `trireme up` checks a condition, sleeps a
//! short, growing interval and gives up at a deadline with the last reason it was not met.

use anyhow::{anyhow, Result};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use trireme_api::ids::{ChunkserverId, NodeId};
use trireme_api::meta::{ClusterStatus, ListChunkservers};
use trireme_client::{MetaClient, Transport};

/// How long each start-up phase may take.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

const FIRST_INTERVAL: Duration = Duration::from_millis(20);
const MAX_INTERVAL: Duration = Duration::from_millis(250);

/// A poll of one condition until a deadline.
#[derive(Debug)]
pub struct Poll {
    what: String,
    started: Instant,
    deadline: Instant,
    interval: Duration,
}

impl Poll {
    /// Polls for `what` (e.g. "a Raft leader") for at most `timeout`.
    pub fn new(what: impl Into<String>, timeout: Duration) -> Self {
        let started = Instant::now();
        Poll {
            what: what.into(),
            started,
            deadline: started + timeout,
            interval: FIRST_INTERVAL,
        }
    }

    /// Called when the condition is not met yet, with why: fails once the deadline has
    /// passed, otherwise sleeps until the next check.
    pub async fn again(&mut self, not_yet: &str) -> Result<()> {
        let now = Instant::now();
        if now >= self.deadline {
            return Err(anyhow!(
                "timed out after {:.1}s waiting for {} (last state: {not_yet})",
                (now - self.started).as_secs_f64(),
                self.what
            ));
        }
        tokio::time::sleep(self.interval.min(self.deadline - now)).await;
        self.interval = (self.interval * 2).min(MAX_INTERVAL);
        Ok(())
    }
}

/// Waits until a meta-server reports a Raft leader; returns its id.
pub async fn leader(transport: &Transport, metas: &[String], timeout: Duration) -> Result<NodeId> {
    let mut poll = Poll::new("the meta-servers to elect a leader", timeout);
    loop {
        let mut last = String::from("no answer yet");
        for addr in metas {
            match transport.call(addr, &ClusterStatus {}).await {
                Ok(s) => match s.leader {
                    Some(id) => return Ok(id),
                    None => last = format!("{addr}: no leader at term {}", s.term),
                },
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        poll.again(&last).await?;
    }
}

/// Waits until the leader lists every chunkserver in `ids` as alive.
pub async fn chunkservers_alive(
    client: &MetaClient,
    ids: &[ChunkserverId],
    timeout: Duration,
) -> Result<()> {
    let mut poll = Poll::new(format!("{} chunkservers to heartbeat", ids.len()), timeout);
    let want: BTreeSet<ChunkserverId> = ids.iter().copied().collect();
    loop {
        let last = match client.call(&ListChunkservers {}).await {
            Ok(resp) => {
                let alive: BTreeSet<ChunkserverId> = resp
                    .chunkservers
                    .iter()
                    .filter(|c| c.alive)
                    .map(|c| c.id)
                    .collect();
                let missing: Vec<String> =
                    want.difference(&alive).map(|id| id.to_string()).collect();
                if missing.is_empty() {
                    return Ok(());
                }
                format!(
                    "{}/{} alive, waiting for {}",
                    want.len() - missing.len(),
                    want.len(),
                    missing.join(", ")
                )
            }
            Err(e) => format!("listing chunkservers: {e}"),
        };
        poll.again(&last).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn poll_until_condition() {
        let mut poll = Poll::new("three checks", Duration::from_secs(10));
        let mut n = 0;
        while n < 3 {
            n += 1;
            poll.again("not yet").await.expect("within the deadline");
        }
        assert_eq!(n, 3);
    }

    #[tokio::test]
    async fn poll_times_out_with_the_last_reason() {
        let mut poll = Poll::new("Godot", Duration::from_millis(50));
        let err = loop {
            if let Err(e) = poll.again("still not here").await {
                break e;
            }
        };
        let msg = err.to_string();
        assert!(msg.contains("waiting for Godot"), "{msg}");
        assert!(msg.contains("still not here"), "{msg}");
    }
}
