//! [`GroupView`]: the Raft group as this node sees it (from openraft's metrics), plus what
//! the other members answer to a status probe. Membership changes check their quorum rules
//! against it; `MetaMembers` renders it.

use crate::node::MetaNode;
use crate::types::NodeId;
use openraft::ServerState;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use trireme_api::membership::{
    MemberDetail, MemberRole, MembershipChanged, MetaMembersResponse, CAUGHT_UP_LAG,
};
use trireme_api::meta::{ClusterStatus, ClusterStatusResponse};
use trireme_api::{ApiError, ErrorCode};
use trireme_client::Transport;

/// How long a member may take to answer a status probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// A voter further behind than this does not count towards a quorum (it could not
/// acknowledge new entries promptly).
pub const QUORUM_LAG: u64 = 10 * CAUGHT_UP_LAG;

pub struct GroupView {
    pub me: NodeId,
    pub is_leader: bool,
    pub leader: Option<NodeId>,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub last_applied: Option<u64>,
    pub voters: BTreeSet<NodeId>,
    pub learners: BTreeSet<NodeId>,
    pub joint: bool,
    pub addrs: BTreeMap<NodeId, String>,
    /// Leader only: the matched log index of each member.
    pub matched: BTreeMap<NodeId, Option<u64>>,
    /// Answers to [`GroupView::probe`] (other members only).
    pub probes: BTreeMap<NodeId, Result<ClusterStatusResponse, String>>,
}

impl GroupView {
    pub fn of(node: &MetaNode) -> Self {
        let m = node.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let is_leader = m.state == ServerState::Leader;
        let matched = match (&m.replication, is_leader) {
            (Some(r), true) => r
                .iter()
                .map(|(id, l)| (*id, l.as_ref().map(|l| l.index)))
                .collect(),
            _ => BTreeMap::new(),
        };
        GroupView {
            me: node.id,
            is_leader,
            leader: m.current_leader,
            term: m.current_term,
            last_log_index: m.last_log_index,
            last_applied: m.last_applied.map(|l| l.index),
            voters: membership.voter_ids().collect(),
            learners: membership.learner_ids().collect(),
            joint: membership.get_joint_config().len() > 1,
            addrs: membership
                .nodes()
                .map(|(id, n)| (*id, n.addr.clone()))
                .collect(),
            matched,
            probes: BTreeMap::new(),
        }
    }

    /// Asks every other member for its status, concurrently.
    pub async fn probe(&mut self, transport: &Transport) {
        let mut set = tokio::task::JoinSet::new();
        for (id, addr) in self.addrs.iter().filter(|(id, _)| **id != self.me) {
            let (t, id, addr) = (transport.clone(), *id, addr.clone());
            set.spawn(async move {
                let r = tokio::time::timeout(PROBE_TIMEOUT, t.call(&addr, &ClusterStatus {}))
                    .await
                    .map_err(|_| format!("no answer within {PROBE_TIMEOUT:?}"))
                    .and_then(|r| r.map_err(|e| e.to_string()));
                (id, r)
            });
        }
        while let Some(joined) = set.join_next().await {
            if let Ok((id, r)) = joined {
                self.probes.insert(id, r);
            }
        }
    }

    pub fn matched_index(&self, id: NodeId) -> Option<u64> {
        if id == self.me && self.is_leader {
            return self.last_log_index;
        }
        self.matched.get(&id).copied().flatten()
    }

    /// Entries `id` is behind the leader's last log index (leader only).
    pub fn lag(&self, id: NodeId) -> Option<u64> {
        if !self.is_leader {
            return None;
        }
        let last = self.last_log_index.unwrap_or(0);
        Some(last.saturating_sub(self.matched_index(id).unwrap_or(0)))
    }

    pub fn reachable(&self, id: NodeId) -> bool {
        id == self.me || matches!(self.probes.get(&id), Some(Ok(_)))
    }

    /// Why a probe of `id` failed (or "not probed").
    pub fn probe_error(&self, id: NodeId) -> String {
        match self.probes.get(&id) {
            Some(Err(e)) => e.clone(),
            Some(Ok(_)) => "answered".into(),
            None => "not probed".into(),
        }
    }

    /// Up and close enough to the leader's log to acknowledge new entries.
    pub fn healthy(&self, id: NodeId) -> bool {
        self.reachable(id) && self.lag(id).is_some_and(|l| l <= QUORUM_LAG)
    }

    pub fn name(&self, id: NodeId) -> String {
        match self.addrs.get(&id) {
            Some(a) => format!("meta-{id} ({a})"),
            None => format!("meta-{id}"),
        }
    }

    /// Refuses unless a majority of `voters` is healthy. `what` names the voter set.
    pub fn check_quorum(&self, voters: &BTreeSet<NodeId>, what: &str) -> Result<(), ApiError> {
        let healthy: Vec<NodeId> = voters
            .iter()
            .copied()
            .filter(|v| self.healthy(*v))
            .collect();
        let need = voters.len() / 2 + 1;
        if healthy.len() >= need {
            return Ok(());
        }
        let down: Vec<String> = voters
            .iter()
            .filter(|v| !healthy.contains(v))
            .map(|v| format!("meta-{v}"))
            .collect();
        Err(ApiError::new(
            ErrorCode::PreconditionFailed,
            format!(
                "refused: it would lose quorum: {what} {} need {need} reachable, caught-up voters \
                 but only {} are ({} down or lagging)",
                ids(voters),
                healthy.len(),
                down.join(", ")
            ),
        ))
    }

    pub fn response(&self) -> MetaMembersResponse {
        let mut members: Vec<MemberDetail> = self
            .addrs
            .iter()
            .map(|(id, addr)| {
                let probe = self.probes.get(id);
                let own = *id == self.me;
                MemberDetail {
                    id: *id,
                    addr: addr.clone(),
                    role: if self.voters.contains(id) {
                        MemberRole::Voter
                    } else {
                        MemberRole::Learner
                    },
                    matched_index: self.is_leader.then(|| self.matched_index(*id)).flatten(),
                    lag: self.lag(*id),
                    reachable: (self.is_leader || own).then(|| self.reachable(*id)),
                    term: match probe {
                        Some(Ok(s)) => Some(s.term),
                        _ => own.then_some(self.term),
                    },
                    last_applied: match probe {
                        Some(Ok(s)) => s.last_applied,
                        _ => own.then_some(self.last_applied).flatten(),
                    },
                    error: match probe {
                        Some(Err(e)) => Some(e.clone()),
                        _ => None,
                    },
                }
            })
            .collect();
        members.sort_by_key(|m| (m.role != MemberRole::Voter, m.id));
        MetaMembersResponse {
            node_id: self.me,
            leader: self.leader,
            term: self.term,
            last_log_index: self.last_log_index,
            voters: self.voters.iter().copied().collect(),
            learners: self.learners.iter().copied().collect(),
            joint: self.joint,
            members,
        }
    }
}

/// `{1, 2, 3}`.
pub fn ids(set: &BTreeSet<NodeId>) -> String {
    let v: Vec<String> = set.iter().map(|i| i.to_string()).collect();
    format!("{{{}}}", v.join(", "))
}

/// What an operator should know about a group of `n` voters.
pub fn voter_warnings(n: usize) -> Vec<String> {
    match n {
        0 => vec![],
        1 => vec!["1 voter: the group tolerates no failure; 3 or 5 voters are recommended".into()],
        n if n.is_multiple_of(2) => vec![format!(
            "{n} voters tolerate {} failure{}, no more than {} would: prefer an odd number of voters",
            (n - 1) / 2,
            if (n - 1) / 2 == 1 { "" } else { "s" },
            n - 1
        )],
        _ => vec![],
    }
}

/// The membership after a change, as the node sees it now.
pub fn changed(
    node: &MetaNode,
    log_index: Option<u64>,
    warnings: Vec<String>,
) -> MembershipChanged {
    let v = GroupView::of(node);
    MembershipChanged {
        voters: v.voters.into_iter().collect(),
        learners: v.learners.into_iter().collect(),
        log_index,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_for_even_and_single_voter_groups() {
        assert!(voter_warnings(3).is_empty());
        assert!(voter_warnings(5).is_empty());
        assert!(voter_warnings(1)[0].contains("tolerates no failure"));
        assert_eq!(
            voter_warnings(4),
            vec![
                "4 voters tolerate 1 failure, no more than 3 would: prefer an odd number of voters"
            ]
        );
        assert!(voter_warnings(2)[0].starts_with("2 voters tolerate 0 failures"));
    }
}
