//! In-process tests of the chunkserver: `run()` on a port-0 listener with temp disks, driven
//! by the real `ChunkClient`.

mod common;

use common::*;
use std::fs;
use trireme_api::config::{ClusterSettings, ReadyFile};
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::meta::DiskState;
use trireme_api::ErrorCode;
use trireme_chunkserver::disk::IDENTITY_FILE;

const BLOCK: usize = 64 * 1024;

fn code<T>(r: Result<T, trireme_client::ClientError>) -> Option<ErrorCode> {
    r.err().and_then(|e| e.code())
}

#[tokio::test]
async fn put_get_range_delete() {
    let root = tempfile::tempdir().expect("tempdir");
    let disks = vec![root.path().join("d0"), root.path().join("d1")];
    let ready = root.path().join("ready.json");
    let server = Server::start(config(disks.clone(), vec![], Some(ready.clone()))).await;
    let ready: ReadyFile =
        serde_json::from_slice(&fs::read(&ready).expect("ready file")).expect("json");
    assert_eq!(ready.addr, server.addr);
    assert_eq!(ready.pid, std::process::id());

    let status = server.status().await.expect("status");
    assert_eq!(status.cluster_id, CLUSTER);
    assert_eq!(status.disks.len(), 2);
    assert!(status
        .disks
        .iter()
        .all(|d| d.state == DiskState::Healthy && d.capacity_bytes > 0));
    let ids = server.disk_ids().await;
    assert_ne!(ids[0], ids[1]);

    let c = client();
    let (a, b) = (random_chunk(), random_chunk());
    let data_a = random_bytes(3 * BLOCK + 1234);
    let data_b = random_bytes(10);
    let put = c
        .put_chunk(&server.addr, &ids[0], &a, &digest(&data_a), data_a.clone())
        .await
        .expect("put a");
    assert_eq!(put.length, data_a.len() as u64);
    assert_eq!(put.blake3, digest(&data_a));
    c.put_chunk(&server.addr, &ids[1], &b, &digest(&data_b), data_b.clone())
        .await
        .expect("put b");
    assert!(chunk_file(&disks[0], &a).is_file());

    let got = c
        .get_chunk(&server.addr, &ids[0], &a, None, None)
        .await
        .expect("get a");
    assert_eq!(got, data_a);
    let got = c
        .get_chunk(
            &server.addr,
            &ids[0],
            &a,
            Some((70_000, 100_000)),
            Some(&digest(&data_a)),
        )
        .await;
    assert_eq!(got.expect("range"), data_a.slice(70_000..170_000));
    let got = c
        .get_chunk(&server.addr, &ids[1], &b, Some((10, 0)), None)
        .await
        .expect("empty range");
    assert!(got.is_empty());

    // Idempotent put: same digest succeeds without rewriting the file.
    let before = fs::metadata(chunk_file(&disks[0], &a))
        .expect("stat")
        .modified()
        .expect("mtime");
    c.put_chunk(&server.addr, &ids[0], &a, &digest(&data_a), data_a.clone())
        .await
        .expect("put again");
    let after = fs::metadata(chunk_file(&disks[0], &a))
        .expect("stat")
        .modified()
        .expect("mtime");
    assert_eq!(before, after);

    let status = server.status().await.expect("status");
    assert_eq!(status.disks[0].chunk_count, 1);
    assert!(status.disks[0].used_bytes > data_a.len() as u64);
    assert_eq!(status.disks[1].chunk_count, 1);

    c.delete_chunk(&server.addr, &ids[0], &a)
        .await
        .expect("delete");
    c.delete_chunk(&server.addr, &ids[0], &a)
        .await
        .expect("delete of a missing chunk is OK");
    let err = c
        .get_chunk(&server.addr, &ids[0], &a, None, None)
        .await
        .expect_err("gone");
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
    let status = server.status().await.expect("status");
    assert_eq!(
        (status.disks[0].chunk_count, status.disks[0].used_bytes),
        (0, 0)
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_requests_get_typed_errors() {
    let root = tempfile::tempdir().expect("tempdir");
    let server = Server::start(config(vec![root.path().join("d0")], vec![], None)).await;
    let disk = server.disk_ids().await.remove(0);
    let c = client();
    let chunk = random_chunk();
    let data = random_bytes(1000);

    let wrong = digest(b"something else");
    let r = c
        .put_chunk(&server.addr, &disk, &chunk, &wrong, data.clone())
        .await;
    assert_eq!(code(r), Some(ErrorCode::DigestMismatch));
    assert!(
        !chunk_file(&root.path().join("d0"), &chunk).exists(),
        "nothing written on mismatch"
    );

    let r = c
        .put_chunk(&server.addr, &disk, &chunk, "not-hex", data.clone())
        .await;
    assert_eq!(code(r), Some(ErrorCode::InvalidArgument));
    let bad_id = ChunkId("XYZ".into());
    let r = c
        .put_chunk(&server.addr, &disk, &bad_id, &digest(&data), data.clone())
        .await;
    assert_eq!(code(r), Some(ErrorCode::InvalidArgument));
    let r = c
        .get_chunk(
            &server.addr,
            &DiskId("no-such-disk".into()),
            &chunk,
            None,
            None,
        )
        .await;
    assert_eq!(code(r), Some(ErrorCode::NotFound));
    let r = c
        .get_chunk(&server.addr, &DiskId("BAD_ID".into()), &chunk, None, None)
        .await;
    assert_eq!(code(r), Some(ErrorCode::InvalidArgument));

    c.put_chunk(&server.addr, &disk, &chunk, &digest(&data), data.clone())
        .await
        .expect("put");
    let r = c
        .get_chunk(&server.addr, &disk, &chunk, Some((900, 101)), None)
        .await;
    assert_eq!(code(r), Some(ErrorCode::InvalidArgument));
    let r = c
        .get_chunk(&server.addr, &disk, &chunk, None, Some(&wrong))
        .await;
    assert_eq!(code(r), Some(ErrorCode::Corrupt));
    let other = random_bytes(1000);
    let r = c
        .put_chunk(&server.addr, &disk, &chunk, &digest(&other), other)
        .await;
    assert_eq!(
        code(r),
        Some(ErrorCode::InvalidArgument),
        "a stored chunk is never replaced by other content"
    );
    assert_eq!(
        c.get_chunk(&server.addr, &disk, &chunk, None, None)
            .await
            .expect("still there"),
        data
    );
    server.stop().await;
}

#[tokio::test]
async fn wrong_secret_or_cluster_is_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let server = Server::start(config(vec![root.path().join("d0")], vec![], None)).await;
    let disk = server.disk_ids().await.remove(0);
    let chunk = random_chunk();
    let data = random_bytes(100);

    let stranger = client_with(ClusterSettings {
        cluster_id: CLUSTER.into(),
        secret: "guess".into(),
    });
    let err = stranger
        .put_chunk(&server.addr, &disk, &chunk, &digest(&data), data.clone())
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    let err = stranger
        .get_chunk(&server.addr, &disk, &chunk, None, None)
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));

    let foreign = client_with(ClusterSettings {
        cluster_id: "other".into(),
        secret: SECRET.into(),
    });
    let err = foreign
        .delete_chunk(&server.addr, &disk, &chunk)
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Some(ErrorCode::WrongCluster));
    assert!(!chunk_file(&root.path().join("d0"), &chunk).exists());
    server.stop().await;
}

#[tokio::test]
async fn corrupt_replicas_are_quarantined_on_read_and_a_new_put_repairs_them() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("d0");
    let server = Server::start(config(vec![dir.clone()], vec![], None)).await;
    let disk = server.disk_ids().await.remove(0);
    let c = client();
    let chunk = random_chunk();
    let data = random_bytes(3 * BLOCK);
    c.put_chunk(&server.addr, &disk, &chunk, &digest(&data), data.clone())
        .await
        .expect("put");

    let path = chunk_file(&dir, &chunk);
    let mut bytes = fs::read(&path).expect("read chunk file");
    let header_len = bytes.len() - data.len();
    bytes[header_len + BLOCK + 17] ^= 0x40;
    fs::write(&path, &bytes).expect("corrupt it");

    let ok = c
        .get_chunk(&server.addr, &disk, &chunk, Some((0, 100)), None)
        .await
        .expect("untouched block");
    assert_eq!(ok, data.slice(0..100));
    assert!(path.exists(), "a read that verifies moves nothing");
    let err = c
        .get_chunk(&server.addr, &disk, &chunk, Some((BLOCK as u64, 10)), None)
        .await
        .expect_err("corrupt");
    assert_eq!(err.code(), Some(ErrorCode::Corrupt));
    assert!(!path.exists(), "the corrupt replica was moved aside");
    assert_eq!(quarantined(&dir).len(), 1);
    let err = c
        .get_chunk(&server.addr, &disk, &chunk, None, None)
        .await
        .expect_err("gone");
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
    let status = server.status().await.expect("status");
    assert_eq!(status.disks[0].chunk_count, 0);
    assert_eq!(status.disks[0].health.corrupt_replicas, 1);

    c.put_chunk(&server.addr, &disk, &chunk, &digest(&data), data.clone())
        .await
        .expect("re-put repairs");
    assert_eq!(
        c.get_chunk(&server.addr, &disk, &chunk, None, None)
            .await
            .expect("repaired"),
        data
    );

    bytes[10] ^= 1; // the header: every read fails now
    fs::write(&path, &bytes).expect("corrupt header");
    let err = c
        .get_chunk(&server.addr, &disk, &chunk, Some((0, 100)), None)
        .await
        .expect_err("corrupt header");
    assert_eq!(err.code(), Some(ErrorCode::Corrupt));
    assert_eq!(quarantined(&dir).len(), 2, "quarantined files are kept");
    // A put over a corrupt replica sets the bad one aside first.
    c.put_chunk(&server.addr, &disk, &chunk, &digest(&data), data.clone())
        .await
        .expect("re-put");
    fs::write(&path, &bytes[..100]).expect("truncate");
    c.put_chunk(&server.addr, &disk, &chunk, &digest(&data), data.clone())
        .await
        .expect("put over a truncated replica");
    assert_eq!(quarantined(&dir).len(), 3);
    assert_eq!(
        server.status().await.expect("status").disks[0].chunk_count,
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn foreign_and_unknown_directories_are_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let good = root.path().join("good");
    let foreign = root.path().join("foreign");
    let unknown = root.path().join("unknown");
    fs::create_dir(&foreign).expect("mkdir");
    let identity =
        r#"{"format_version":1,"cluster_id":"other","chunkserver_id":1,"disk_id":"abc"}"#;
    fs::write(foreign.join(IDENTITY_FILE), identity).expect("write identity");
    fs::create_dir(&unknown).expect("mkdir");
    fs::write(unknown.join("family-photos.jpg"), b"precious").expect("write");

    let server = Server::start(config(
        vec![good, foreign.clone(), unknown.clone()],
        vec![],
        None,
    ))
    .await;
    let status = server.status().await.expect("status");
    let states: Vec<_> = status.disks.iter().map(|d| d.state).collect();
    assert_eq!(
        states,
        vec![DiskState::Healthy, DiskState::Offline, DiskState::Offline]
    );
    assert_eq!(
        fs::read_dir(&foreign).expect("ls").count(),
        1,
        "foreign disk untouched"
    );
    assert_eq!(
        fs::read_dir(&unknown).expect("ls").count(),
        1,
        "unknown directory untouched"
    );

    let data = random_bytes(10);
    let offline = status.disks[1].disk_id.clone();
    let err = client()
        .put_chunk(
            &server.addr,
            &offline,
            &random_chunk(),
            &digest(&data),
            data,
        )
        .await
        .expect_err("offline disk");
    assert_eq!(err.code(), Some(ErrorCode::DiskUnavailable));
    server.stop().await;
}

#[tokio::test]
async fn restart_keeps_disk_ids_and_chunks() {
    let root = tempfile::tempdir().expect("tempdir");
    let disks = vec![root.path().join("d0"), root.path().join("d1")];
    let server = Server::start(config(disks.clone(), vec![], None)).await;
    let ids = server.disk_ids().await;
    let chunk = random_chunk();
    let data = random_bytes(BLOCK + 1);
    client()
        .put_chunk(&server.addr, &ids[1], &chunk, &digest(&data), data.clone())
        .await
        .expect("put");
    let used = server.status().await.expect("status").disks[1].used_bytes;
    server.stop().await;

    let server = Server::start(config(disks, vec![], None)).await;
    assert_eq!(server.disk_ids().await, ids);
    let status = server.status().await.expect("status");
    assert_eq!(
        (status.disks[1].chunk_count, status.disks[1].used_bytes),
        (1, used)
    );
    let got = client()
        .get_chunk(&server.addr, &ids[1], &chunk, None, Some(&digest(&data)))
        .await;
    assert_eq!(got.expect("get after restart"), data);
    server.stop().await;
}

#[tokio::test]
async fn oversized_put_is_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let server = Server::start(config(vec![root.path().join("d0")], vec![], None)).await;
    let disk = server.disk_ids().await.remove(0);
    let data = bytes::Bytes::from(vec![7u8; trireme_chunkserver::http::MAX_CHUNK_BYTES + 1]);
    let chunk = random_chunk();
    let err = client()
        .put_chunk(&server.addr, &disk, &chunk, &digest(&data), data)
        .await
        .expect_err("too big");
    assert!(
        matches!(err.code(), Some(ErrorCode::InvalidArgument) | None),
        "{err}"
    );
    assert!(!chunk_file(&root.path().join("d0"), &chunk).exists());
    server.stop().await;
}
