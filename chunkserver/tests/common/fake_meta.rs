//! A fake meta leader: answers heartbeats with settings, scrub control and removed disks the
//! test sets, records heartbeats (slots included), bad-replica reports and inventories, and
//! names chunks to delete.

use super::CLUSTER;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use trireme_api::durability::{ScrubControl, ScrubProgress, WorkerStatus};
use trireme_api::ids::DiskId;
use trireme_api::inventory::{ChunkOnDisk, ReportInventory, ReportInventoryResponse};
use trireme_api::meta::{DiskReport, Empty, Heartbeat, HeartbeatResponse, ReportBadReplica};
use trireme_api::swap::SlotReport;
use trireme_api::Rpc;

/// What the fake meta saw, and what it answers.
#[derive(Debug, Default)]
pub struct FakeState {
    pub heartbeats: usize,
    pub last_heartbeat: Option<Heartbeat>,
    pub reports: Vec<ReportBadReplica>,
    pub inventories: Vec<ReportInventory>,
    pub settings: BTreeMap<String, String>,
    pub scrub: ScrubControl,
    /// Named as unreferenced in every inventory answer.
    pub delete: Vec<ChunkOnDisk>,
    /// Listed as removed from service in every heartbeat answer.
    pub removed: Vec<DiskId>,
}

pub struct FakeMeta {
    pub addr: String,
    state: Arc<Mutex<FakeState>>,
    task: JoinHandle<()>,
}

type Shared = Arc<Mutex<FakeState>>;

async fn heartbeat(State(s): State<Shared>, Json(hb): Json<Heartbeat>) -> Json<HeartbeatResponse> {
    let mut s = s.lock().expect("lock");
    s.heartbeats += 1;
    s.last_heartbeat = Some(hb);
    Json(HeartbeatResponse {
        cluster_id: CLUSTER.into(),
        settings: s.settings.clone(),
        scrub: s.scrub.clone(),
        removed_disks: s.removed.clone(),
    })
}

async fn report(State(s): State<Shared>, Json(r): Json<ReportBadReplica>) -> Json<Empty> {
    s.lock().expect("lock").reports.push(r);
    Json(Empty {})
}

async fn inventory(
    State(s): State<Shared>,
    Json(r): Json<ReportInventory>,
) -> Json<ReportInventoryResponse> {
    let mut s = s.lock().expect("lock");
    s.inventories.push(r);
    Json(ReportInventoryResponse {
        delete: s.delete.clone(),
    })
}

impl FakeMeta {
    /// Starts a fake meta answering with `settings` and `scrub`.
    pub async fn start(settings: &[(&str, &str)], scrub: ScrubControl) -> FakeMeta {
        let state: Shared = Arc::new(Mutex::new(FakeState {
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            scrub,
            ..FakeState::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let app = Router::new()
            .route(Heartbeat::PATH, post(heartbeat))
            .route(ReportBadReplica::PATH, post(report))
            .route(ReportInventory::PATH, post(inventory))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeMeta { addr, state, task }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut self.state.lock().expect("lock"))
    }

    pub fn reports(&self) -> Vec<ReportBadReplica> {
        self.with(|s| s.reports.clone())
    }

    pub fn heartbeats(&self) -> usize {
        self.with(|s| s.heartbeats)
    }

    /// The scrub progress of the last heartbeat.
    pub fn scrub(&self) -> ScrubProgress {
        self.with(|s| {
            s.last_heartbeat
                .as_ref()
                .and_then(|h| h.scrub.clone())
                .unwrap_or_default()
        })
    }

    /// The workers of the last heartbeat.
    pub fn workers(&self) -> Vec<WorkerStatus> {
        self.with(|s| {
            s.last_heartbeat
                .as_ref()
                .map(|h| h.workers.clone())
                .unwrap_or_default()
        })
    }

    /// The disk reports of the last heartbeat.
    pub fn disks(&self) -> Vec<DiskReport> {
        self.with(|s| {
            s.last_heartbeat
                .as_ref()
                .map(|h| h.disks.clone())
                .unwrap_or_default()
        })
    }

    /// The slot reports of the last heartbeat.
    pub fn slots(&self) -> Vec<SlotReport> {
        self.with(|s| {
            s.last_heartbeat
                .as_ref()
                .map(|h| h.slots.clone())
                .unwrap_or_default()
        })
    }

    /// Lists `removed` as removed from service from now on.
    pub fn set_removed(&self, removed: Vec<DiskId>) {
        self.with(|s| s.removed = removed);
    }

    pub fn set_scrub(&self, running: bool, epoch: u64) {
        self.with(|s| s.scrub = ScrubControl { running, epoch });
    }

    pub fn set(&self, key: &str, value: &str) {
        self.with(|s| s.settings.insert(key.to_string(), value.to_string()));
    }

    /// Waits until `n` more heartbeats have arrived.
    pub async fn more_heartbeats(&self, n: usize) {
        let target = self.heartbeats() + n;
        super::wait_until("more heartbeats", || async { self.heartbeats() >= target }).await;
    }
}

impl Drop for FakeMeta {
    fn drop(&mut self) {
        self.task.abort();
    }
}
