//! Shared helpers for tests that drive the state machine directly (no Raft): a fresh
//! database with one bucket, applying a command, and replica names.
#![allow(dead_code)]

use rocksdb::WriteBatch;
use std::collections::BTreeMap;
use trireme_api::ids::ChunkId;
use trireme_api::ids::DiskId;
use trireme_api::object::Replica;
use trireme_api::object::{ChunkRef, ObjectRecord};
use trireme_meta::store::apply::apply_command;
use trireme_meta::store::read::Reader;
use trireme_meta::types::{Command, CommandResult};

/// Applies one command as the state machine would (one batch) and returns its result.
pub fn apply(r: &Reader, cmd: Command) -> CommandResult {
    let mut batch = WriteBatch::default();
    let res = apply_command(r, &mut batch, cmd).expect("apply");
    r.db().write(batch).expect("write");
    res
}

/// A fresh database holding bucket "b".
pub fn fresh() -> (tempfile::TempDir, Reader) {
    let dir = tempfile::TempDir::new().expect("tmp");
    let r = Reader::new(trireme_meta::store::open_db(dir.path()).expect("db"));
    apply(
        &r,
        Command::CreateBucket {
            name: "b".into(),
            owner: "o".into(),
            created_ms: 0,
        },
    );
    (dir, r)
}

/// The replica on chunkserver `cs`'s disk "d{cs}".
pub fn rep(cs: u64) -> Replica {
    Replica {
        chunkserver: cs,
        disk: DiskId(format!("d{cs}")),
    }
}

/// Commits object `key` in bucket "b" whose chunks are `(id, replicas on chunkservers)`, each
/// `length` bytes, replicas on disks "d{cs}".
pub fn put_chunks(r: &Reader, key: &str, length: u64, chunks: &[(u128, &[u64])]) {
    let chunks: Vec<ChunkRef> = chunks
        .iter()
        .map(|(id, cs)| ChunkRef {
            id: ChunkId::from_u128(*id),
            length,
            blake3: "00".into(),
            replicas: cs.iter().map(|c| rep(*c)).collect(),
        })
        .collect();
    let object = record(length * chunks.len() as u64, "e", chunks);
    apply(
        r,
        Command::PutObject {
            bucket: "b".into(),
            key: key.into(),
            object,
            condition: None,
        },
    );
}

/// An object record of `size` bytes with `etag` and `chunks`, and nothing else set.
pub fn record(size: u64, etag: &str, chunks: Vec<ChunkRef>) -> ObjectRecord {
    ObjectRecord {
        size,
        etag: etag.into(),
        last_modified_ms: 0,
        content_type: None,
        headers: BTreeMap::new(),
        user_metadata: BTreeMap::new(),
        checksums: BTreeMap::new(),
        chunks,
        part_sizes: vec![],
        inline: None,
    }
}
