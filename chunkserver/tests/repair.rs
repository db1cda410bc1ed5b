//! Repair-side RPCs: pull (a copy from another chunkserver), verify, bad replicas reported
//! by reads, and the inventory worker's `gc.enabled` switch.

mod common;

use common::fake_meta::FakeMeta;
use common::*;
use std::fs;
use std::time::Duration;
use trireme_api::chunk::{PullChunk, PullSource, VerifyChunk};
use trireme_api::durability::ScrubControl;
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::inventory::ChunkOnDisk;
use trireme_api::meta::BadReplicaKind;
use trireme_api::ErrorCode;
use trireme_client::ClientError;

fn pull_req(disk: &DiskId, chunk: &ChunkId, data: &[u8], sources: Vec<PullSource>) -> PullChunk {
    PullChunk {
        disk: disk.clone(),
        chunk: chunk.clone(),
        length: data.len() as u64,
        blake3: digest(data),
        sources,
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Option<ErrorCode> {
    r.expect_err("an error").code()
}

#[tokio::test]
async fn pull_copies_from_the_first_good_source() {
    let root = tempfile::tempdir().expect("tempdir");
    let source = Server::start(config(vec![root.path().join("s0")], vec![], None)).await;
    let target_dir = root.path().join("t0");
    let target = Server::start(config(vec![target_dir.clone()], vec![], None)).await;
    let (sdisk, tdisk) = (
        source.disk_ids().await.remove(0),
        target.disk_ids().await.remove(0),
    );
    let c = client();
    let t = c.transport();
    let chunk = random_chunk();
    let data = random_bytes(200_000);
    c.put_chunk(&source.addr, &sdisk, &chunk, &digest(&data), data.clone())
        .await
        .expect("put on the source");
    let good = PullSource {
        addr: source.addr.clone(),
        disk: sdisk.clone(),
    };
    let dead = PullSource {
        addr: "127.0.0.1:1".into(),
        disk: sdisk.clone(),
    };

    let req = pull_req(&tdisk, &chunk, &data, vec![dead.clone(), good.clone()]);
    let resp = t.call(&target.addr, &req).await.expect("pull");
    assert_eq!(
        (resp.length, resp.blake3.as_str()),
        (200_000, digest(&data).as_str())
    );
    let got = c
        .get_chunk(&target.addr, &tdisk, &chunk, None, Some(&digest(&data)))
        .await
        .expect("read the copy");
    assert_eq!(got, data);
    // Idempotent: the copy is not rewritten.
    let file = chunk_file(&target_dir, &chunk);
    let mtime = || {
        fs::metadata(&file)
            .expect("stat")
            .modified()
            .expect("mtime")
    };
    let before = mtime();
    t.call(&target.addr, &req).await.expect("pull again");
    assert_eq!(mtime(), before);
    let status = target.status().await.expect("status");
    assert_eq!(status.disks[0].chunk_count, 1);

    // A source whose bytes do not match the request is refused, and nothing is stored.
    let other = random_chunk();
    let other_data = random_bytes(1000);
    c.put_chunk(
        &source.addr,
        &sdisk,
        &other,
        &digest(&other_data),
        other_data.clone(),
    )
    .await
    .expect("put");
    let wrong = pull_req(&tdisk, &other, &random_bytes(1000), vec![good.clone()]);
    let err = t
        .call(&target.addr, &wrong)
        .await
        .expect_err("wrong digest");
    assert_eq!(err.code(), Some(ErrorCode::Unavailable), "{err}");
    assert!(err.to_string().contains(&source.addr), "{err}");
    let mut long = pull_req(&tdisk, &other, &other_data, vec![good.clone()]);
    long.length += 1;
    assert_eq!(
        code(t.call(&target.addr, &long).await),
        Some(ErrorCode::Unavailable)
    );
    assert!(!chunk_file(&target_dir, &other).exists());
    assert_eq!(
        code(
            t.call(&target.addr, &pull_req(&tdisk, &other, &other_data, vec![]))
                .await
        ),
        Some(ErrorCode::Unavailable)
    );
    // A corrupt source replica is refused by the source itself.
    let path = chunk_file(&root.path().join("s0"), &other);
    let mut bytes = fs::read(&path).expect("read");
    let n = bytes.len();
    bytes[n - 1] ^= 0x10;
    fs::write(&path, bytes).expect("corrupt");
    let req = pull_req(&tdisk, &other, &other_data, vec![good.clone()]);
    let err = t
        .call(&target.addr, &req)
        .await
        .expect_err("corrupt source");
    assert!(err.to_string().contains("corrupt"), "{err}");
    // Unknown disks and bad digests are the caller's error.
    let nowhere = pull_req(&DiskId("nope".into()), &chunk, &data, vec![good.clone()]);
    assert_eq!(
        code(t.call(&target.addr, &nowhere).await),
        Some(ErrorCode::NotFound)
    );
    let mut bad = pull_req(&tdisk, &chunk, &data, vec![good]);
    bad.blake3 = "xyz".into();
    assert_eq!(
        code(t.call(&target.addr, &bad).await),
        Some(ErrorCode::InvalidArgument)
    );

    let pull = target.status().await.expect("status");
    assert_eq!(pull.disks[0].chunk_count, 1);
    source.stop().await;
    target.stop().await;
}

#[tokio::test]
async fn verify_quarantines_and_reports_bad_replicas() {
    let meta = FakeMeta::start(
        &[],
        ScrubControl {
            running: false,
            epoch: 0,
        },
    )
    .await;
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("d0");
    let server = Server::start(config(vec![dir.clone()], vec![meta.addr.clone()], None)).await;
    let disk = server.disk_ids().await.remove(0);
    let c = client();
    let t = c.transport();
    let (a, b) = (random_chunk(), random_chunk());
    let (da, db) = (random_bytes(70_000), random_bytes(3000));
    for (chunk, data) in [(&a, &da), (&b, &db)] {
        c.put_chunk(&server.addr, &disk, chunk, &digest(data), data.clone())
            .await
            .expect("put");
    }
    let verify = |chunk: &ChunkId, blake3: Option<String>| VerifyChunk {
        disk: disk.clone(),
        chunk: chunk.clone(),
        blake3,
    };
    let ok = t
        .call(&server.addr, &verify(&a, None))
        .await
        .expect("verify");
    assert!(ok.ok && !ok.quarantined && ok.reason.is_none());
    let ok = t
        .call(&server.addr, &verify(&a, Some(digest(&da))))
        .await
        .expect("verify");
    assert!(ok.ok);

    let path = chunk_file(&dir, &a);
    let mut bytes = fs::read(&path).expect("read");
    let n = bytes.len();
    bytes[n - 70_000 + 65_536 + 3] ^= 0x04;
    fs::write(&path, bytes).expect("corrupt");
    let bad = t
        .call(&server.addr, &verify(&a, None))
        .await
        .expect("verify");
    assert!(!bad.ok && bad.quarantined, "{bad:?}");
    assert!(
        bad.reason.as_deref().is_some_and(|r| r.contains("block 1")),
        "{bad:?}"
    );
    assert!(!path.exists());
    let gone = t
        .call(&server.addr, &verify(&a, None))
        .await
        .expect("verify");
    assert!(!gone.ok && !gone.quarantined);

    // The metadata's digest is authoritative: a replica of other content is set aside.
    let other = t
        .call(&server.addr, &verify(&b, Some(digest(b"else"))))
        .await
        .expect("verify");
    assert!(!other.ok && other.quarantined, "{other:?}");
    assert_eq!(quarantined(&dir).len(), 2);

    wait_until("three reports", || async { meta.reports().len() >= 3 }).await;
    let kinds: Vec<_> = meta
        .reports()
        .iter()
        .map(|r| (r.chunk.clone(), r.kind))
        .collect();
    assert!(
        kinds.contains(&(a.clone(), BadReplicaKind::Corrupt)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(a.clone(), BadReplicaKind::Missing)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(b.clone(), BadReplicaKind::Corrupt)),
        "{kinds:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn reads_report_corrupt_and_missing_replicas() {
    let meta = FakeMeta::start(
        &[],
        ScrubControl {
            running: false,
            epoch: 0,
        },
    )
    .await;
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("d0");
    let server = Server::start(config(vec![dir.clone()], vec![meta.addr.clone()], None)).await;
    let disk = server.disk_ids().await.remove(0);
    let c = client();
    let (a, missing) = (random_chunk(), random_chunk());
    let data = random_bytes(5000);
    c.put_chunk(&server.addr, &disk, &a, &digest(&data), data.clone())
        .await
        .expect("put");
    // A caller that expects other content gets Corrupt, but the replica is left alone.
    let r = c
        .get_chunk(&server.addr, &disk, &a, None, Some(&digest(b"x")))
        .await;
    assert_eq!(code(r), Some(ErrorCode::Corrupt));
    assert!(chunk_file(&dir, &a).exists());

    let path = chunk_file(&dir, &a);
    let mut bytes = fs::read(&path).expect("read");
    bytes[20] ^= 0x80;
    fs::write(&path, bytes).expect("corrupt header");
    let r = c.get_chunk(&server.addr, &disk, &a, None, None).await;
    assert_eq!(code(r), Some(ErrorCode::Corrupt));
    let r = c.get_chunk(&server.addr, &disk, &missing, None, None).await;
    assert_eq!(code(r), Some(ErrorCode::NotFound));
    wait_until("two reports", || async { meta.reports().len() >= 2 }).await;
    let reports = meta.reports();
    assert_eq!(reports.len(), 2, "{reports:?}");
    let corrupt = reports
        .iter()
        .find(|r| r.chunk == a)
        .expect("corrupt report");
    assert_eq!(corrupt.kind, BadReplicaKind::Corrupt);
    assert_eq!(corrupt.replica.disk, disk);
    let gone = reports
        .iter()
        .find(|r| r.chunk == missing)
        .expect("missing report");
    assert_eq!(gone.kind, BadReplicaKind::Missing);
    assert_eq!(quarantined(&dir).len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn inventory_keeps_unreferenced_chunks_while_gc_is_disabled() {
    let meta = FakeMeta::start(
        &[("gc.enabled", "0")],
        ScrubControl {
            running: false,
            epoch: 0,
        },
    )
    .await;
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("d0");
    let mut cfg = config(vec![dir.clone()], vec![meta.addr.clone()], None);
    cfg.inventory = Duration::from_millis(100);
    let server = Server::start(cfg).await;
    let disk = server.disk_ids().await.remove(0);
    let c = client();
    let (keep, bad) = (random_chunk(), random_chunk());
    for chunk in [&keep, &bad] {
        let data = random_bytes(100);
        c.put_chunk(&server.addr, &disk, chunk, &digest(&data), data)
            .await
            .expect("put");
    }
    // Quarantine one: it must never show up in an inventory again.
    let path = chunk_file(&dir, &bad);
    fs::write(&path, b"garbage").expect("corrupt");
    let r = c.get_chunk(&server.addr, &disk, &bad, None, None).await;
    assert_eq!(code(r), Some(ErrorCode::Corrupt));
    meta.with(|s| {
        s.inventories.clear();
        s.delete = vec![ChunkOnDisk {
            disk: disk.clone(),
            chunk: keep.clone(),
        }];
    });
    wait_until("three inventories", || async {
        meta.with(|s| s.inventories.len() >= 3)
    })
    .await;
    assert!(chunk_file(&dir, &keep).exists(), "gc.enabled = 0 keeps it");
    meta.with(|s| {
        for inv in &s.inventories {
            let listed: Vec<&ChunkId> = inv
                .disks
                .iter()
                .flat_map(|d| &d.chunks)
                .map(|e| &e.chunk)
                .collect();
            assert_eq!(listed, vec![&keep], "quarantined chunks are never listed");
        }
    });
    meta.set("gc.enabled", "1");
    wait_until("the chunk is collected", || async {
        !chunk_file(&dir, &keep).exists()
    })
    .await;
    wait_until("the inventory worker counts its reports", || async {
        meta.workers()
            .iter()
            .any(|w| w.name == "inventory" && w.items >= 3 && w.node == "chunkserver-1")
    })
    .await;
    server.stop().await;
}
