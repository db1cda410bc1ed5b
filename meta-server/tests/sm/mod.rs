//! Shared helpers for tests that drive the state machine directly (no Raft): a fresh
//! database with one bucket, applying a command, and replica names.
#![allow(dead_code)]

use rocksdb::WriteBatch;
use trireme_api::ids::DiskId;
use trireme_api::object::Replica;
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
