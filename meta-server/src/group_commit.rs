//! Group commit: concurrent writes share Raft entries.
//!
//! openraft 0.9 appends (and fsyncs) each proposed entry on its own, on the leader and on
//! every follower, so one small PUT used to cost a Raft entry, three fsyncs and a replication
//! round of its own. Here every [`MetaNode::write`](crate::node::MetaNode::write) goes through
//! one proposer: while [`MAX_IN_FLIGHT`] entries are being committed, new commands queue, and
//! the next entry carries everything queued (up to [`MAX_BATCH`] commands) as one
//! [`Command::Batch`]. A lone command is proposed as itself, so an idle cluster's latency is
//! unchanged; under load, entries grow with the load.

use crate::types::{Command, CommandResult, NodeId, Raft};
use openraft::error::{ClientWriteError, RaftError};
use openraft::BasicNode;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// Commands per entry at most.
pub const MAX_BATCH: usize = 64;
/// Entries being committed at once: one is replicated while the next one fills. Two were
/// measured against one on a 2-vCPU host where the meta-servers are CPU-bound (4 KiB PUT at
/// c=16, docs/performance.md): each entry costs a replication round and three fsyncs
/// whatever it carries, so one in flight made entries twice as full and gave 1310 PUT/s
/// against 1064, with a lower p50.
pub const MAX_IN_FLIGHT: usize = 1;

pub type WriteError = RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>;
type Reply = oneshot::Sender<Result<CommandResult, WriteError>>;

/// The queue in front of the proposer task.
pub struct GroupCommit {
    tx: mpsc::UnboundedSender<(Command, Reply)>,
}

/// Why a write got no answer from the proposer.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error(transparent)]
    Raft(Box<WriteError>),
    #[error("the group commit proposer stopped")]
    Stopped,
    /// The proposal was made but its answer is lost (the node is shutting down, or a batch
    /// came back with a result of another shape): the write may or may not have happened.
    #[error(
        "no answer for the write (the meta-server may be shutting down); it may have been applied"
    )]
    NoAnswer,
}

impl GroupCommit {
    /// Starts the proposer on the current runtime; it ends when this is dropped.
    pub fn start(raft: Raft) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(propose(raft, rx));
        GroupCommit { tx }
    }

    /// Proposes `cmd` (alone or with others) and returns its own result once applied.
    pub async fn write(&self, cmd: Command) -> Result<CommandResult, GroupError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((cmd, reply))
            .map_err(|_| GroupError::Stopped)?;
        match rx.await {
            Ok(r) => r.map_err(|e| GroupError::Raft(Box::new(e))),
            // The proposer dropped the reply.
            Err(_) => Err(GroupError::NoAnswer),
        }
    }
}

async fn propose(raft: Raft, mut rx: mpsc::UnboundedReceiver<(Command, Reply)>) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        // Taking the slot first lets commands pile up while every slot is busy.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut queued = vec![first];
        while queued.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => queued.push(next),
                Err(_) => break,
            }
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            let _slot = slot;
            commit(&raft, queued).await;
        });
    }
}

async fn commit(raft: &Raft, mut queued: Vec<(Command, Reply)>) {
    if queued.len() == 1 {
        if let Some((cmd, reply)) = queued.pop() {
            let _ = reply.send(raft.client_write(cmd).await.map(|r| r.data));
        }
        return;
    }
    let (commands, replies): (Vec<Command>, Vec<Reply>) = queued.into_iter().unzip();
    match raft.client_write(Command::Batch { commands }).await {
        Ok(resp) => match resp.data {
            CommandResult::Batch(results) if results.len() == replies.len() => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            // Dropping the replies tells each waiter (`GroupError::NoAnswer`).
            other => tracing::error!(?other, "batch entry applied with a mismatched result"),
        },
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}
