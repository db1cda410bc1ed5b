//! The scrub worker against a fake meta leader: corruption found and quarantined, pause in
//! place, new epochs, and its history across restarts.

mod common;

use common::fake_meta::FakeMeta;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use trireme_api::durability::{ScrubControl, WorkerState};
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::meta::BadReplicaKind;

const KIB: usize = 1024;

fn paused() -> ScrubControl {
    ScrubControl {
        running: false,
        epoch: 0,
    }
}

/// Puts `n` random chunks of `len` bytes, alternating over the disks.
async fn put_chunks(
    server: &Server,
    disks: &[DiskId],
    n: usize,
    len: usize,
) -> Vec<(DiskId, ChunkId)> {
    let mut out = Vec::new();
    for i in 0..n {
        let (disk, chunk, data) = (
            disks[i % disks.len()].clone(),
            random_chunk(),
            random_bytes(len),
        );
        client()
            .put_chunk(&server.addr, &disk, &chunk, &digest(&data), data)
            .await
            .expect("put");
        out.push((disk, chunk));
    }
    out
}

fn flip_byte(path: &Path, at_from_end: usize) {
    let mut bytes = fs::read(path).expect("read");
    let at = bytes.len() - at_from_end;
    bytes[at] ^= 0x01;
    fs::write(path, bytes).expect("write");
}

#[tokio::test]
async fn scrub_finds_flipped_bytes_truncation_and_garbage_headers() {
    let meta = FakeMeta::start(&[("scrub.bandwidth_mib", "1000")], paused()).await;
    let root = tempfile::tempdir().expect("tempdir");
    let dirs: Vec<PathBuf> = vec![root.path().join("d0"), root.path().join("d1")];
    let server = Server::start(config(dirs.clone(), vec![meta.addr.clone()], None)).await;
    let disks = server.disk_ids().await;
    let chunks = put_chunks(&server, &disks, 6, 150 * KIB).await;
    let file = |i: usize| chunk_file(&dirs[i % 2], &chunks[i].1);

    flip_byte(&file(0), 10);
    let f = file(1);
    let len = fs::metadata(&f).expect("stat").len();
    fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .expect("open")
        .set_len(len / 2)
        .expect("truncate");
    let mut bytes = fs::read(file(2)).expect("read");
    for b in bytes.iter_mut().take(64) {
        *b = rand::random();
    }
    fs::write(file(2), bytes).expect("garbage header");

    // Paused: nothing is read.
    meta.more_heartbeats(3).await;
    assert_eq!(meta.scrub().state, WorkerState::Paused);
    assert_eq!(meta.scrub().verified_total, 0);
    assert!(file(0).exists());

    meta.set_scrub(true, 1);
    wait_until("the pass of epoch 1 completes", || async {
        meta.scrub().last_pass_epoch == Some(1)
    })
    .await;
    let progress = meta.scrub();
    assert_eq!(progress.bad_found, 3);
    assert_eq!(progress.verified_total, 6);
    assert_eq!((progress.chunks_done, progress.chunks_total), (6, 6));
    wait_until("three reports", || async { meta.reports().len() >= 3 }).await;
    let reports = meta.reports();
    assert_eq!(reports.len(), 3, "{reports:?}");
    for (i, (disk, chunk)) in chunks.iter().enumerate().take(3) {
        let r = reports
            .iter()
            .find(|r| r.chunk == *chunk)
            .unwrap_or_else(|| panic!("no report for chunk {i}"));
        assert_eq!(r.kind, BadReplicaKind::Corrupt);
        assert_eq!((r.replica.chunkserver, &r.replica.disk), (1, disk));
        assert!(!r.reason.is_empty());
        assert!(!file(i).exists(), "chunk {i} moved out of chunks/");
        let q = quarantined(&dirs[i % 2]);
        assert!(
            q.iter().any(|n| n.starts_with(&chunk.0)),
            "chunk {i} in {q:?}"
        );
    }
    for (i, (disk, chunk)) in chunks.iter().enumerate().skip(3) {
        assert!(file(i).exists());
        client()
            .get_chunk(&server.addr, disk, chunk, None, None)
            .await
            .expect("good chunks still read");
    }
    let status = server.status().await.expect("status");
    let corrupt: u64 = status.disks.iter().map(|d| d.health.corrupt_replicas).sum();
    assert_eq!(corrupt, 3);
    assert_eq!(status.disks.iter().map(|d| d.chunk_count).sum::<u64>(), 3);
    assert!(status
        .disks
        .iter()
        .all(|d| d.health.last_scrub_ms.is_some()));

    let workers = meta.workers();
    let names: Vec<&str> = workers.iter().map(|w| w.name.as_str()).collect();
    assert!(
        ["health", "scrub", "inventory"]
            .iter()
            .all(|n| names.contains(n)),
        "{names:?}"
    );
    let scrub = workers.iter().find(|w| w.name == "scrub").expect("scrub");
    assert_eq!(scrub.node, "chunkserver-1");
    assert_eq!((scrub.items, scrub.errors), (6, 3));
    assert!(scrub.last_error.is_some());
    server.stop().await;
}

#[tokio::test]
async fn scrub_pauses_in_place_follows_epochs_and_remembers_its_passes() {
    let meta = FakeMeta::start(&[("scrub.bandwidth_mib", "1")], paused()).await;
    let root = tempfile::tempdir().expect("tempdir");
    let dirs = vec![root.path().join("d0")];
    let server = Server::start(config(dirs.clone(), vec![meta.addr.clone()], None)).await;
    let disks = server.disk_ids().await;
    put_chunks(&server, &disks, 8, 512 * KIB).await;

    // 4 MiB at 1 MiB/s: the pass takes a few seconds.
    meta.set_scrub(true, 1);
    wait_until("the pass is under way", || async {
        let p = meta.scrub();
        p.epoch == 1 && p.chunks_done >= 2
    })
    .await;
    let started = meta.scrub().pass_started_ms;
    meta.set_scrub(false, 1);
    wait_until("scrub is paused", || async {
        meta.scrub().state == WorkerState::Paused
    })
    .await;
    let done = meta.scrub().chunks_done;
    assert!(done < 8, "paused before the end ({done})");
    meta.more_heartbeats(8).await;
    let p = meta.scrub();
    assert_eq!((p.state, p.chunks_done), (WorkerState::Paused, done));
    assert_eq!(p.last_pass_epoch, None);

    // Resume in place, faster.
    meta.set("scrub.bandwidth_mib", "1000");
    meta.set_scrub(true, 1);
    wait_until("the pass completes", || async {
        meta.scrub().last_pass_epoch == Some(1)
    })
    .await;
    let p = meta.scrub();
    assert_eq!(p.pass_started_ms, started, "the same pass, resumed");
    assert_eq!((p.chunks_done, p.verified_total, p.bad_found), (8, 8, 0));

    // A new epoch starts a new pass.
    meta.set_scrub(true, 2);
    wait_until("the pass of epoch 2 completes", || async {
        meta.scrub().last_pass_epoch == Some(2)
    })
    .await;
    assert_eq!(meta.scrub().verified_total, 16);
    server.stop().await;

    // After a restart the finished pass is remembered: no new pass until the interval.
    let server = Server::start(config(dirs, vec![meta.addr.clone()], None)).await;
    meta.more_heartbeats(10).await;
    let p = meta.scrub();
    assert_eq!(p.last_pass_epoch, Some(2));
    assert_eq!((p.verified_total, p.state), (0, WorkerState::Idle));
    let status = server.status().await.expect("status");
    assert!(status.disks[0].health.last_scrub_ms.is_some());
    server.stop().await;
}
