//! Reads of multipart uploads and their parts.

use super::keys::*;
use super::read::{Reader, MAX_LIST_KEYS};
use super::records::{StoredPart, StoredUpload};
use super::{cf, decode, StoreError};
use rocksdb::{Direction, IteratorMode};
use trireme_api::multipart::{
    ListMultipartUploads, ListMultipartUploadsResponse, PartRecord, UploadInfo,
};

impl Reader {
    pub fn get_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<UploadInfo>, StoreError> {
        let v = self.db().get_cf(
            cf(self.db(), CF_UPLOADS)?,
            upload_key(bucket, key, upload_id),
        )?;
        v.map(|v| decode::<StoredUpload>(CF_UPLOADS, &v).map(|StoredUpload::V1(u)| u))
            .transpose()
    }

    pub fn get_part(
        &self,
        upload_id: &str,
        part_number: u32,
    ) -> Result<Option<PartRecord>, StoreError> {
        let v = self
            .db()
            .get_cf(cf(self.db(), CF_PARTS)?, part_key(upload_id, part_number))?;
        v.map(|v| decode::<StoredPart>(CF_PARTS, &v).map(|StoredPart::V1(p)| p))
            .transpose()
    }

    /// Parts numbered after `after`, in order, at most `limit` (and whether more exist).
    pub fn parts(
        &self,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<(Vec<PartRecord>, bool), StoreError> {
        let prefix = part_prefix(upload_id);
        let start = part_key(upload_id, after.saturating_add(1));
        let mut out = Vec::new();
        for item in self.db().iterator_cf(
            cf(self.db(), CF_PARTS)?,
            IteratorMode::From(&start, Direction::Forward),
        ) {
            let (k, v) = item?;
            if !k.starts_with(&prefix) {
                break;
            }
            if out.len() == limit {
                return Ok((out, true));
            }
            let StoredPart::V1(p) = decode(CF_PARTS, &v)?;
            out.push(p);
        }
        Ok((out, false))
    }

    /// Whether a bucket has uploads in progress.
    pub fn bucket_has_uploads(&self, bucket: &str) -> Result<bool, StoreError> {
        let prefix = bucket_prefix(bucket);
        let mut it = self.db().iterator_cf(
            cf(self.db(), CF_UPLOADS)?,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        match it.next() {
            Some(item) => Ok(item?.0.starts_with(&prefix)),
            None => Ok(false),
        }
    }

    /// One page of in-progress uploads, ordered by key then upload id.
    pub fn list_uploads(
        &self,
        req: &ListMultipartUploads,
    ) -> Result<ListMultipartUploadsResponse, StoreError> {
        let max = req.max_uploads.clamp(1, MAX_LIST_KEYS) as usize;
        let delimiter = req.delimiter.as_deref().filter(|d| !d.is_empty());
        let lower = object_key(&req.bucket, &req.prefix);
        let mut seek = lower.clone();
        if let Some(km) = &req.key_marker {
            let after = match &req.upload_id_marker {
                Some(id) => {
                    let mut k = upload_key(&req.bucket, km, id);
                    k.push(0);
                    k
                }
                None => {
                    let mut k = object_key(&req.bucket, km);
                    k.push(1);
                    k
                }
            };
            seek = seek.max(after);
        }
        let mut out = ListMultipartUploadsResponse::default();
        let mut count = 0usize;
        let mut iter = self.db().raw_iterator_cf(cf(self.db(), CF_UPLOADS)?);
        iter.seek(&seek);
        while let Some(k) = iter.key() {
            if !k.starts_with(&lower) {
                break;
            }
            let Some(v) = iter.value() else { break };
            let StoredUpload::V1(u) = decode(CF_UPLOADS, v)?;
            if count >= max {
                out.is_truncated = true;
                break;
            }
            let rest = &u.key[req.prefix.len().min(u.key.len())..];
            if let Some(d) = delimiter {
                if let Some(pos) = rest.find(d) {
                    let cp = u.key[..req.prefix.len() + pos + d.len()].to_string();
                    iter.seek(after_all_with_prefix(&object_key(&req.bucket, &cp)));
                    out.next_key_marker = Some(cp.clone());
                    out.next_upload_id_marker = None;
                    out.common_prefixes.push(cp);
                    count += 1;
                    continue;
                }
            }
            out.next_key_marker = Some(u.key.clone());
            out.next_upload_id_marker = Some(u.upload_id.clone());
            out.uploads.push(u);
            count += 1;
            iter.next();
        }
        iter.status()?;
        if !out.is_truncated {
            out.next_key_marker = None;
            out.next_upload_id_marker = None;
        }
        Ok(out)
    }
}
