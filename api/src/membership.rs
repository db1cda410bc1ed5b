//! Meta membership RPCs, behind `trireme meta members|add|remove|transfer-leader`.
//!
//! Changes are served by the Raft leader only and are refused (never half-done) when they
//! would leave the group without a reachable majority, when the node is unknown or does not
//! answer, or when a learner has not caught up yet. A change of voters goes through Raft's
//! joint consensus (openraft `change_membership`): both the old and the new voter sets must
//! keep a reachable majority while it commits. Refusals are `PreconditionFailed` (the group
//! is not in a state that allows it), `NotFound` (no such member) or `InvalidArgument`.

use crate::ids::NodeId;
use crate::meta::Empty;
use crate::rpc;
use serde::{Deserialize, Serialize};

/// A learner whose matched log index is at most this far behind the leader's last log index
/// counts as caught up: it may be promoted, and a voter within it counts towards a quorum.
pub const CAUGHT_UP_LAG: u64 = 100;

/// The Raft group as the answering node sees it. Any node answers; only the leader knows
/// each member's matched index and probes the others, so a follower leaves those fields
/// empty (ask the node named in `leader` for them).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MetaMembers {}
rpc!(MetaMembers => MetaMembersResponse, "/v1/meta/members", any);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaMembersResponse {
    /// The node that answered.
    pub node_id: NodeId,
    pub leader: Option<NodeId>,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub voters: Vec<NodeId>,
    pub learners: Vec<NodeId>,
    /// A voter change is half-way (joint consensus: old and new voter sets both decide).
    pub joint: bool,
    /// Every member, voters first, by id.
    pub members: Vec<MemberDetail>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Voter,
    Learner,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDetail {
    pub id: NodeId,
    pub addr: String,
    pub role: MemberRole,
    /// Leader only: the last log index known replicated to this member.
    pub matched_index: Option<u64>,
    /// Leader only: entries this member is behind the leader's last log index.
    pub lag: Option<u64>,
    /// Leader only: whether it answered a status probe just now (the leader itself: true).
    pub reachable: Option<bool>,
    /// Its own term and last applied index, as it answered the probe.
    pub term: Option<u64>,
    pub last_applied: Option<u64>,
    /// Why the probe failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Adds a node as a learner: it receives the log (or a snapshot) but does not vote. The node
/// must answer at `addr` as `id` with this cluster's credentials, and hold no Raft state of
/// its own (a fresh data directory). Adding a node that is already a member at the same
/// address changes nothing (a warning says so).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AddLearner {
    pub id: NodeId,
    pub addr: String,
}
rpc!(AddLearner => MembershipChanged, "/v1/meta/members/add_learner", leader);

/// Promotes a caught-up learner to voter (joint consensus).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PromoteVoter {
    pub id: NodeId,
}
rpc!(PromoteVoter => MembershipChanged, "/v1/meta/members/promote", leader);

/// Removes a voter or a learner from the group. Refused for the leader itself (transfer
/// leadership first), for the last voter, and when the voters left would not have a
/// reachable majority.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RemoveMember {
    pub id: NodeId,
    /// Only check: answer the membership it would leave (or the refusal), change nothing.
    /// The leader itself passes this check (it would hand over first).
    #[serde(default)]
    pub dry_run: bool,
}
rpc!(RemoveMember => MembershipChanged, "/v1/meta/members/remove", leader);

/// The membership after a change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipChanged {
    pub voters: Vec<NodeId>,
    pub learners: Vec<NodeId>,
    /// The log index of the (last) membership entry; None if nothing changed.
    pub log_index: Option<u64>,
    /// Things the operator should know, in plain words (e.g. an even number of voters).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Moves leadership to another voter that has caught up: the leader pauses new writes and
/// linearizable reads (they wait, then follow the new leader), stops its heartbeats, waits
/// until the target holds its whole log, and asks the target to start an election.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TransferLeader {
    pub to: NodeId,
}
rpc!(TransferLeader => TransferLeaderResponse, "/v1/meta/members/transfer_leader", leader);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferLeaderResponse {
    pub from: NodeId,
    /// The leader now (the target unless another voter won the election).
    pub leader: Option<NodeId>,
    pub term: u64,
    /// How long writes were paused on the old leader (ms).
    pub paused_ms: u64,
}

/// Internal, sent by the leader to the target of a transfer: start an election now.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StartElection {
    /// The leader handing over.
    pub from: NodeId,
}
rpc!(StartElection => Empty, "/v1/meta/members/start_election", any);
