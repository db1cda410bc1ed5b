//! Chunk files of format version 1 (written before the single-pass hashing) are still read,
//! verified, scrubbed and served to pulls; new writes are version 2. And PUT bodies must match
//! their Content-Length exactly, or nothing is stored.

mod common;

use common::fake_meta::FakeMeta;
use common::*;
use std::fs;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trireme_api::auth::{CLUSTER_HEADER, SECRET_HEADER};
use trireme_api::chunk::{chunk_path, PullChunk, PullSource, VerifyChunk, BLAKE3_HEADER};
use trireme_api::durability::ScrubControl;
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::ErrorCode;
use trireme_chunkserver::chunk_file::{ChunkHeader, FORMAT_V1};

const BLOCK: usize = 64 * 1024;

/// Writes `data` as a version-1 chunk file, as the old encoder did: each block's digest is
/// `blake3::hash(block)`.
fn write_v1(disk_dir: &Path, chunk: &ChunkId, data: &[u8]) {
    let header = ChunkHeader {
        version: FORMAT_V1,
        chunk_id: u128::from_str_radix(&chunk.0, 16).expect("hex id"),
        data_len: data.len() as u64,
        block_size: BLOCK as u32,
        block_digests: data
            .chunks(BLOCK)
            .map(|b| *blake3::hash(b).as_bytes())
            .collect(),
        whole: *blake3::hash(data).as_bytes(),
    };
    let path = chunk_file(disk_dir, chunk);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut bytes = header.encode();
    bytes.extend_from_slice(data);
    fs::write(path, bytes).expect("write v1 file");
}

fn version_of(path: &Path) -> u32 {
    let bytes = fs::read(path).expect("read");
    u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"))
}

#[tokio::test]
async fn version_1_chunks_are_read_verified_scrubbed_and_pulled() {
    let paused = ScrubControl {
        running: false,
        epoch: 0,
    };
    let meta = FakeMeta::start(&[("scrub.bandwidth_mib", "1000")], paused).await;
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("d0");
    let server = Server::start(config(vec![dir.clone()], vec![meta.addr.clone()], None)).await;
    let disk = server.disk_ids().await.remove(0);
    let c = client();

    let lengths = [1, 1000, BLOCK, BLOCK + 1, 3 * BLOCK + 5, 1 << 20];
    let chunks: Vec<(ChunkId, bytes::Bytes)> = lengths
        .iter()
        .map(|len| (random_chunk(), random_bytes(*len)))
        .collect();
    for (chunk, data) in &chunks {
        write_v1(&dir, chunk, data);
        assert_eq!(version_of(&chunk_file(&dir, chunk)), 1);
    }
    for (chunk, data) in &chunks {
        let whole = c
            .get_chunk(&server.addr, &disk, chunk, None, Some(&digest(data)))
            .await
            .expect("whole v1 chunk");
        assert_eq!(whole, *data);
        let (offset, length) = (data.len() as u64 / 3, data.len() as u64 / 2);
        let range = c
            .get_chunk(&server.addr, &disk, chunk, Some((offset, length)), None)
            .await
            .expect("range of a v1 chunk");
        assert_eq!(range, data[offset as usize..(offset + length) as usize]);
        let verify = VerifyChunk {
            disk: disk.clone(),
            chunk: chunk.clone(),
            blake3: Some(digest(data)),
        };
        let verified = c.transport().call(&server.addr, &verify).await;
        assert!(verified.expect("verify").ok);
        // A put of the same content finds the intact v1 replica and leaves it alone.
        c.put_chunk(&server.addr, &disk, chunk, &digest(data), data.clone())
            .await
            .expect("put over an intact v1 replica");
        assert_eq!(version_of(&chunk_file(&dir, chunk)), 1);
    }

    meta.set_scrub(true, 1);
    wait_until("a scrub pass completes", || async {
        meta.scrub().last_pass_epoch == Some(1)
    })
    .await;
    let progress = meta.scrub();
    assert_eq!((progress.verified_total, progress.bad_found), (6, 0));
    assert!(meta.reports().is_empty());

    // A pull copies a v1 replica; the copy is written as version 2.
    let target_dir = root.path().join("t0");
    let target = Server::start(config(vec![target_dir.clone()], vec![], None)).await;
    let tdisk = target.disk_ids().await.remove(0);
    let (chunk, data) = &chunks[4];
    let pull = PullChunk {
        disk: tdisk.clone(),
        chunk: chunk.clone(),
        length: data.len() as u64,
        blake3: digest(data),
        sources: vec![PullSource {
            addr: server.addr.clone(),
            disk: disk.clone(),
        }],
    };
    c.transport()
        .call(&target.addr, &pull)
        .await
        .expect("pull a v1 replica");
    assert_eq!(version_of(&chunk_file(&target_dir, chunk)), 2);
    let copy = c
        .get_chunk(&target.addr, &tdisk, chunk, None, Some(&digest(data)))
        .await
        .expect("read the copy");
    assert_eq!(copy, *data);

    // A flipped byte in a v1 replica is caught by the read of its block, and quarantined.
    let (chunk, data) = &chunks[5];
    let path = chunk_file(&dir, chunk);
    let mut bytes = fs::read(&path).expect("read");
    let at = bytes.len() - data.len() + 2 * BLOCK + 7;
    bytes[at] ^= 0x40;
    fs::write(&path, bytes).expect("corrupt");
    let ok = c
        .get_chunk(&server.addr, &disk, chunk, Some((0, BLOCK as u64)), None)
        .await
        .expect("an untouched block still reads");
    assert_eq!(ok, data[..BLOCK]);
    let err = c
        .get_chunk(
            &server.addr,
            &disk,
            chunk,
            Some((2 * BLOCK as u64, 10)),
            None,
        )
        .await
        .expect_err("the flipped block");
    assert_eq!(err.code(), Some(ErrorCode::Corrupt), "{err}");
    assert!(!path.exists(), "quarantined");

    target.stop().await;
    server.stop().await;
}

/// Sends a raw PUT of a chunk (headers `extra` plus the cluster's) followed by `body`, then
/// closes the sending side, and returns the response's status line and body.
async fn raw_put(addr: &str, disk: &DiskId, chunk: &ChunkId, extra: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PUT {} HTTP/1.1\r\nhost: {addr}\r\n{SECRET_HEADER}: {SECRET}\r\n\
         {CLUSTER_HEADER}: {CLUSTER}\r\n{BLAKE3_HEADER}: {}\r\nconnection: close\r\n{extra}\r\n",
        chunk_path(disk, chunk),
        digest(b"whatever"),
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(body).await.expect("body");
    stream.shutdown().await.expect("shutdown");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn put_bodies_must_match_their_content_length() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("d0");
    let server = Server::start(config(vec![dir.clone()], vec![], None)).await;
    let disk = server.disk_ids().await.remove(0);

    let chunk = random_chunk();
    let chunked = "transfer-encoding: chunked\r\n";
    let response = raw_put(
        &server.addr,
        &disk,
        &chunk,
        chunked,
        b"5\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("Content-Length"), "{response}");

    let short = "content-length: 100\r\n";
    let response = raw_put(&server.addr, &disk, &chunk, short, &[7; 60]).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("cannot read chunk body"), "{response}");

    let huge = format!(
        "content-length: {}\r\n",
        trireme_chunkserver::http::MAX_CHUNK_BYTES + 1
    );
    let response = raw_put(&server.addr, &disk, &chunk, &huge, &[7; 1000]).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("larger than the limit"), "{response}");

    assert!(!chunk_file(&dir, &chunk).exists());
    let status = server.status().await.expect("status");
    assert_eq!(status.disks[0].chunk_count, 0);
    assert!(fs::read_dir(dir.join("tmp")).expect("tmp").next().is_none());
    server.stop().await;
}
