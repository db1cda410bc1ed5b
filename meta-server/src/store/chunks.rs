//! The chunk index: for every chunk some object or recorded part references, its length,
//! digest, reference count and authoritative replica locations; and the location index
//! (`chunkserver, disk -> chunks`) kept in step with it.
//!
//! Object and part records keep the replicas they were written with, but those are only the
//! initial placement: repair moves replicas by changing the index alone, so copies sharing a
//! chunk see one truth. Reads resolve each chunk's replicas here.
//!
//! Every command that adds or removes a record goes through [`ChunkTx`], which sums the
//! reference changes of the whole command (a completion removes parts and adds an object
//! naming the same chunks) and writes each touched entry once.

use super::keys::*;
use super::read::Reader;
use super::{cf, decode, StoreError};
use rocksdb::{Direction, IteratorMode, WriteBatch};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::object::{ChunkRef, Replica};

/// One chunk as the metadata knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkEntry {
    pub length: u64,
    /// Whole-chunk BLAKE3, lowercase hex.
    pub blake3: String,
    /// How many healthy replicas it should have (the count it was written with).
    pub want: u32,
    /// Object and part records naming it.
    pub refs: u64,
    /// Replicas believed to exist (not dropped as corrupt or missing), healthy or not.
    pub replicas: Vec<Replica>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum StoredChunk {
    #[serde(rename = "1")]
    V1(ChunkEntry),
}

impl Reader {
    pub fn get_chunk(&self, id: &ChunkId) -> Result<Option<ChunkEntry>, StoreError> {
        let v = self
            .db()
            .get_cf(cf(self.db(), CF_CHUNKS)?, id.0.as_bytes())?;
        v.map(|v| decode::<StoredChunk>(CF_CHUNKS, &v).map(|StoredChunk::V1(e)| e))
            .transpose()
    }

    /// Calls `f` for every chunk entry, in id order.
    pub fn for_each_chunk(&self, mut f: impl FnMut(ChunkId, ChunkEntry)) -> Result<(), StoreError> {
        for item in self
            .db()
            .iterator_cf(cf(self.db(), CF_CHUNKS)?, IteratorMode::Start)
        {
            let (k, v) = item?;
            let StoredChunk::V1(e) = decode(CF_CHUNKS, &v)?;
            f(ChunkId(String::from_utf8_lossy(&k).into_owned()), e);
        }
        Ok(())
    }

    /// The chunks the metadata places on one disk of one chunkserver.
    pub fn chunks_on_disk(
        &self,
        chunkserver: u64,
        disk: &DiskId,
    ) -> Result<BTreeSet<ChunkId>, StoreError> {
        let prefix = disk_location_prefix(chunkserver, &disk.0);
        let mut out = BTreeSet::new();
        for item in self.db().iterator_cf(
            cf(self.db(), CF_LOCATIONS)?,
            IteratorMode::From(&prefix, Direction::Forward),
        ) {
            let (k, _) = item?;
            if !k.starts_with(&prefix) {
                break;
            }
            out.insert(ChunkId(
                String::from_utf8_lossy(&k[prefix.len()..]).into_owned(),
            ));
        }
        Ok(out)
    }

    /// `chunks` with each chunk's replicas replaced by the index's (unchanged for a chunk the
    /// index does not know).
    pub fn resolve_replicas(&self, chunks: &mut [ChunkRef]) -> Result<(), StoreError> {
        for c in chunks.iter_mut() {
            if let Some(e) = self.get_chunk(&c.id)? {
                c.replicas = e.replicas;
            }
        }
        Ok(())
    }
}

/// Writes an entry and brings the location index in step with its replica list.
pub fn put_entry(
    r: &Reader,
    batch: &mut WriteBatch,
    id: &ChunkId,
    old: Option<&ChunkEntry>,
    new: Option<&ChunkEntry>,
) -> Result<(), StoreError> {
    let locations = cf(r.db(), CF_LOCATIONS)?;
    let before: BTreeSet<&Replica> = old.map(|e| e.replicas.iter().collect()).unwrap_or_default();
    let after: BTreeSet<&Replica> = new.map(|e| e.replicas.iter().collect()).unwrap_or_default();
    for gone in before.difference(&after) {
        batch.delete_cf(
            locations,
            location_key(gone.chunkserver, &gone.disk.0, &id.0),
        );
    }
    for added in after.difference(&before) {
        batch.put_cf(
            locations,
            location_key(added.chunkserver, &added.disk.0, &id.0),
            [],
        );
    }
    let chunks = cf(r.db(), CF_CHUNKS)?;
    match new {
        Some(e) => batch.put_cf(
            chunks,
            id.0.as_bytes(),
            serde_json::to_vec(&StoredChunk::V1(e.clone()))?,
        ),
        None => batch.delete_cf(chunks, id.0.as_bytes()),
    }
    Ok(())
}

/// The reference changes of one command.
#[derive(Default)]
pub struct ChunkTx {
    deltas: BTreeMap<ChunkId, (i64, Option<ChunkRef>)>,
}

impl ChunkTx {
    /// A record naming `chunks` was added.
    pub fn add(&mut self, chunks: &[ChunkRef]) {
        for c in chunks {
            let d = self.deltas.entry(c.id.clone()).or_insert((0, None));
            d.0 += 1;
            if d.1.is_none() {
                d.1 = Some(c.clone());
            }
        }
    }

    /// A record naming `chunks` was removed or replaced.
    pub fn remove(&mut self, chunks: &[ChunkRef]) {
        for c in chunks {
            self.deltas.entry(c.id.clone()).or_insert((0, None)).0 -= 1;
        }
    }

    /// Adds the index changes to `batch`. An entry whose count reaches zero is removed (its
    /// replicas become garbage, collected by inventory reconciliation).
    pub fn flush(self, r: &Reader, batch: &mut WriteBatch) -> Result<(), StoreError> {
        for (id, (delta, chunk_ref)) in self.deltas {
            if delta == 0 {
                continue;
            }
            let old = r.get_chunk(&id)?;
            let new = match (&old, chunk_ref) {
                (Some(e), _) => {
                    let refs = e.refs as i64 + delta;
                    (refs > 0).then(|| ChunkEntry {
                        refs: refs as u64,
                        ..e.clone()
                    })
                }
                (None, Some(c)) if delta > 0 => Some(ChunkEntry {
                    length: c.length,
                    blake3: c.blake3.clone(),
                    want: c.replicas.len().max(1) as u32,
                    refs: delta as u64,
                    replicas: dedup(c.replicas),
                }),
                // Removing a reference the index never had: nothing to do.
                (None, _) => None,
            };
            if old.is_none() && new.is_none() {
                continue;
            }
            put_entry(r, batch, &id, old.as_ref(), new.as_ref())?;
        }
        Ok(())
    }
}

fn dedup(mut replicas: Vec<Replica>) -> Vec<Replica> {
    let mut seen = BTreeSet::new();
    replicas.retain(|r| seen.insert(r.clone()));
    replicas
}

/// Rebuilds the chunk and location indexes from the object and part records (a database
/// written before the index existed). Deterministic, so every node gets the same index.
pub fn rebuild_index(r: &Reader) -> Result<u64, StoreError> {
    use super::records::StoredPart;
    use trireme_api::object::StoredObject;
    let db = r.db();
    let mut tx = ChunkTx::default();
    for item in db.iterator_cf(cf(db, CF_OBJECTS)?, IteratorMode::Start) {
        let (_, v) = item?;
        tx.add(&decode::<StoredObject>(CF_OBJECTS, &v)?.into_record().chunks);
    }
    for item in db.iterator_cf(cf(db, CF_PARTS)?, IteratorMode::Start) {
        let (_, v) = item?;
        let StoredPart::V1(p) = decode(CF_PARTS, &v)?;
        tx.add(&p.chunks);
    }
    let count = tx.deltas.len() as u64;
    let mut batch = WriteBatch::default();
    for name in [CF_CHUNKS, CF_LOCATIONS] {
        let handle = cf(db, name)?;
        for item in db.iterator_cf(handle, IteratorMode::Start) {
            batch.delete_cf(handle, item?.0);
        }
    }
    db.write(batch)?;
    let mut batch = WriteBatch::default();
    tx.flush(r, &mut batch)?;
    batch.put_cf(cf(db, CF_SM_META)?, KEY_CHUNK_INDEX, b"1");
    db.write(batch)?;
    Ok(count)
}

/// Builds the index if this database does not have one yet.
pub fn ensure_index(r: &Reader) -> Result<(), StoreError> {
    if r.db()
        .get_cf(cf(r.db(), CF_SM_META)?, KEY_CHUNK_INDEX)?
        .is_none()
    {
        let n = rebuild_index(r)?;
        tracing::info!(chunks = n, "built the chunk index from the records");
    }
    Ok(())
}
