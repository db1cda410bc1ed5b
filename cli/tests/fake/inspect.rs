//! Canned answers of the fake meta-server for the inspection RPCs (`trireme object explain`,
//! `chunkserver show`, `disk show`):
//! - ExplainObject: in bucket `demo`, `cat.jpg` (2 chunks at 3/3) and `risky` (one chunk at
//!   2/3, a replica on dead chunkserver 2); any other key `NoSuchKey`, another bucket
//!   `NoSuchBucket`;
//! - ShowChunkserver: chunkserver 1 (two disks, nothing would be lost); others `NotFound`;
//! - ShowDisk: disk `cs1-d0` (also `1/0` or a path ending in `/cs1/disk-0`), holding the only
//!   healthy replica of two objects' chunks (listed up to `limit`); others `NotFound`.

use super::{route, Shared};
use axum::Router;
use trireme_api::durability::{ReplicaCounts, ScrubProgress, WorkerState};
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::inspect::*;
use trireme_api::meta::{ChunkserverInfo, ChunkserverState, DiskHealth, DiskReport, DiskState};
use trireme_api::{ApiError, ErrorCode};

const T0: u64 = 1_700_000_000_000;

fn replica(cs: u64, healthy: bool) -> ReplicaExplain {
    ReplicaExplain {
        chunkserver: cs,
        addr: Some(format!("127.0.0.1:700{cs}")),
        chunkserver_state: Some(if healthy {
            ChunkserverState::Up
        } else {
            ChunkserverState::Dead
        }),
        alive: healthy,
        disk: DiskId(format!("cs{cs}-d0")),
        path: Some(format!("/data/cs{cs}/disk-0")),
        disk_state: Some(DiskState::Healthy),
        healthy,
        last_scrub_ms: Some(T0),
    }
}

fn explain(req: ExplainObject) -> Result<ExplainObjectResponse, ApiError> {
    if req.bucket != "demo" {
        return Err(ApiError::new(ErrorCode::NoSuchBucket, "no bucket"));
    }
    let chunks: Vec<ChunkExplain> = match req.key.as_str() {
        "cat.jpg" => (0..2).map(|i| chunk(i, &[1, 2, 3], &[])).collect(),
        "risky" => vec![chunk(0, &[1, 2, 3], &[2])],
        _ => {
            return Err(ApiError::new(
                ErrorCode::NoSuchKey,
                format!("no key {}", req.key),
            ))
        }
    };
    let under = chunks.iter().filter(|c| c.healthy < c.want).count() as u64;
    let min = chunks.iter().map(|c| c.healthy).min();
    Ok(ExplainObjectResponse {
        bucket: req.bucket,
        key: req.key,
        size: chunks.iter().map(|c| c.length).sum(),
        etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
        last_modified_ms: T0,
        content_type: Some("image/jpeg".into()),
        checksums: Default::default(),
        part_sizes: vec![],
        inline: false,
        summary: ExplainSummary {
            chunks: chunks.len() as u64,
            under_replicated: under,
            lost: 0,
            min_healthy: min,
        },
        chunks,
    })
}

fn chunk(i: u64, on: &[u64], dead: &[u64]) -> ChunkExplain {
    let replicas: Vec<ReplicaExplain> = on
        .iter()
        .map(|cs| replica(*cs, !dead.contains(cs)))
        .collect();
    ChunkExplain {
        id: ChunkId::from_u128(0xc0 + u128::from(i)),
        offset: i * (256 << 10),
        length: 256 << 10,
        blake3: "b3".repeat(32),
        part: None,
        refs: Some(1),
        want: 3,
        healthy: replicas.iter().filter(|r| r.healthy).count() as u32,
        replicas,
    }
}

fn counts(three: u64, two: u64, one: u64) -> ReplicaCounts {
    let mut c = ReplicaCounts::default();
    for (healthy, n) in [(3, three), (2, two), (1, one)] {
        for _ in 0..n {
            c.add(healthy, 3, 256 << 10);
        }
    }
    c
}

fn detail(index: u32) -> DiskDetail {
    DiskDetail {
        index,
        report: DiskReport {
            disk_id: DiskId(format!("cs1-d{index}")),
            path: format!("/data/cs1/disk-{index}"),
            state: DiskState::Healthy,
            capacity_bytes: 100 << 30,
            free_bytes: 90 << 30,
            used_bytes: 1 << 30,
            chunk_count: 4,
            health: DiskHealth {
                probe_latency_us: Some(420),
                last_probe_ms_ago: Some(300),
                read_p50_us: Some(200),
                read_p99_us: Some(900),
                last_scrub_ms: Some(T0),
                ..Default::default()
            },
        },
        reported: true,
        recorded_state: Some(DiskState::Healthy),
        indexed_chunks: 4,
    }
}

fn show_chunkserver(req: ShowChunkserver) -> Result<ShowChunkserverResponse, ApiError> {
    if req.id != 1 {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no chunkserver {}", req.id),
        ));
    }
    let disks = vec![detail(0), detail(1)];
    Ok(ShowChunkserverResponse {
        chunkserver: ChunkserverInfo {
            id: 1,
            addr: "127.0.0.1:7001".into(),
            alive: true,
            last_heartbeat_ms_ago: Some(300),
            disks: disks.iter().map(|d| d.report.clone()).collect(),
            state: ChunkserverState::Up,
        },
        disks,
        scrub: Some(ScrubProgress {
            epoch: 1,
            state: WorkerState::Idle,
            chunks_done: 8,
            chunks_total: 8,
            last_pass_completed_ms: Some(T0),
            ..Default::default()
        }),
        workers: vec![],
        risk: AtRisk {
            now: counts(8, 0, 0),
            if_failed: counts(0, 8, 0),
            bytes: 8 * (256 << 10),
            ..Default::default()
        },
    })
}

fn show_disk(req: ShowDisk) -> Result<ShowDiskResponse, ApiError> {
    let ours = match &req.disk {
        DiskSelector::Id(id) => id.0 == "cs1-d0",
        DiskSelector::Index { chunkserver, index } => (*chunkserver, *index) == (1, 0),
        DiskSelector::Path(p) => p.ends_with("/cs1/disk-0"),
    };
    if !ours {
        return Err(ApiError::new(ErrorCode::NotFound, "no such disk"));
    }
    let objects: Vec<ExposedObject> = ["a.bin", "b.bin"]
        .iter()
        .enumerate()
        .map(|(i, k)| ExposedObject {
            bucket: "demo".into(),
            key: (*k).into(),
            size: 256 << 10,
            chunks: vec![ChunkId::from_u128(0xd0 + i as u128)],
        })
        .collect();
    let truncated = objects.len() > req.limit as usize;
    Ok(ShowDiskResponse {
        chunkserver: 1,
        chunkserver_addr: "127.0.0.1:7001".into(),
        chunkserver_state: ChunkserverState::Up,
        chunkserver_alive: true,
        last_heartbeat_ms_ago: Some(300),
        disk: detail(0),
        risk: AtRisk {
            now: counts(2, 0, 2),
            if_failed: {
                let mut c = counts(0, 2, 0);
                c.add(0, 3, 256 << 10);
                c.add(0, 3, 256 << 10);
                c
            },
            bytes: 4 * (256 << 10),
            would_lose_chunks: 2,
            objects: objects.into_iter().take(req.limit as usize).collect(),
            objects_truncated: truncated,
        },
    })
}

/// Mounts the inspection RPCs.
pub(super) fn routes(router: Router<Shared>) -> Router<Shared> {
    let router = route::<ExplainObject>(router, |m, req| {
        m.leader()?;
        explain(req)
    });
    let router = route::<ShowChunkserver>(router, |m, req| {
        m.leader()?;
        show_chunkserver(req)
    });
    route::<ShowDisk>(router, |m, req| {
        m.leader()?;
        show_disk(req)
    })
}
