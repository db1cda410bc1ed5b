//! Snapshots of the state machine: a versioned binary dump of its column families.
//!
//! Format: magic `TRSNAP01`, then records `[cf index u8][key len u32 LE][key][value len u32
//! LE][value]`, then the end marker byte 0xFF. The last built or installed snapshot is kept in
//! a file in the database directory (`snapshot_file.rs`) so it survives restarts and can be sent to a
//! lagging follower.

use super::keys::*;
use super::{cf, decode, StoreError};
use crate::types::{LogId, SnapshotMeta, StoredMembership};
use rocksdb::{IteratorMode, WriteBatch, WriteOptions, DB};
use std::io::{Read, Write};

const MAGIC: &[u8; 8] = b"TRSNAP01";
const END: u8 = 0xFF;

/// The applied log id and membership recorded by the state machine.
pub fn applied_state(db: &DB) -> Result<(Option<LogId>, StoredMembership), StoreError> {
    let meta = cf(db, CF_SM_META)?;
    let applied = match db.get_cf(meta, KEY_LAST_APPLIED)? {
        Some(v) => decode(CF_SM_META, &v)?,
        None => None,
    };
    let membership = match db.get_cf(meta, KEY_MEMBERSHIP)? {
        Some(v) => decode(CF_SM_META, &v)?,
        None => StoredMembership::default(),
    };
    Ok((applied, membership))
}

/// Dumps the state machine as it is now.
pub fn dump(db: &DB) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(4096);
    dump_to(db, &mut out)?;
    Ok(out)
}

/// Streams the dump of the state machine into `out`.
pub fn dump_to(db: &DB, out: &mut dyn Write) -> Result<(), StoreError> {
    out.write_all(MAGIC)?;
    for (i, name) in SM_DATA_CFS.iter().enumerate() {
        for item in db.iterator_cf(cf(db, name)?, IteratorMode::Start) {
            let (k, v) = item?;
            out.write_all(&[i as u8])?;
            out.write_all(&(k.len() as u32).to_le_bytes())?;
            out.write_all(&k)?;
            out.write_all(&(v.len() as u32).to_le_bytes())?;
            out.write_all(&v)?;
        }
    }
    out.write_all(&[END])?;
    Ok(())
}

fn corrupt(message: &str) -> StoreError {
    StoreError::Corrupt {
        cf: CF_SNAPSHOT,
        message: message.to_string(),
    }
}

/// Reads a dump as a stream, copying every byte it reads to `copy`.
struct Tee<'a> {
    data: &'a mut dyn Read,
    copy: &'a mut dyn Write,
}

impl Tee<'_> {
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, StoreError> {
        // Grows with what arrives: a garbled length cannot make it allocate gigabytes.
        let mut out = Vec::with_capacity(n.min(1 << 20));
        (&mut *self.data).take(n as u64).read_to_end(&mut out)?;
        if out.len() != n {
            return Err(corrupt("truncated"));
        }
        self.copy.write_all(&out)?;
        Ok(out)
    }

    fn u32(&mut self) -> Result<usize, StoreError> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
}

/// Replaces the state machine with the snapshot's contents, atomically and durably.
#[cfg(test)]
pub fn install(
    db: &DB,
    dir: &super::snapshot_file::SnapDir,
    meta: &SnapshotMeta,
    data: &[u8],
) -> Result<(), StoreError> {
    install_from(db, meta, &mut &data[..], &mut std::io::sink())?;
    super::snapshot_file::save(dir, meta, data)
}

/// Replaces the state machine with the dump read from `data`, atomically and durably; every
/// byte read is also written to `copy` (the new snapshot file), so a received snapshot is
/// read once and never held in memory but as the write batch.
pub fn install_from(
    db: &DB,
    meta: &SnapshotMeta,
    data: &mut dyn Read,
    copy: &mut dyn Write,
) -> Result<(), StoreError> {
    let mut batch = WriteBatch::default();
    for name in SM_DATA_CFS {
        let handle = cf(db, name)?;
        for item in db.iterator_cf(handle, IteratorMode::Start) {
            let (k, _) = item?;
            batch.delete_cf(handle, k);
        }
    }
    let mut c = Tee { data, copy };
    if c.bytes(MAGIC.len())? != MAGIC {
        return Err(corrupt("bad magic"));
    }
    loop {
        let tag = c.bytes(1)?[0];
        if tag == END {
            break;
        }
        let name = SM_DATA_CFS
            .get(tag as usize)
            .ok_or_else(|| corrupt("bad column family index"))?;
        let klen = c.u32()?;
        let k = c.bytes(klen)?;
        let vlen = c.u32()?;
        let v = c.bytes(vlen)?;
        batch.put_cf(cf(db, name)?, k, v);
    }
    let sm_meta = cf(db, CF_SM_META)?;
    batch.put_cf(
        sm_meta,
        KEY_LAST_APPLIED,
        serde_json::to_vec(&meta.last_log_id)?,
    );
    batch.put_cf(
        sm_meta,
        KEY_MEMBERSHIP,
        serde_json::to_vec(&meta.last_membership)?,
    );
    // Snapshots carry the chunk index (its column families are state machine data).
    batch.put_cf(sm_meta, KEY_CHUNK_INDEX, b"1");
    batch.delete_cf(cf(db, CF_SNAPSHOT)?, KEY_CURRENT_SNAPSHOT);
    let mut w = WriteOptions::default();
    w.set_sync(true);
    db.write_opt(batch, &w)?;
    Ok(())
}
