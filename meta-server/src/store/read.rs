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
            let rec = decode::<StoredObject>(CF_OBJECTS, v)?.into_record();
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
