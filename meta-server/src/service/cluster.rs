//! Cluster formation and status.

use super::Serve;
use crate::error::MetaResult;
use crate::node::MetaNode;
use openraft::BasicNode;
use std::collections::BTreeMap;
use trireme_api::meta::{ClusterStatus, ClusterStatusResponse, Empty, InitCluster, MemberInfo};
use trireme_api::ApiError;

impl Serve<InitCluster> for MetaNode {
    async fn serve(&self, req: InitCluster) -> MetaResult<Empty> {
        if req.members.is_empty() {
            return Err(ApiError::invalid("no members").into());
        }
        let members: BTreeMap<u64, BasicNode> = req
            .members
            .into_iter()
            .map(|(id, addr)| (id, BasicNode { addr }))
            .collect();
        self.raft.initialize(members).await?;
        Ok(Empty {})
    }
}

impl Serve<ClusterStatus> for MetaNode {
    async fn serve(&self, _req: ClusterStatus) -> MetaResult<ClusterStatusResponse> {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: Vec<u64> = membership.voter_ids().collect();
        let members = membership
            .nodes()
            .map(|(id, node)| MemberInfo {
                id: *id,
                addr: node.addr.clone(),
                voter: voters.contains(id),
                matched_index: m
                    .replication
                    .as_ref()
                    .and_then(|r| r.get(id).cloned().flatten())
                    .map(|l| l.index)
                    .or(if *id == self.id {
                        m.last_log_index
                    } else {
                        None
                    }),
            })
            .collect();
        Ok(ClusterStatusResponse {
            cluster_id: self.config.cluster.cluster_id.clone(),
            node_id: self.id,
            leader: m.current_leader,
            term: m.current_term,
            last_log_index: m.last_log_index,
            last_applied: m.last_applied.map(|l| l.index),
            members,
        })
    }
}
