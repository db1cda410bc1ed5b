//! Whole-table walks over the records: every object (for `trireme repair lost`), and the
//! reference count of every chunk recounted from scratch (the chunk index's invariant,
//! checked by tests and by `rebuild_index`).

use super::keys::*;
use super::read::Reader;
use super::records::StoredPart;
use super::{cf, decode, StoreError};
use rocksdb::IteratorMode;
use std::collections::BTreeMap;
use trireme_api::ids::ChunkId;
use trireme_api::object::{ObjectRecord, StoredObject};

/// Splits an encoded object key into bucket and key.
fn split_object_key(k: &[u8]) -> Option<(String, String)> {
    let (&len, rest) = k.split_first()?;
    let len = len as usize;
    if rest.len() < len {
        return None;
    }
    let bucket = std::str::from_utf8(&rest[..len]).ok()?;
    let key = std::str::from_utf8(&rest[len..]).ok()?;
    Some((bucket.to_string(), key.to_string()))
}

impl Reader {
    /// Calls `f(bucket, key, record)` for every object until it returns false.
    pub fn for_each_object(
        &self,
        mut f: impl FnMut(String, String, ObjectRecord) -> bool,
    ) -> Result<(), StoreError> {
        for item in self
            .db()
            .iterator_cf(cf(self.db(), CF_OBJECTS)?, IteratorMode::Start)
        {
            let (k, v) = item?;
            let Some((bucket, key)) = split_object_key(&k) else {
                return Err(StoreError::Corrupt {
                    cf: CF_OBJECTS,
                    message: "object key is not [len][bucket][key]".into(),
                });
            };
            let rec = decode::<StoredObject>(CF_OBJECTS, &v)?.into_record();
            if !f(bucket, key, rec) {
                break;
            }
        }
        Ok(())
    }

    /// How many object and part records name each chunk, counted from the records.
    pub fn recount_refs(&self) -> Result<BTreeMap<ChunkId, u64>, StoreError> {
        let mut out: BTreeMap<ChunkId, u64> = BTreeMap::new();
        self.for_each_object(|_, _, rec| {
            for c in rec.chunks {
                *out.entry(c.id).or_default() += 1;
            }
            true
        })?;
        for item in self
            .db()
            .iterator_cf(cf(self.db(), CF_PARTS)?, IteratorMode::Start)
        {
            let (_, v) = item?;
            let StoredPart::V1(p) = decode(CF_PARTS, &v)?;
            for c in p.chunks {
                *out.entry(c.id).or_default() += 1;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_split_back() {
        let k = object_key("bkt", "a/b/c");
        assert_eq!(
            split_object_key(&k),
            Some(("bkt".to_string(), "a/b/c".to_string()))
        );
        assert_eq!(split_object_key(&[5, b'a']), None);
    }
}
