//! The state machine ([`openraft::storage::RaftStateMachine`]) over RocksDB.

use super::apply::apply_command;
use super::keys::*;
use super::read::Reader;
use super::snapshot;
use super::snapshot_data::SnapshotData;
use super::snapshot_file::{self, Captured, SnapDir};
use super::{cf, StoreError};
use crate::types::{
    Command, CommandResult, Entry, LogId, Snapshot, SnapshotMeta, StorageError, StoredMembership,
    TypeConfig,
};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftLogId, StorageIOError};
use rocksdb::{WriteBatch, DB};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct StateMachineStore {
    db: Arc<DB>,
    reader: Reader,
    snapshot_seq: Arc<AtomicU64>,
    snapshots: SnapDir,
}

fn sm_read_err(e: StoreError) -> StorageError {
    StorageIOError::read_state_machine(&e).into()
}

fn sm_write_err(e: StoreError) -> StorageError {
    StorageIOError::write_state_machine(&e).into()
}

impl StateMachineStore {
    pub fn new(db: Arc<DB>) -> Result<Self, StoreError> {
        Ok(StateMachineStore {
            reader: Reader::new(db.clone()),
            snapshots: SnapDir::open(db.path())?,
            db,
            snapshot_seq: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn reader(&self) -> Reader {
        self.reader.clone()
    }

    fn apply_one(&self, entry: Entry) -> Result<CommandResult, StoreError> {
        let log_id = *entry.get_log_id();
        let meta = cf(&self.db, CF_SM_META)?;
        if let EntryPayload::Normal(Command::Batch { commands }) = entry.payload {
            return self.apply_batch(log_id, commands);
        }
        let mut batch = WriteBatch::default();
        let result = match entry.payload {
            EntryPayload::Blank => CommandResult::Done,
            EntryPayload::Normal(cmd) => apply_command(&self.reader, &mut batch, cmd)?,
            EntryPayload::Membership(m) => {
                let stored = StoredMembership::new(Some(log_id), m);
                batch.put_cf(meta, KEY_MEMBERSHIP, serde_json::to_vec(&stored)?);
                CommandResult::Done
            }
        };
        batch.put_cf(meta, KEY_LAST_APPLIED, serde_json::to_vec(&Some(log_id))?);
        self.db.write(batch)?;
        Ok(result)
    }

    /// Applies a group-commit entry one command at a time, so each reads the effects of the
    /// ones before it. Each command's writes go in one RocksDB batch with the progress marker
    /// (the last one's also with `last_applied`): after a crash in the middle, the entry is
    /// applied again from the first command whose batch did not survive.
    fn apply_batch(
        &self,
        log_id: LogId,
        commands: Vec<Command>,
    ) -> Result<CommandResult, StoreError> {
        let meta = cf(&self.db, CF_SM_META)?;
        let done = match self.db.get_cf(meta, KEY_BATCH_PROGRESS)? {
            Some(v) => match serde_json::from_slice::<(LogId, usize)>(&v)? {
                (id, n) if id == log_id => n,
                _ => 0,
            },
            None => 0,
        };
        let n = commands.len();
        let mut results = Vec::with_capacity(n);
        if n == 0 {
            let mut batch = WriteBatch::default();
            batch.put_cf(meta, KEY_LAST_APPLIED, serde_json::to_vec(&Some(log_id))?);
            self.db.write(batch)?;
        }
        for (i, cmd) in commands.into_iter().enumerate() {
            if i < done {
                // Applied before a restart; whoever waited for it is gone.
                results.push(CommandResult::Done);
                continue;
            }
            let mut batch = WriteBatch::default();
            results.push(apply_command(&self.reader, &mut batch, cmd)?);
            batch.put_cf(
                meta,
                KEY_BATCH_PROGRESS,
                serde_json::to_vec(&(log_id, i + 1))?,
            );
            if i + 1 == n {
                batch.put_cf(meta, KEY_LAST_APPLIED, serde_json::to_vec(&Some(log_id))?);
            }
            self.db.write(batch)?;
        }
        Ok(CommandResult::Batch(results))
    }
}

/// Builds a snapshot from a checkpoint taken when the builder was made (on the state machine
/// task, so it is consistent), in openraft's spawned task: applying goes on meanwhile.
pub struct SnapshotBuilder {
    db: Arc<DB>,
    snapshots: SnapDir,
    captured: Option<Result<Captured, String>>,
    seq: u64,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let write_err = |e: &dyn std::error::Error| -> StorageError {
            StorageIOError::write_snapshot(None, &std::io::Error::other(e.to_string())).into()
        };
        let captured = match self.captured.take() {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(write_err(&std::io::Error::other(e))),
            None => return Err(write_err(&std::io::Error::other("snapshot built twice"))),
        };
        let seq = self.seq;
        let dir = self.snapshots.clone();
        let db = self.db.clone();
        let built = tokio::task::spawn_blocking(move || {
            let start = std::time::Instant::now();
            let meta = snapshot_file::build(captured, &dir, |applied, membership| {
                let snapshot_id = match applied {
                    Some(l) => format!(
                        "{}-{}-{}-{}",
                        l.leader_id.term, l.leader_id.node_id, l.index, seq
                    ),
                    None => format!("empty-{seq}"),
                };
                SnapshotMeta {
                    last_log_id: applied,
                    last_membership: membership,
                    snapshot_id,
                }
            })?;
            snapshot_file::forget_legacy(&db)?;
            tracing::info!(
                snapshot = %meta.snapshot_id,
                took_ms = start.elapsed().as_millis() as u64,
                "snapshot built"
            );
            Ok::<_, StoreError>(meta)
        })
        .await
        .map_err(|e| write_err(&std::io::Error::other(e.to_string())))?
        .map_err(|e| write_err(&e))?;
        // openraft keeps only the meta of a built snapshot; the data is read back from the
        // file when a follower needs it.
        let empty = tempfile::tempfile().map_err(|e| write_err(&e))?;
        let snapshot = SnapshotData::new(empty, 0)
            .await
            .map_err(|e| write_err(&e))?;
        Ok(Snapshot {
            meta: built,
            snapshot: Box::new(snapshot),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        snapshot::applied_state(&self.db).map_err(sm_read_err)
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandResult>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        for entry in entries {
            out.push(self.apply_one(entry).map_err(sm_write_err)?);
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let seq = self.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let captured =
            snapshot_file::capture(&self.db, &self.snapshots, seq).map_err(|e| e.to_string());
        SnapshotBuilder {
            db: self.db.clone(),
            snapshots: self.snapshots.clone(),
            captured: Some(captured),
            seq,
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<SnapshotData>, StorageError> {
        let file = self.snapshots.incoming().map_err(sm_write_err)?;
        let data = SnapshotData::new(file, 0)
            .await
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        Ok(Box::new(data))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<SnapshotData>,
    ) -> Result<(), StorageError> {
        let fail = |e: std::io::Error| -> StorageError {
            StorageIOError::write_snapshot(Some(meta.signature()), &e).into()
        };
        let file = snapshot.into_std().await.map_err(fail)?;
        let (db, dir, owned) = (self.db.clone(), self.snapshots.clone(), meta.clone());
        tokio::task::spawn_blocking(move || snapshot_file::install(&db, &dir, &owned, file))
            .await
            .map_err(|e| fail(std::io::Error::other(e.to_string())))?
            .map_err(|e| fail(std::io::Error::other(e.to_string())))
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let current =
            snapshot_file::open_current(&self.db, &self.snapshots).map_err(sm_read_err)?;
        let Some((meta, file, base)) = current else {
            return Ok(None);
        };
        let data = SnapshotData::new(file, base)
            .await
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        Ok(Some(Snapshot {
            meta,
            snapshot: Box::new(data),
        }))
    }
}
