//! [`MetaNode`]: one meta-server's Raft handle, state machine reader and leader soft state.

use crate::config::MetaConfig;
use crate::error::{MetaError, MetaResult};
use crate::store::read::Reader;
use crate::types::{Command, CommandResult, NodeId, Raft};
use openraft::ServerState;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use trireme_api::durability::{ScrubProgress, WorkerStatus};
use trireme_api::ids::ChunkserverId;
use trireme_api::meta::DiskReport;
use trireme_api::ApiError;

/// What the leader last heard from a chunkserver. Soft state: rebuilt from heartbeats after a
/// leader change, never replicated.
#[derive(Clone, Debug)]
pub struct HeartbeatState {
    pub last_seen: Instant,
    pub addr: String,
    pub disks: Vec<DiskReport>,
    pub workers: Vec<WorkerStatus>,
    pub scrub: Option<ScrubProgress>,
    /// The chunkserver's disk slots and what each holds (`trireme_api::swap`).
    pub slots: Vec<trireme_api::swap::SlotReport>,
}

pub struct MetaNode {
    pub id: NodeId,
    pub config: MetaConfig,
    pub raft: Raft,
    pub reader: Reader,
    pub heartbeats: Mutex<HashMap<ChunkserverId, HeartbeatState>>,
    /// When this node last became leader (None while it is not leader).
    pub leader_since: Mutex<Option<Instant>>,
    /// The durability engine's leader soft state (ledger, repair queue, workers).
    pub durability: crate::durability::Durability,
    /// Holds writes during a leadership transfer; serialises membership changes.
    pub gate: crate::gate::WriteGate,
    /// Proposes concurrent writes together (started with the node, on its runtime).
    pub group: crate::group_commit::GroupCommit,
    /// Lets concurrent linearizable reads share ReadIndex rounds.
    pub reads: crate::read_batch::ReadBatcher,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MetaNode {
    /// Must run inside the Tokio runtime (it starts the group commit proposer).
    pub fn new(config: MetaConfig, raft: Raft, reader: Reader) -> Self {
        let raft_for_group = raft.clone();
        let raft_for_reads = raft.clone();
        let read_round: crate::read_batch::Round = std::sync::Arc::new(move || {
            let raft = raft_for_reads.clone();
            Box::pin(async move {
                match raft.ensure_linearizable().await {
                    Ok(_) => crate::read_batch::Outcome::Linearizable,
                    Err(e) => crate::read_batch::Outcome::failed(MetaError::from(e)),
                }
            })
        });
        MetaNode {
            id: config.node_id,
            config,
            raft,
            reader,
            heartbeats: Mutex::new(HashMap::new()),
            leader_since: Mutex::new(None),
            durability: Default::default(),
            gate: Default::default(),
            group: crate::group_commit::GroupCommit::start(raft_for_group),
            reads: crate::read_batch::ReadBatcher::new(read_round),
        }
    }

    /// Proposes a command and waits until it is committed and applied. A command the state
    /// machine refused comes back as its [`ApiError`]. Within an audited request, the first
    /// command is proposed with the request's audit entry (`service/audit.rs`).
    pub async fn write(&self, cmd: Command) -> MetaResult<CommandResult> {
        // The first command of an audited admin request carries its audit entry.
        let cmd = crate::service::audit::attach(cmd);
        let _in_flight = self.gate.enter().await?;
        let result = self.group.write(cmd).await.map_err(|e| match e {
            crate::group_commit::GroupError::Raft(e) => MetaError::from(*e),
            other => MetaError::Raft(other.to_string()),
        })?;
        match result {
            CommandResult::Refused(e) => Err(MetaError::Api(e)),
            other => Ok(other),
        }
    }

    /// Makes the following state machine read linearizable (ReadIndex through a quorum).
    pub async fn linearizable(&self) -> MetaResult<()> {
        let _in_flight = self.gate.enter().await?;
        self.reads.read_index().await
    }

    /// Fails with `NoSuchBucket` unless the bucket exists (read the state machine; callers on
    /// the client path make the read linearizable first).
    pub fn require_bucket(&self, bucket: &str) -> MetaResult<()> {
        match self.reader.get_bucket(bucket)? {
            Some(_) => Ok(()),
            None => Err(ApiError::new(
                trireme_api::ErrorCode::NoSuchBucket,
                format!("no bucket {bucket}"),
            )
            .into()),
        }
    }

    /// Fails with `NotLeader` unless this node currently believes it is the leader. For
    /// leader-only requests that neither write nor read replicated state (placement, heartbeats).
    pub fn require_leader(&self) -> MetaResult<()> {
        let m = self.raft.metrics().borrow().clone();
        if m.state == ServerState::Leader {
            return Ok(());
        }
        let leader_addr = m.current_leader.and_then(|l| {
            m.membership_config
                .membership()
                .get_node(&l)
                .map(|n| n.addr.clone())
        });
        Err(MetaError::NotLeader { leader_addr })
    }

    /// Whether this node currently believes it is the leader.
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().state == ServerState::Leader
    }

    /// Keeps `leader_since` current; runs until the Raft metrics channel closes.
    pub async fn watch_leadership(&self) {
        let mut rx = self.raft.metrics();
        loop {
            let is_leader = rx.borrow().state == ServerState::Leader;
            {
                let mut since = lock(&self.leader_since);
                match (is_leader, since.is_some()) {
                    (true, false) => {
                        *since = Some(Instant::now());
                        self.durability.sweep_now.notify_one();
                    }
                    (false, true) => *since = None,
                    _ => {}
                }
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Whether a chunkserver last heard from at `last_seen` counts as alive.
    pub fn is_alive(&self, last_seen: Instant) -> bool {
        last_seen.elapsed() < self.config.chunkserver_timeout
    }

    /// True during the first few heartbeat intervals of this node's leadership, while the
    /// chunkservers' heartbeats have not all reached it yet.
    pub fn newly_elected(&self) -> bool {
        let grace = self
            .config
            .chunkserver_timeout
            .min(std::time::Duration::from_secs(5));
        lock(&self.leader_since).is_some_and(|s| s.elapsed() < grace)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::internal(e.to_string())
    }
}
