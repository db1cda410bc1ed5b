//! RocksDB storage for the Raft log and the state machine: one database, one column family
//! per table (see [`keys`]). Log appends, votes and purges are written with `sync`; applies are
//! not (they are replayed from the log after a crash, and any later synced write makes them
//! durable too, since RocksDB has one write-ahead log).

pub mod apply;
pub mod apply_admin;
pub mod apply_durability;
pub mod apply_multipart;
pub mod apply_ops;
pub mod apply_swap;
pub mod chunks;
pub mod keys;
pub mod log;
pub mod read;
pub mod read_multipart;
pub mod read_refs;
pub mod records;
pub mod sm;
pub mod snapshot;
pub mod snapshot_data;
pub mod snapshot_file;

use rocksdb::{ColumnFamilyDescriptor, Options, DB};
use std::path::Path;
use std::sync::Arc;

pub use log::LogStore;
pub use sm::StateMachineStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("missing column family {0}")]
    MissingCf(&'static str),
    #[error("corrupt record in {cf}: {message}")]
    Corrupt { cf: &'static str, message: String },
    #[error("encode: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("snapshot file: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens (creating if needed) the meta-server database.
pub fn open_db(path: &Path) -> Result<Arc<DB>, StoreError> {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    let cfs = keys::ALL_CFS
        .iter()
        .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
    let db = DB::open_cf_descriptors(&opts, path, cfs)?;
    Ok(Arc::new(db))
}

/// The column family handle `name`, which `open_db` always creates.
pub fn cf<'a>(db: &'a DB, name: &'static str) -> Result<&'a rocksdb::ColumnFamily, StoreError> {
    db.cf_handle(name).ok_or(StoreError::MissingCf(name))
}

/// Opens the log store and state machine over one database.
pub fn open(path: &Path) -> Result<(Arc<DB>, LogStore, StateMachineStore), StoreError> {
    let db = open_db(path)?;
    let log = LogStore::new(db.clone());
    let sm = StateMachineStore::new(db.clone())?;
    chunks::ensure_index(&sm.reader())?;
    Ok((db, log, sm))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    cf: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        cf,
        message: e.to_string(),
    })
}
