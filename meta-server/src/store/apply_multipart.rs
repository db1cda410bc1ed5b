//! Applying multipart commands: create, record a part, complete (atomically, with S3's checks),
//! abort.

use super::apply::{check_condition, refused};
use super::chunks::ChunkTx;
use super::keys::*;
use super::read::Reader;
use super::records::{StoredPart, StoredUpload};
use super::{cf, StoreError};
use crate::types::CommandResult;
use rocksdb::{Direction, IteratorMode, WriteBatch};
use std::collections::BTreeMap;
use trireme_api::meta::WriteCondition;
use trireme_api::multipart::{PartRecord, UploadInfo, MIN_PART_SIZE};
use trireme_api::object::{ObjectRecord, StoredObject};
use trireme_api::ErrorCode;

pub fn create_upload(
    r: &Reader,
    batch: &mut WriteBatch,
    upload: UploadInfo,
) -> Result<CommandResult, StoreError> {
    if r.get_bucket(&upload.bucket)?.is_none() {
        return Ok(refused(
            ErrorCode::NoSuchBucket,
            format!("no bucket {}", upload.bucket),
        ));
    }
    let k = upload_key(&upload.bucket, &upload.key, &upload.upload_id);
    batch.put_cf(
        cf(r.db(), CF_UPLOADS)?,
        k,
        serde_json::to_vec(&StoredUpload::V1(upload))?,
    );
    Ok(CommandResult::Done)
}

pub fn put_part(
    r: &Reader,
    batch: &mut WriteBatch,
    tx: &mut ChunkTx,
    bucket: &str,
    key: &str,
    upload_id: &str,
    part: PartRecord,
) -> Result<CommandResult, StoreError> {
    if r.get_upload(bucket, key, upload_id)?.is_none() {
        return Ok(refused(
            ErrorCode::NoSuchUpload,
            format!("no upload {upload_id}"),
        ));
    }
    if let Some(old) = r.get_part(upload_id, part.part_number)? {
        tx.remove(&old.chunks);
    }
    tx.add(&part.chunks);
    let k = part_key(upload_id, part.part_number);
    batch.put_cf(
        cf(r.db(), CF_PARTS)?,
        k,
        serde_json::to_vec(&StoredPart::V1(part))?,
    );
    Ok(CommandResult::Done)
}

/// Deletes an upload and all its parts, releasing their chunks.
fn remove_upload(
    r: &Reader,
    batch: &mut WriteBatch,
    tx: &mut ChunkTx,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<(), StoreError> {
    batch.delete_cf(cf(r.db(), CF_UPLOADS)?, upload_key(bucket, key, upload_id));
    let parts = cf(r.db(), CF_PARTS)?;
    let prefix = part_prefix(upload_id);
    for item in r
        .db()
        .iterator_cf(parts, IteratorMode::From(&prefix, Direction::Forward))
    {
        let (k, v) = item?;
        if !k.starts_with(&prefix) {
            break;
        }
        let StoredPart::V1(p) = super::decode(CF_PARTS, &v)?;
        tx.remove(&p.chunks);
        batch.delete_cf(parts, k);
    }
    Ok(())
}

pub fn abort_upload(
    r: &Reader,
    batch: &mut WriteBatch,
    tx: &mut ChunkTx,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<CommandResult, StoreError> {
    if r.get_upload(bucket, key, upload_id)?.is_none() {
        return Ok(refused(
            ErrorCode::NoSuchUpload,
            format!("no upload {upload_id}"),
        ));
    }
    remove_upload(r, batch, tx, bucket, key, upload_id)?;
    Ok(CommandResult::Done)
}

/// Aborts every upload of a bucket (when the bucket is deleted).
pub fn remove_bucket_uploads(
    r: &Reader,
    batch: &mut WriteBatch,
    tx: &mut ChunkTx,
    bucket: &str,
) -> Result<(), StoreError> {
    let prefix = bucket_prefix(bucket);
    let uploads: Vec<(String, String)> = {
        let mut v = Vec::new();
        for item in r.db().iterator_cf(
            cf(r.db(), CF_UPLOADS)?,
            IteratorMode::From(&prefix, Direction::Forward),
        ) {
            let (k, val) = item?;
            if !k.starts_with(&prefix) {
                break;
            }
            let StoredUpload::V1(u) = super::decode(CF_UPLOADS, &val)?;
            v.push((u.key, u.upload_id));
        }
        v
    };
    for (key, id) in uploads {
        remove_upload(r, batch, tx, bucket, &key, &id)?;
    }
    Ok(())
}

pub struct Completion<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub upload_id: &'a str,
    pub parts: &'a [(u32, String)],
    pub etag: String,
    pub checksums: BTreeMap<String, String>,
    pub condition: Option<&'a WriteCondition>,
    pub last_modified_ms: u64,
}

fn unquote(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}

pub fn complete_upload(
    r: &Reader,
    batch: &mut WriteBatch,
    tx: &mut ChunkTx,
    c: Completion<'_>,
) -> Result<CommandResult, StoreError> {
    let Some(upload) = r.get_upload(c.bucket, c.key, c.upload_id)? else {
        return Ok(refused(
            ErrorCode::NoSuchUpload,
            format!("no upload {}", c.upload_id),
        ));
    };
    if c.parts.is_empty() {
        return Ok(refused(
            ErrorCode::InvalidArgument,
            "you must specify at least one part",
        ));
    }
    if c.parts.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Ok(refused(
            ErrorCode::InvalidPartOrder,
            "the list of parts was not in ascending order",
        ));
    }
    let mut records = Vec::with_capacity(c.parts.len());
    for (n, etag) in c.parts {
        match r.get_part(c.upload_id, *n)? {
            Some(p) if unquote(&p.etag) == unquote(etag) => records.push(p),
            _ => {
                return Ok(refused(
                    ErrorCode::InvalidPart,
                    format!("part {n} was not uploaded or its ETag does not match"),
                ))
            }
        }
    }
    let last = records.len() - 1;
    if let Some(small) = records[..last].iter().find(|p| p.size < MIN_PART_SIZE) {
        return Ok(refused(
            ErrorCode::EntityTooSmall,
            format!(
                "part {} is {} bytes; every part but the last must be at least 5 MiB",
                small.part_number, small.size
            ),
        ));
    }
    if let Some(refusal) = check_condition(r, c.bucket, c.key, c.condition)? {
        return Ok(refusal);
    }
    let object = ObjectRecord {
        size: records.iter().map(|p| p.size).sum(),
        etag: c.etag,
        last_modified_ms: c.last_modified_ms,
        content_type: upload.metadata.content_type.clone(),
        headers: upload.metadata.headers.clone(),
        user_metadata: upload.metadata.user_metadata.clone(),
        checksums: c.checksums,
        chunks: records
            .iter()
            .flat_map(|p| p.chunks.iter().cloned())
            .collect(),
        part_sizes: records.iter().map(|p| p.size).collect(),
        inline: None,
    };
    if let Some(old) = r.get_object(c.bucket, c.key)? {
        tx.remove(&old.chunks);
    }
    tx.add(&object.chunks);
    batch.put_cf(
        cf(r.db(), CF_OBJECTS)?,
        object_key(c.bucket, c.key),
        serde_json::to_vec(&StoredObject::V1(object))?,
    );
    remove_upload(r, batch, tx, c.bucket, c.key, c.upload_id)?;
    Ok(CommandResult::Done)
}
