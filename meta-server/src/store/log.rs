//! The Raft log in RocksDB ([`openraft::storage::RaftLogStorage`]). Every append, vote, truncate
//! and purge is written with `sync = true` before it is acknowledged.

use super::keys::*;
use super::{cf, decode, StoreError};
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};
use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{OptionalSend, RaftLogId, StorageIOError};
use rocksdb::{Direction, IteratorMode, WriteBatch, WriteOptions, DB};
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

#[derive(Clone)]
pub struct LogStore {
    db: Arc<DB>,
}

fn synced() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::read_logs(&e).into()
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_logs(&e).into()
}

impl LogStore {
    pub fn new(db: Arc<DB>) -> Self {
        LogStore { db }
    }

    fn get_meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        let cf = cf(&self.db, CF_RAFT)?;
        match self.db.get_cf(cf, key)? {
            Some(v) => Ok(Some(decode(CF_RAFT, &v)?)),
            None => Ok(None),
        }
    }

    fn put_meta<T: serde::Serialize>(&self, key: &[u8], value: &T) -> Result<(), StoreError> {
        let cf = cf(&self.db, CF_RAFT)?;
        self.db
            .put_cf_opt(cf, key, serde_json::to_vec(value)?, &synced())?;
        Ok(())
    }

    fn last_entry(&self) -> Result<Option<Entry>, StoreError> {
        let cf = cf(&self.db, CF_LOGS)?;
        let mut it = self.db.iterator_cf(cf, IteratorMode::End);
        match it.next() {
            Some(item) => {
                let (_, v) = item?;
                Ok(Some(decode(CF_LOGS, &v)?))
            }
            None => Ok(None),
        }
    }

    fn read_range(&self, start: u64, end_inclusive: Option<u64>) -> Result<Vec<Entry>, StoreError> {
        let cf = cf(&self.db, CF_LOGS)?;
        let from = log_key(start);
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(&from, Direction::Forward))
        {
            let (k, v) = item?;
            let Some(idx) = log_index(&k) else {
                return Err(StoreError::Corrupt {
                    cf: CF_LOGS,
                    message: "bad log key".into(),
                });
            };
            if end_inclusive.is_some_and(|e| idx > e) {
                break;
            }
            out.push(decode(CF_LOGS, &v)?);
        }
        Ok(out)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(x) => *x,
            Bound::Excluded(x) => x.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(x) => Some(*x),
            Bound::Excluded(0) => return Ok(Vec::new()),
            Bound::Excluded(x) => Some(*x - 1),
            Bound::Unbounded => None,
        };
        self.read_range(start, end).map_err(read_err)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged: Option<LogId> = self.get_meta(KEY_LAST_PURGED).map_err(read_err)?;
        let last = self
            .last_entry()
            .map_err(read_err)?
            .map(|e| *e.get_log_id());
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last.or(last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.put_meta(KEY_VOTE, vote)
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.get_meta(KEY_VOTE)
            .map_err(|e| StorageIOError::read_vote(&e).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.put_meta(KEY_COMMITTED, &committed).map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self
            .get_meta::<Option<LogId>>(KEY_COMMITTED)
            .map_err(read_err)?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let result = (|| -> Result<(), StoreError> {
            let cf = cf(&self.db, CF_LOGS)?;
            let mut batch = WriteBatch::default();
            for entry in entries {
                batch.put_cf(
                    cf,
                    log_key(entry.get_log_id().index),
                    serde_json::to_vec(&entry)?,
                );
            }
            self.db.write_opt(batch, &synced())?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let r = (|| -> Result<(), StoreError> {
            let cf = cf(&self.db, CF_LOGS)?;
            let mut batch = WriteBatch::default();
            batch.delete_range_cf(cf, log_key(log_id.index), log_key(u64::MAX));
            batch.delete_cf(cf, log_key(u64::MAX));
            self.db.write_opt(batch, &synced())?;
            Ok(())
        })();
        r.map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let r = (|| -> Result<(), StoreError> {
            let logs = cf(&self.db, CF_LOGS)?;
            let raft = cf(&self.db, CF_RAFT)?;
            let mut batch = WriteBatch::default();
            batch.put_cf(raft, KEY_LAST_PURGED, serde_json::to_vec(&log_id)?);
            batch.delete_range_cf(logs, log_key(0), log_key(log_id.index.saturating_add(1)));
            // Synced: this also makes every earlier (unsynced) state-machine write durable
            // before the log entries that could replay it are gone.
            self.db.write_opt(batch, &synced())?;
            Ok(())
        })();
        r.map_err(write_err)
    }
}
