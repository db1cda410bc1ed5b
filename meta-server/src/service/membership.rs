//! Meta membership: list the group, add a learner, promote it to voter, remove a member.
//! Writes are leader-only, one at a time (`gate.ops`), and refused rather than attempted
//! when they would lose quorum. Leadership transfer is in `transfer.rs`.

use super::membership_view::{changed, ids, voter_warnings, GroupView, PROBE_TIMEOUT};
use super::Serve;
use crate::error::{MetaError, MetaResult};
use crate::node::MetaNode;
use crate::types::NodeId;
use openraft::{BasicNode, ChangeMembers};
use std::collections::BTreeSet;
use trireme_api::membership::{
    AddLearner, MembershipChanged, MetaMembers, MetaMembersResponse, PromoteVoter, RemoveMember,
    CAUGHT_UP_LAG,
};
use trireme_api::meta::ClusterStatus;
use trireme_api::{ApiError, ErrorCode};
use trireme_client::Transport;

/// How long after its election a leader waits for its followers' progress before a change.
const FRESH_LEADER: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest such wait.
const PROGRESS_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn refused(message: String) -> MetaError {
    MetaError::Api(ApiError::new(ErrorCode::PreconditionFailed, message))
}

fn not_member(id: NodeId) -> MetaError {
    MetaError::Api(ApiError::new(
        ErrorCode::NotFound,
        format!("meta-{id} is not a member of the Raft group"),
    ))
}

impl MetaNode {
    /// A transport for probes and the election hand-over.
    pub(crate) fn probe_transport(&self) -> Transport {
        Transport::new(self.config.cluster.clone(), PROBE_TIMEOUT)
    }

    /// A leader elected moments ago knows no member's matched index until each answers its
    /// first append; judged then, every follower would look lagging and a change right after
    /// a leadership transfer (`meta remove` of the old leader) would be refused. So a new
    /// leader waits, briefly, for every member to report progress (an unreachable one never
    /// will: the wait is bounded).
    async fn await_replication_progress(&self) {
        let fresh =
            crate::node::lock(&self.leader_since).is_some_and(|t| t.elapsed() < FRESH_LEADER);
        if !fresh {
            return;
        }
        let _ = self
            .raft
            .wait(Some(PROGRESS_WAIT))
            .metrics(
                |m| {
                    m.replication
                        .as_ref()
                        .is_some_and(|r| r.values().all(|l| l.is_some()))
                },
                "every member's replication progress",
            )
            .await;
    }

    /// The group seen from the leader, with every other member probed.
    pub(crate) async fn leader_view(&self) -> MetaResult<GroupView> {
        self.require_leader()?;
        self.await_replication_progress().await;
        let mut view = GroupView::of(self);
        view.probe(&self.probe_transport()).await;
        Ok(view)
    }
}

impl Serve<MetaMembers> for MetaNode {
    async fn serve(&self, _req: MetaMembers) -> MetaResult<MetaMembersResponse> {
        let mut view = GroupView::of(self);
        if view.is_leader {
            view.probe(&self.probe_transport()).await;
        }
        Ok(view.response())
    }
}

impl Serve<AddLearner> for MetaNode {
    async fn serve(&self, req: AddLearner) -> MetaResult<MembershipChanged> {
        let _op = self.gate.ops.lock().await;
        let view = self.leader_view().await?;
        let id = req.id;
        if let Some(addr) = view.addrs.get(&id) {
            if *addr != req.addr {
                return Err(refused(format!(
                    "meta-{id} is already a member at {addr}; remove it first to change its address"
                )));
            }
            let role = if view.voters.contains(&id) {
                "a voter"
            } else {
                "a learner"
            };
            let warning = format!("meta-{id} ({addr}) is already {role}; nothing changed");
            return Ok(changed(self, None, vec![warning]));
        }
        if let Some((other, _)) = view.addrs.iter().find(|(_, a)| **a == req.addr) {
            return Err(refused(format!(
                "{} is already the address of meta-{other}",
                req.addr
            )));
        }
        let status = tokio::time::timeout(
            PROBE_TIMEOUT,
            self.probe_transport().call(&req.addr, &ClusterStatus {}),
        )
        .await
        .map_err(|_| format!("no answer within {PROBE_TIMEOUT:?}"))
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|e| refused(format!("meta-{id} at {} is unreachable: {e}", req.addr)))?;
        if status.node_id != id {
            return Err(MetaError::Api(ApiError::invalid(format!(
                "{} answers as meta-{}, not meta-{id}",
                req.addr, status.node_id
            ))));
        }
        if !status.members.is_empty() || status.term > 0 {
            return Err(refused(format!(
                "meta-{id} at {} already holds Raft state (term {}, {} members); start it on an \
                 empty data directory",
                req.addr,
                status.term,
                status.members.len()
            )));
        }
        let resp = self
            .raft
            .add_learner(id, BasicNode { addr: req.addr }, false)
            .await?;
        tracing::info!(node = id, "added a learner");
        Ok(changed(self, Some(resp.log_id.index), vec![]))
    }
}

impl Serve<PromoteVoter> for MetaNode {
    async fn serve(&self, req: PromoteVoter) -> MetaResult<MembershipChanged> {
        let _op = self.gate.ops.lock().await;
        let view = self.leader_view().await?;
        let id = req.id;
        if view.voters.contains(&id) {
            let warning = format!("meta-{id} is already a voter; nothing changed");
            return Ok(changed(self, None, vec![warning]));
        }
        if !view.learners.contains(&id) {
            return Err(not_member(id));
        }
        if !view.reachable(id) {
            return Err(refused(format!(
                "{} is unreachable: {}",
                view.name(id),
                view.probe_error(id)
            )));
        }
        let lag = view.lag(id).unwrap_or(u64::MAX);
        if lag > CAUGHT_UP_LAG {
            return Err(refused(format!(
                "meta-{id} is {lag} log entries behind the leader (at most {CAUGHT_UP_LAG} to \
                 promote); wait until it has caught up (trireme meta members)"
            )));
        }
        let mut new_voters = view.voters.clone();
        new_voters.insert(id);
        view.check_quorum(&view.voters, "the current voters")?;
        view.check_quorum(&new_voters, "the new voters")?;
        let resp = self
            .raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), true)
            .await?;
        tracing::info!(node = id, voters = %ids(&new_voters), "promoted a learner");
        Ok(changed(
            self,
            Some(resp.log_id.index),
            voter_warnings(new_voters.len()),
        ))
    }
}

impl Serve<RemoveMember> for MetaNode {
    async fn serve(&self, req: RemoveMember) -> MetaResult<MembershipChanged> {
        let _op = self.gate.ops.lock().await;
        let view = self.leader_view().await?;
        let id = req.id;
        if !view.addrs.contains_key(&id) {
            return Err(not_member(id));
        }
        if id == self.id && !req.dry_run {
            return Err(refused(format!(
                "meta-{id} is the leader; move leadership first (trireme meta transfer-leader), \
                 or use trireme meta remove, which does"
            )));
        }
        let (change, left) = if view.voters.contains(&id) {
            let mut left = view.voters.clone();
            left.remove(&id);
            if left.is_empty() {
                return Err(refused(format!(
                    "meta-{id} is the last voter; it cannot be removed"
                )));
            }
            view.check_quorum(&view.voters, "the current voters")?;
            view.check_quorum(&left, "the voters left")?;
            (ChangeMembers::RemoveVoters(BTreeSet::from([id])), left)
        } else {
            (
                ChangeMembers::RemoveNodes(BTreeSet::from([id])),
                view.voters.clone(),
            )
        };
        if req.dry_run {
            let mut learners = view.learners.clone();
            learners.remove(&id);
            return Ok(MembershipChanged {
                voters: left.iter().copied().collect(),
                learners: learners.into_iter().collect(),
                log_index: None,
                warnings: voter_warnings(left.len()),
            });
        }
        let resp = self.raft.change_membership(change, false).await?;
        tracing::info!(node = id, voters = %ids(&left), "removed a member");
        Ok(changed(
            self,
            Some(resp.log_id.index),
            voter_warnings(left.len()),
        ))
    }
}
