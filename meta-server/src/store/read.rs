//! Reads of the state machine. Callers on the client path first make the read linearizable
//! (`Raft::ensure_linearizable`), then read here.

use super::keys::*;
use super::records::{StoredAccessKey, StoredBucket, StoredChunkserver};
use super::{cf, decode, StoreError};
use crate::types::ChunkserverRecord;
use rocksdb::{Direction, IteratorMode, DB};
use std::sync::Arc;
use trireme_api::meta::{
    AccessKeyInfo, BucketInfo, ListObjects, ListObjectsResponse, ObjectSummary,
};
use trireme_api::object::{ObjectRecord, StoredObject};

/// Largest page a listing returns, whatever was asked.
pub const MAX_LIST_KEYS: u32 = 1000;

#[derive(Clone)]
pub struct Reader {
    db: Arc<DB>,
}

impl Reader {
    pub fn new(db: Arc<DB>) -> Self {
        Reader { db }
    }

    pub fn db(&self) -> &DB {
        &self.db
    }

    pub fn get_bucket(&self, name: &str) -> Result<Option<BucketInfo>, StoreError> {
        let v = self.db.get_cf(cf(&self.db, CF_BUCKETS)?, name.as_bytes())?;
        v.map(|v| decode::<StoredBucket>(CF_BUCKETS, &v).map(|StoredBucket::V1(b)| b))
            .transpose()
    }

    pub fn list_buckets(&self) -> Result<Vec<BucketInfo>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf(&self.db, CF_BUCKETS)?, IteratorMode::Start)
        {
            let (_, v) = item?;
            let StoredBucket::V1(b) = decode(CF_BUCKETS, &v)?;
            out.push(b);
        }
        Ok(out)
    }

    pub fn bucket_has_objects(&self, bucket: &str) -> Result<bool, StoreError> {
        let prefix = bucket_prefix(bucket);
        let mut it = self.db.iterator_cf(
            cf(&self.db, CF_OBJECTS)?,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        match it.next() {
            Some(item) => Ok(item?.0.starts_with(&prefix)),
            None => Ok(false),
        }
    }

    pub fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>, StoreError> {
        let v = self
            .db
            .get_cf(cf(&self.db, CF_OBJECTS)?, object_key(bucket, key))?;
        v.map(|v| decode::<StoredObject>(CF_OBJECTS, &v).map(StoredObject::into_record))
            .transpose()
    }

    pub fn get_access_key(&self, access_key: &str) -> Result<Option<AccessKeyInfo>, StoreError> {
        let v = self
            .db
            .get_cf(cf(&self.db, CF_KEYS)?, access_key.as_bytes())?;
        v.map(|v| decode::<StoredAccessKey>(CF_KEYS, &v).map(|StoredAccessKey::V1(k)| k))
            .transpose()
    }

    pub fn list_access_keys(&self) -> Result<Vec<AccessKeyInfo>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf(&self.db, CF_KEYS)?, IteratorMode::Start)
        {
            let (_, v) = item?;
            let StoredAccessKey::V1(k) = decode(CF_KEYS, &v)?;
            out.push(k);
        }
        Ok(out)
    }

    pub fn list_chunkservers(&self) -> Result<Vec<ChunkserverRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf(&self.db, CF_CHUNKSERVERS)?, IteratorMode::Start)
        {
            let (_, v) = item?;
            let StoredChunkserver::V1(c) = decode(CF_CHUNKSERVERS, &v)?;
            out.push(c);
        }
        Ok(out)
    }

    /// One page of a listing: a range scan that skips whole common prefixes with one seek each,
    /// so its cost is O(page), not O(bucket).
    pub fn list_objects(&self, req: &ListObjects) -> Result<ListObjectsResponse, StoreError> {
        let max = req.max_keys.min(MAX_LIST_KEYS) as usize;
        let delimiter = req.delimiter.as_deref().filter(|d| !d.is_empty());
        let bucket_pfx = bucket_prefix(&req.bucket);
        let lower = object_key(&req.bucket, &req.prefix);
        let mut seek = lower.clone();
        if let Some(sa) = &req.start_after {
            seek = seek.max(strictly_after(&object_key(&req.bucket, sa)));
        }
        if let Some(marker) = &req.continue_after {
            let enc = object_key(&req.bucket, marker);
            // A marker that has the delimiter after the prefix was a common prefix: skip all of it.
            let was_prefix = match delimiter {
                Some(d) => {
                    marker.starts_with(&req.prefix) && marker[req.prefix.len()..].contains(d)
                }
                None => false,
            };
            seek = seek.max(if was_prefix {
                after_all_with_prefix(&enc)
            } else {
                strictly_after(&enc)
            });
        }

        let cf = cf(&self.db, CF_OBJECTS)?;
        let mut out = ListObjectsResponse::default();
        let mut count = 0usize;
        let mut last: Option<String> = None;
        let mut iter = self.db.raw_iterator_cf(cf);
        iter.seek(&seek);
        while let Some(k) = iter.key() {
            if !k.starts_with(&lower) {
                break;
            }
            let key = String::from_utf8_lossy(&k[bucket_pfx.len()..]).into_owned();
            if count >= max {
                out.is_truncated = max > 0;
                break;
            }
            let rest = &key[req.prefix.len().min(key.len())..];
            if let Some(d) = delimiter {
                if let Some(pos) = rest.find(d) {
                    let cp = key[..req.prefix.len() + pos + d.len()].to_string();
                    iter.seek(after_all_with_prefix(&object_key(&req.bucket, &cp)));
                    out.common_prefixes.push(cp.clone());
                    last = Some(cp);
                    count += 1;
                    continue;
                }
            }
            let Some(v) = iter.value() else { break };
            let rec = decode_listing(v)?;
            out.objects.push(ObjectSummary {
                key: key.clone(),
                size: rec.size,
                etag: rec.etag,
                last_modified_ms: rec.last_modified_ms,
            });
            last = Some(key);
            count += 1;
            iter.next();
        }
        iter.status()?;
        if out.is_truncated {
            out.next_marker = last;
        }
        Ok(out)
    }
}

/// The fields of a stored object record a listing shows. Decoded directly (not through the
/// tagged `StoredObject`, which buffers every field first), skipping the chunk list and any
/// inline bytes without copying them: a page of small inline objects stays cheap to list.
#[derive(serde::Deserialize)]
struct ListingFields {
    v: String,
    size: u64,
    etag: String,
    last_modified_ms: u64,
}

fn decode_listing(bytes: &[u8]) -> Result<ListingFields, StoreError> {
    let rec: ListingFields = decode(CF_OBJECTS, bytes)?;
    if rec.v != "1" {
        return Err(StoreError::Corrupt {
            cf: CF_OBJECTS,
            message: format!("unknown object record version {:?}", rec.v),
        });
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::apply::apply_command;
    use crate::types::Command;
    use proptest::prelude::*;
    use rocksdb::WriteBatch;
    use std::collections::{BTreeMap, BTreeSet};
    use trireme_api::object::ObjectRecord;

    fn record() -> ObjectRecord {
        ObjectRecord {
            size: 0,
            etag: String::new(),
            last_modified_ms: 0,
            content_type: None,
            headers: BTreeMap::new(),
            user_metadata: BTreeMap::new(),
            checksums: BTreeMap::new(),
            chunks: vec![],
            part_sizes: vec![],
            inline: None,
        }
    }

    fn apply(r: &Reader, cmd: Command) {
        let mut batch = WriteBatch::default();
        apply_command(r, &mut batch, cmd).expect("apply");
        r.db().write(batch).expect("write");
    }

    /// What a listing must return, computed the slow obvious way.
    fn model(keys: &BTreeSet<String>, prefix: &str, delim: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in keys.iter().filter(|k| k.starts_with(prefix)) {
            let entry = match delim.and_then(|d| k[prefix.len()..].find(d).map(|p| (p, d))) {
                Some((p, d)) => k[..prefix.len() + p + d.len()].to_string(),
                None => k.clone(),
            };
            if out.last() != Some(&entry) {
                out.push(entry);
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn paginated_listing_matches_model(
            keys in proptest::collection::btree_set("[ab/]{1,5}", 0..40),
            prefix in "[ab/]{0,2}",
            use_delim in any::<bool>(),
            page in 1u32..5,
        ) {
            let dir = tempfile::TempDir::new().expect("tmp");
            let db = crate::store::open_db(dir.path()).expect("db");
            let r = Reader::new(db);
            apply(&r, Command::CreateBucket { name: "bkt".into(), owner: "o".into(), created_ms: 0 });
            apply(&r, Command::CreateBucket { name: "bk".into(), owner: "o".into(), created_ms: 0 });
            for k in &keys {
                apply(&r, Command::PutObject { bucket: "bkt".into(), key: k.clone(), object: record(), condition: None });
                // A neighbouring bucket whose keys must never leak into the listing.
                apply(&r, Command::PutObject { bucket: "bk".into(), key: format!("t{k}"), object: record(), condition: None });
            }
            let delim = if use_delim { Some("/".to_string()) } else { None };
            let mut got = Vec::new();
            let mut marker = None;
            for _ in 0..100 {
                let resp = r.list_objects(&ListObjects {
                    bucket: "bkt".into(),
                    prefix: prefix.clone(),
                    delimiter: delim.clone(),
                    start_after: None,
                    continue_after: marker.clone(),
                    max_keys: page,
                }).expect("list");
                prop_assert!(resp.objects.len() + resp.common_prefixes.len() <= page as usize);
                let mut entries: Vec<String> = resp.objects.iter().map(|o| o.key.clone()).collect();
                entries.extend(resp.common_prefixes.iter().cloned());
                entries.sort();
                got.extend(entries);
                if !resp.is_truncated {
                    break;
                }
                marker = resp.next_marker;
            }
            prop_assert_eq!(got, model(&keys, &prefix, delim.as_deref()));
        }
    }
}
