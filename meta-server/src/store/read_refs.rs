//! The set of chunks the metadata references: every object's chunks and every recorded part's.
//! Garbage collection deletes replicas of chunks outside this set (mark and sweep), so chunks
//! shared by copies are never collected while any record names them.

use super::keys::*;
use super::read::Reader;
use super::records::StoredPart;
use super::{cf, decode, StoreError};
use rocksdb::IteratorMode;
use std::collections::HashSet;
use trireme_api::ids::ChunkId;
use trireme_api::object::StoredObject;

impl Reader {
    pub fn referenced_chunks(&self) -> Result<HashSet<ChunkId>, StoreError> {
        let mut out = HashSet::new();
        for item in self
            .db()
            .iterator_cf(cf(self.db(), CF_OBJECTS)?, IteratorMode::Start)
        {
            let (_, v) = item?;
            let rec = decode::<StoredObject>(CF_OBJECTS, &v)?.into_record();
            out.extend(rec.chunks.into_iter().map(|c| c.id));
        }
        for item in self
            .db()
            .iterator_cf(cf(self.db(), CF_PARTS)?, IteratorMode::Start)
        {
            let (_, v) = item?;
            let StoredPart::V1(p) = decode(CF_PARTS, &v)?;
            out.extend(p.chunks.into_iter().map(|c| c.id));
        }
        Ok(out)
    }
}
