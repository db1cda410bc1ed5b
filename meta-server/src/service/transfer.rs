//! Leadership transfer. openraft 0.9 has no transfer API, so the leader makes the target win
//! an election (see "Meta membership" in docs/architecture.md):
//!
//! 1. pause new writes and linearizable reads (they wait at the gate), stop sending
//!    heartbeats and stop campaigning itself, and wait for the requests in flight to finish;
//! 2. wait until the target's matched index is the leader's last log index, so the target's
//!    log is at least as up to date as every voter's and any of them may vote for it;
//! 3. ask the target to start an election (`StartElection`). A voter refuses to vote while
//!    its leader lease (`election_timeout_max` since it last heard from the leader) runs; the
//!    old leader's lease on itself counts from its own election, so it votes at once unless
//!    it was elected moments ago. With 3 voters the target's vote and the old leader's are a
//!    majority. With more voters the leader first lets the followers' leases run out (it
//!    sends nothing meanwhile), then triggers the election, and retries until a deadline.
//!
//! The paused requests then go on; on the old leader they answer `NotLeader` naming the new
//! one, which clients follow. Nothing acknowledged is lost: the target holds every entry.

use super::membership_view::GroupView;
use super::Serve;
use crate::error::{MetaError, MetaResult};
use crate::node::MetaNode;
use crate::types::{NodeId, Raft};
use openraft::ServerState;
use std::time::{Duration, Instant};
use trireme_api::membership::{
    StartElection, TransferLeader, TransferLeaderResponse, CAUGHT_UP_LAG,
};
use trireme_api::meta::Empty;
use trireme_api::{ApiError, ErrorCode};

/// Longest wait for the writes in flight when the pause starts, and for the target to hold
/// the whole log.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

fn refused(message: String) -> MetaError {
    MetaError::Api(ApiError::new(ErrorCode::PreconditionFailed, message))
}

/// Turns this node's heartbeats and elections off until dropped.
struct Quiet<'a> {
    raft: &'a Raft,
}

impl<'a> Quiet<'a> {
    fn new(raft: &'a Raft) -> Self {
        raft.runtime_config().heartbeat(false);
        raft.runtime_config().elect(false);
        Quiet { raft }
    }
}

impl Drop for Quiet<'_> {
    fn drop(&mut self) {
        self.raft.runtime_config().heartbeat(true);
        self.raft.runtime_config().elect(true);
    }
}

impl Serve<TransferLeader> for MetaNode {
    async fn serve(&self, req: TransferLeader) -> MetaResult<TransferLeaderResponse> {
        let _op = self.gate.ops.lock().await;
        let view = self.leader_view().await?;
        let to = req.to;
        if to == self.id {
            return Ok(TransferLeaderResponse {
                from: self.id,
                leader: Some(self.id),
                term: view.term,
                paused_ms: 0,
            });
        }
        let Some(addr) = view.addrs.get(&to).cloned() else {
            return Err(MetaError::Api(ApiError::new(
                ErrorCode::NotFound,
                format!("meta-{to} is not a member of the Raft group"),
            )));
        };
        if !view.voters.contains(&to) {
            return Err(refused(format!(
                "meta-{to} is a learner; promote it to voter before making it the leader"
            )));
        }
        if !view.reachable(to) {
            return Err(refused(format!(
                "{} is unreachable: {}",
                view.name(to),
                view.probe_error(to)
            )));
        }
        let lag = view.lag(to).unwrap_or(u64::MAX);
        if lag > CAUGHT_UP_LAG {
            return Err(refused(format!(
                "meta-{to} is {lag} log entries behind; wait until it has caught up"
            )));
        }
        let started = Instant::now();
        let outcome = self.hand_over(&view, to, &addr).await;
        let paused_ms = started.elapsed().as_millis() as u64;
        let m = self.raft.metrics().borrow().clone();
        tracing::info!(to, ?m.current_leader, paused_ms, "leadership transfer finished");
        match (outcome, m.current_leader) {
            (Ok(()), leader) => Ok(TransferLeaderResponse {
                from: self.id,
                leader,
                term: m.current_term,
                paused_ms,
            }),
            (Err(e), Some(l)) if l != self.id => {
                tracing::warn!("transfer to meta-{to}: {e}; meta-{l} leads now");
                Ok(TransferLeaderResponse {
                    from: self.id,
                    leader: Some(l),
                    term: m.current_term,
                    paused_ms,
                })
            }
            (Err(e), _) => Err(e),
        }
    }
}

impl MetaNode {
    async fn hand_over(&self, view: &GroupView, to: NodeId, addr: &str) -> MetaResult<()> {
        let _paused = self.gate.pause();
        let _quiet = Quiet::new(&self.raft);
        if !self.gate.drained(SETTLE_TIMEOUT).await {
            return Err(refused(
                "requests in flight did not finish; leadership stays here".into(),
            ));
        }
        let caught_up = self
            .raft
            .wait(Some(SETTLE_TIMEOUT))
            .metrics(
                |m| {
                    let matched = m
                        .replication
                        .as_ref()
                        .and_then(|r| r.get(&to).cloned().flatten())
                        .map(|l| l.index);
                    m.state != ServerState::Leader || matched >= m.last_log_index
                },
                "the transfer target to hold the whole log",
            )
            .await;
        if caught_up.is_err() {
            return Err(refused(format!(
                "meta-{to} did not receive the whole log within {SETTLE_TIMEOUT:?}; leadership stays here"
            )));
        }
        let settled = Instant::now();
        let cfg = self.raft.config();
        let lease = Duration::from_millis(cfg.election_timeout_max);
        let heartbeat = Duration::from_millis(cfg.heartbeat_interval);
        let deadline = settled + lease * 4;
        let transport = self.probe_transport();
        let elect = StartElection { from: self.id };
        // The followers' leases run out at `followers_free`; ours on ourselves (counted from
        // our election) at `self_free`.
        let followers_free = settled + lease + heartbeat;
        let since = *crate::node::lock(&self.leader_since);
        let self_free = since.map_or(settled, |t| t + lease + heartbeat / 2);
        if view.voters.len() <= 3 && self_free < followers_free {
            // The target's own vote and ours are a majority.
            tokio::time::sleep_until(self_free.into()).await;
            let _ = transport.call(addr, &elect).await;
            if self.leader_moved(heartbeat * 4).await {
                return Ok(());
            }
        }
        // Let the other voters' leader leases run out: we have sent nothing since `settled`.
        tokio::time::sleep_until(followers_free.into()).await;
        while Instant::now() < deadline {
            if let Err(e) = transport.call(addr, &elect).await {
                tracing::warn!("asking meta-{to} to start an election: {e}");
            }
            if self.leader_moved(lease).await {
                return Ok(());
            }
        }
        Err(refused(format!(
            "meta-{to} did not win an election within {:?}",
            deadline - settled
        )))
    }

    /// Waits up to `timeout` until another node is the leader.
    async fn leader_moved(&self, timeout: Duration) -> bool {
        let me = self.id;
        self.raft
            .wait(Some(timeout))
            .metrics(
                |m| m.current_leader.is_some_and(|l| l != me) && m.state != ServerState::Leader,
                "another leader",
            )
            .await
            .is_ok()
    }
}

impl Serve<StartElection> for MetaNode {
    async fn serve(&self, req: StartElection) -> MetaResult<Empty> {
        let m = self.raft.metrics().borrow().clone();
        if !m
            .membership_config
            .membership()
            .voter_ids()
            .any(|v| v == self.id)
        {
            return Err(refused(format!(
                "meta-{} is not a voter; it cannot take over from meta-{}",
                self.id, req.from
            )));
        }
        tracing::info!(
            from = req.from,
            "starting an election to take over leadership"
        );
        self.raft
            .trigger()
            .elect()
            .await
            .map_err(|e| MetaError::Raft(e.to_string()))?;
        Ok(Empty {})
    }
}
