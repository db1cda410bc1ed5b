//! Errors of the meta-server and their mapping to the wire's [`ApiError`].

use crate::store::StoreError;
use crate::types::NodeId;
use openraft::error::{
    CheckIsLeaderError, ClientWriteError, ForwardToLeader, InitializeError, RaftError,
};
use openraft::BasicNode;
use trireme_api::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("raft: {0}")]
    Raft(String),
    #[error("not the leader")]
    NotLeader { leader_addr: Option<String> },
}

impl MetaError {
    pub fn into_api(self) -> ApiError {
        match self {
            MetaError::Api(e) => e,
            MetaError::Store(e) => ApiError::internal(e.to_string()),
            MetaError::Raft(e) => ApiError::unavailable(e),
            MetaError::NotLeader { leader_addr } => ApiError::not_leader(leader_addr),
        }
    }
}

fn forward(f: &ForwardToLeader<NodeId, BasicNode>) -> MetaError {
    MetaError::NotLeader {
        leader_addr: f.leader_node.as_ref().map(|n| n.addr.clone()),
    }
}

impl From<RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>> for MetaError {
    fn from(e: RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>) -> Self {
        match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => forward(&f),
            RaftError::APIError(ClientWriteError::ChangeMembershipError(c)) => {
                MetaError::Api(ApiError::new(ErrorCode::InvalidArgument, c.to_string()))
            }
            RaftError::Fatal(f) => MetaError::Raft(f.to_string()),
        }
    }
}

impl From<RaftError<NodeId, CheckIsLeaderError<NodeId, BasicNode>>> for MetaError {
    fn from(e: RaftError<NodeId, CheckIsLeaderError<NodeId, BasicNode>>) -> Self {
        match e {
            RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)) => forward(&f),
            RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(q)) => {
                MetaError::Raft(q.to_string())
            }
            RaftError::Fatal(f) => MetaError::Raft(f.to_string()),
        }
    }
}

impl From<RaftError<NodeId, InitializeError<NodeId, BasicNode>>> for MetaError {
    fn from(e: RaftError<NodeId, InitializeError<NodeId, BasicNode>>) -> Self {
        match e {
            RaftError::APIError(InitializeError::NotAllowed(n)) => {
                MetaError::Api(ApiError::new(ErrorCode::AlreadyInitialized, n.to_string()))
            }
            RaftError::APIError(InitializeError::NotInMembers(n)) => {
                MetaError::Api(ApiError::invalid(n.to_string()))
            }
            RaftError::Fatal(f) => MetaError::Raft(f.to_string()),
        }
    }
}

pub type MetaResult<T> = Result<T, MetaError>;
