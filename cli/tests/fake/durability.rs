//! Canned answers of the fake meta-server for the durability RPCs (`trireme repair`,
//! `worker`, `scrub`). What they answer depends on bucket names, so a test changes it with
//! `trireme bucket create`:
//! - RepairStatus: repair in progress, or complete once a bucket `repaired` exists; fails
//!   with an Internal error while a bucket `broken` exists;
//! - ListLost: one lost object per bucket named `lost*` (recoverable unless the name
//!   contains `gone`); `limit` 9999 fails with an Internal error;
//! - worker settings and scrub control are kept in the fake's state.

use super::{route, FakeMeta, Shared};
use axum::Router;
use std::time::{SystemTime, UNIX_EPOCH};
use trireme_api::durability::*;
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::{ApiError, ErrorCode};

/// The limit that makes ListLost fail (to test the exit code of a check that cannot run).
pub const FAILING_LIMIT: u32 = 9999;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn counts(three: u64, two: u64, one: u64, zero: u64) -> ReplicaCounts {
    let mut c = ReplicaCounts::default();
    for (healthy, n) in [(3, three), (2, two), (1, one), (0, zero)] {
        for _ in 0..n {
            c.add(healthy, 3, 4 << 20);
        }
    }
    c
}

fn repair_status(complete: bool) -> RepairStatusResponse {
    let (total, cs1, cs2, disk) = if complete {
        (
            counts(40, 0, 0, 0),
            counts(30, 0, 0, 0),
            counts(30, 0, 0, 0),
            counts(15, 0, 0, 0),
        )
    } else {
        (
            counts(30, 6, 3, 1),
            counts(25, 4, 1, 0),
            counts(20, 3, 2, 1),
            counts(12, 2, 1, 0),
        )
    };
    let now = now_ms();
    RepairStatusResponse {
        ledger: Some(Ledger {
            total,
            by_chunkserver: vec![
                ChunkserverLedger {
                    chunkserver: 1,
                    counts: cs1,
                },
                ChunkserverLedger {
                    chunkserver: 2,
                    counts: cs2,
                },
            ],
            by_disk: vec![DiskLedger {
                chunkserver: 1,
                disk: DiskId("cs1-d0".into()),
                counts: disk,
            }],
            swept_at_ms: now - 5_000,
            sweep_ms: 12,
        }),
        repair: RepairProgress {
            active: if complete { 0 } else { 2 },
            queued: if complete { 0 } else { 8 },
            repaired_chunks: 14,
            repaired_bytes: 56 << 20,
            failed_copies: 0,
            rate_bytes_per_s: if complete { 0.0 } else { 8.0 * 1024.0 * 1024.0 },
            eta_s: (!complete).then_some(5),
            last_repair_ms: Some(now - 1_000),
        },
        complete,
    }
}

fn list_lost(m: &FakeMeta, limit: u32) -> Result<ListLostResponse, ApiError> {
    if limit == FAILING_LIMIT {
        return Err(ApiError::new(
            ErrorCode::Internal,
            "the ledger sweep failed",
        ));
    }
    let mut objects: Vec<LostObject> = m
        .buckets
        .keys()
        .filter(|b| b.starts_with("lost"))
        .enumerate()
        .map(|(i, b)| LostObject {
            bucket: b.clone(),
            key: "photos/cat.jpg".into(),
            size: 5 << 20,
            chunks: vec![ChunkId::from_u128(0xc0ffee + i as u128)],
            recoverable: !b.contains("gone"),
        })
        .collect();
    let lost_chunks = objects.len() as u64;
    let truncated = objects.len() > limit as usize;
    objects.truncate(limit as usize);
    Ok(ListLostResponse {
        objects,
        lost_chunks,
        truncated,
    })
}

fn workers(m: &FakeMeta) -> ListWorkersResponse {
    let mut settings = m.settings.clone();
    for s in WORKER_SETTINGS {
        settings
            .entry(s.key.to_string())
            .or_insert_with(|| s.default.to_string());
    }
    ListWorkersResponse {
        workers: vec![
            WorkerStatus {
                name: "repair".into(),
                node: "meta-1".into(),
                state: WorkerState::Busy,
                items: 14,
                bytes: 56 << 20,
                errors: 1,
                last_error: Some("copy to chunkserver 3 failed: timeout".into()),
                progress: Some("8 queued".into()),
            },
            WorkerStatus {
                name: "scrub".into(),
                node: "chunkserver-1".into(),
                state: WorkerState::Throttled,
                items: 412,
                bytes: 1 << 30,
                errors: 0,
                last_error: None,
                progress: Some("412/1000 chunks".into()),
            },
        ],
        settings,
    }
}

fn scrub_status(m: &FakeMeta) -> ScrubStatusResponse {
    ScrubStatusResponse {
        control: m.scrub.clone(),
        chunkservers: vec![
            ChunkserverScrub {
                chunkserver: 1,
                alive: true,
                progress: Some(ScrubProgress {
                    epoch: m.scrub.epoch,
                    state: if m.scrub.running {
                        WorkerState::Throttled
                    } else {
                        WorkerState::Paused
                    },
                    pass_started_ms: Some(now_ms() - 60_000),
                    last_pass_completed_ms: Some(now_ms() - 3_600_000),
                    last_pass_epoch: Some(m.scrub.epoch.saturating_sub(1)),
                    chunks_done: 412,
                    chunks_total: 1000,
                    bytes_done: 1 << 30,
                    bad_found: 2,
                    verified_total: 1412,
                }),
            },
            ChunkserverScrub {
                chunkserver: 2,
                alive: false,
                progress: None,
            },
        ],
    }
}

/// Mounts the durability RPCs.
pub(super) fn routes(router: Router<Shared>) -> Router<Shared> {
    let router = route::<trireme_api::swap::ListSwaps>(router, |_, _| {
        Ok(trireme_api::swap::ListSwapsResponse::default())
    });
    let router = route::<RepairStatus>(router, |m, _| {
        m.leader()?;
        if m.buckets.contains_key("broken") {
            return Err(ApiError::new(ErrorCode::Internal, "the ledger is broken"));
        }
        Ok(repair_status(m.buckets.contains_key("repaired")))
    });
    let router = route::<ListLost>(router, |m, req| {
        m.leader()?;
        list_lost(m, req.limit)
    });
    let router = route::<ListWorkers>(router, |m, _| {
        m.leader()?;
        Ok(workers(m))
    });
    let router = route::<SetWorkerSetting>(router, |m, req| {
        m.leader()?;
        if setting_default(&req.key).is_none() || req.value.parse::<u64>().is_err() {
            return Err(ApiError::invalid(format!(
                "bad setting {}={}",
                req.key, req.value
            )));
        }
        m.settings.insert(req.key, req.value);
        Ok(workers(m))
    });
    let router = route::<ControlScrub>(router, |m, req| {
        m.leader()?;
        match req.action {
            ScrubAction::Start => {
                m.scrub.running = true;
                m.scrub.epoch += 1;
            }
            ScrubAction::Pause => m.scrub.running = false,
            ScrubAction::Resume => m.scrub.running = true,
        }
        Ok(scrub_status(m))
    });
    route::<ScrubStatus>(router, |m, _| {
        m.leader()?;
        Ok(scrub_status(m))
    })
}
