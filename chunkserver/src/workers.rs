//! The named background workers of a chunkserver and their observable status: `health`,
//! `scrub`, `inventory` and `pull` (repair copies). Each worker updates its own
//! [`WorkerHandle`]; heartbeats and `/metrics` read them.

use std::sync::{Arc, Mutex, MutexGuard};
use trireme_api::durability::{WorkerState, WorkerStatus};
use trireme_api::ids::ChunkserverId;

/// Names of the workers, as reported.
pub const HEALTH: &str = "health";
pub const SCRUB: &str = "scrub";
pub const INVENTORY: &str = "inventory";
pub const PULL: &str = "pull";

/// The live status of one worker.
#[derive(Debug)]
pub struct WorkerHandle {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    status: WorkerStatus,
    /// Operations in flight, for workers that serve requests ([`WorkerHandle::begin`]).
    active: u32,
}

impl WorkerHandle {
    pub fn new(name: &str, node: &str) -> Self {
        WorkerHandle {
            inner: Mutex::new(Inner {
                status: WorkerStatus {
                    name: name.to_string(),
                    node: node.to_string(),
                    ..WorkerStatus::default()
                },
                active: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn snapshot(&self) -> WorkerStatus {
        self.lock().status.clone()
    }

    /// Changes the status in place.
    pub fn update(&self, f: impl FnOnce(&mut WorkerStatus)) {
        f(&mut self.lock().status);
    }

    pub fn set_state(&self, state: WorkerState) {
        self.lock().status.state = state;
    }

    pub fn set_progress(&self, progress: impl Into<String>) {
        self.lock().status.progress = Some(progress.into());
    }

    /// `items` more items and `bytes` more bytes processed.
    pub fn done(&self, items: u64, bytes: u64) {
        let status = &mut self.lock().status;
        status.items += items;
        status.bytes += bytes;
    }

    /// One more error.
    pub fn error(&self, message: impl Into<String>) {
        let status = &mut self.lock().status;
        status.errors += 1;
        status.last_error = Some(message.into());
    }

    /// One more operation in flight: the worker is busy.
    pub fn begin(&self) {
        let mut inner = self.lock();
        inner.active += 1;
        inner.status.state = WorkerState::Busy;
    }

    /// One operation done: the worker is idle when none is left.
    pub fn end(&self) {
        let mut inner = self.lock();
        inner.active = inner.active.saturating_sub(1);
        if inner.active == 0 {
            inner.status.state = WorkerState::Idle;
        }
    }
}

/// Every worker of this chunkserver.
#[derive(Debug)]
pub struct Workers {
    pub health: Arc<WorkerHandle>,
    pub scrub: Arc<WorkerHandle>,
    pub inventory: Arc<WorkerHandle>,
    pub pull: Arc<WorkerHandle>,
}

impl Workers {
    pub fn new(chunkserver: ChunkserverId) -> Self {
        let node = format!("chunkserver-{chunkserver}");
        let handle = |name| Arc::new(WorkerHandle::new(name, &node));
        Workers {
            health: handle(HEALTH),
            scrub: handle(SCRUB),
            inventory: handle(INVENTORY),
            pull: handle(PULL),
        }
    }

    /// Every worker's status, in a fixed order.
    pub fn statuses(&self) -> Vec<WorkerStatus> {
        [&self.health, &self.scrub, &self.inventory, &self.pull]
            .iter()
            .map(|w| w.snapshot())
            .collect()
    }
}
