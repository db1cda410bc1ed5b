//! Snapshots of the state machine: a versioned binary dump of its column families.
//!
//! Format: magic `TRSNAP01`, then records `[cf index u8][key len u32 LE][key][value len u32
//! LE][value]`, then the end marker byte 0xFF. The last built or installed snapshot is kept in
//! the `snapshot` column family (meta as JSON, length-prefixed, then the data) so it survives
//! restarts and can be sent to a lagging follower.

use super::keys::*;
use super::{cf, decode, StoreError};
use crate::types::{LogId, SnapshotMeta, StoredMembership};
use rocksdb::{IteratorMode, WriteBatch, WriteOptions, DB};

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
    out.extend_from_slice(MAGIC);
    for (i, name) in SM_DATA_CFS.iter().enumerate() {
        for item in db.iterator_cf(cf(db, name)?, IteratorMode::Start) {
            let (k, v) = item?;
            out.push(i as u8);
            out.extend_from_slice(&(k.len() as u32).to_le_bytes());
            out.extend_from_slice(&k);
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(&v);
        }
    }
    out.push(END);
    Ok(out)
}

fn corrupt(message: &str) -> StoreError {
    StoreError::Corrupt {
        cf: CF_SNAPSHOT,
        message: message.to_string(),
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(|| corrupt("truncated"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<usize, StoreError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
}

/// Replaces the state machine with the snapshot's contents, atomically and durably.
pub fn install(db: &DB, meta: &SnapshotMeta, data: &[u8]) -> Result<(), StoreError> {
    let mut batch = WriteBatch::default();
    for name in SM_DATA_CFS {
        let handle = cf(db, name)?;
        for item in db.iterator_cf(handle, IteratorMode::Start) {
            let (k, _) = item?;
            batch.delete_cf(handle, k);
        }
    }
    let mut c = Cursor { data, pos: 0 };
    if c.take(MAGIC.len())? != MAGIC {
        return Err(corrupt("bad magic"));
    }
    loop {
        let tag = c.take(1)?[0];
        if tag == END {
            break;
        }
        let name = SM_DATA_CFS
            .get(tag as usize)
            .ok_or_else(|| corrupt("bad column family index"))?;
        let klen = c.u32()?;
        let k = c.take(klen)?;
        let vlen = c.u32()?;
        let v = c.take(vlen)?;
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
    put_current_in(db, &mut batch, meta, data)?;
    let mut w = WriteOptions::default();
    w.set_sync(true);
    db.write_opt(batch, &w)?;
    Ok(())
}

fn put_current_in(
    db: &DB,
    batch: &mut WriteBatch,
    meta: &SnapshotMeta,
    data: &[u8],
) -> Result<(), StoreError> {
    let meta_json = serde_json::to_vec(meta)?;
    let mut value = Vec::with_capacity(4 + meta_json.len() + data.len());
    value.extend_from_slice(&(meta_json.len() as u32).to_le_bytes());
    value.extend_from_slice(&meta_json);
    value.extend_from_slice(data);
    batch.put_cf(cf(db, CF_SNAPSHOT)?, KEY_CURRENT_SNAPSHOT, value);
    Ok(())
}

/// Records a freshly built snapshot as the current one.
pub fn save_current(db: &DB, meta: &SnapshotMeta, data: &[u8]) -> Result<(), StoreError> {
    let mut batch = WriteBatch::default();
    put_current_in(db, &mut batch, meta, data)?;
    let mut w = WriteOptions::default();
    w.set_sync(true);
    db.write_opt(batch, &w)?;
    Ok(())
}

/// The current snapshot, if one was built or installed.
pub fn load_current(db: &DB) -> Result<Option<(SnapshotMeta, Vec<u8>)>, StoreError> {
    let Some(value) = db.get_cf(cf(db, CF_SNAPSHOT)?, KEY_CURRENT_SNAPSHOT)? else {
        return Ok(None);
    };
    let mut c = Cursor {
        data: &value,
        pos: 0,
    };
    let mlen = c.u32()?;
    let meta: SnapshotMeta = decode(CF_SNAPSHOT, c.take(mlen)?)?;
    Ok(Some((meta, value[c.pos..].to_vec())))
}
