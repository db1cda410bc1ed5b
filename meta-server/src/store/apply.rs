//! Applying one [`Command`] to the state machine: validation against the current state, then
//! one atomic write batch that also records the applied log id. Deterministic: everything
//! comes from the command and the state.

use super::apply_durability as dur;
use super::apply_multipart::{self as mpu, Completion};
use super::chunks::ChunkTx;
use super::keys::*;
use super::read::Reader;
use super::records::{StoredAccessKey, StoredBucket};
use super::{cf, StoreError};
use crate::types::{Command, CommandResult};
use rocksdb::WriteBatch;
use trireme_api::meta::{BucketInfo, WriteCondition};
use trireme_api::object::StoredObject;
use trireme_api::{ApiError, ErrorCode};

pub fn refused(code: ErrorCode, msg: impl Into<String>) -> CommandResult {
    CommandResult::Refused(ApiError::new(code, msg))
}

/// Adds the effects of `cmd` to `batch` and returns its result. Reads see the state before
/// this command (callers write one batch per command). A refused command writes nothing.
pub fn apply_command(
    r: &Reader,
    batch: &mut WriteBatch,
    cmd: Command,
) -> Result<CommandResult, StoreError> {
    let mut tx = ChunkTx::default();
    let result = apply_records(r, batch, &mut tx, cmd)?;
    if !matches!(result, CommandResult::Refused(_)) {
        tx.flush(r, batch)?;
    }
    Ok(result)
}

fn apply_records(
    r: &Reader,
    batch: &mut WriteBatch,
    tx: &mut ChunkTx,
    cmd: Command,
) -> Result<CommandResult, StoreError> {
    let db = r.db();
    match cmd {
        Command::CreateBucket {
            name,
            owner,
            created_ms,
        } => {
            if let Some(existing) = r.get_bucket(&name)? {
                return Ok(if existing.owner == owner {
                    refused(
                        ErrorCode::BucketAlreadyOwnedByYou,
                        format!("bucket {name} is already yours"),
                    )
                } else {
                    refused(
                        ErrorCode::BucketAlreadyExists,
                        format!("bucket {name} exists"),
                    )
                });
            }
            let info = BucketInfo {
                name: name.clone(),
                owner,
                created_ms,
                grants: Default::default(),
            };
            batch.put_cf(
                cf(db, CF_BUCKETS)?,
                name.as_bytes(),
                serde_json::to_vec(&StoredBucket::V1(info.clone()))?,
            );
            Ok(CommandResult::Bucket(info))
        }
        Command::DeleteBucket { name } => {
            if r.get_bucket(&name)?.is_none() {
                return Ok(refused(
                    ErrorCode::NoSuchBucket,
                    format!("no bucket {name}"),
                ));
            }
            if r.bucket_has_objects(&name)? {
                return Ok(refused(
                    ErrorCode::BucketNotEmpty,
                    format!("bucket {name} is not empty"),
                ));
            }
            mpu::remove_bucket_uploads(r, batch, tx, &name)?;
            batch.delete_cf(cf(db, CF_BUCKETS)?, name.as_bytes());
            Ok(CommandResult::Done)
        }
        Command::PutObject {
            bucket,
            key,
            object,
            condition,
        } => {
            if r.get_bucket(&bucket)?.is_none() {
                return Ok(refused(
                    ErrorCode::NoSuchBucket,
                    format!("no bucket {bucket}"),
                ));
            }
            if let Some(refusal) = check_condition(r, &bucket, &key, condition.as_ref())? {
                return Ok(refusal);
            }
            if let Some(old) = r.get_object(&bucket, &key)? {
                tx.remove(&old.chunks);
            }
            tx.add(&object.chunks);
            let value = serde_json::to_vec(&StoredObject::V1(object))?;
            batch.put_cf(cf(db, CF_OBJECTS)?, object_key(&bucket, &key), value);
            Ok(CommandResult::Done)
        }
        Command::DeleteObject { bucket, key } => {
            if r.get_bucket(&bucket)?.is_none() {
                return Ok(refused(
                    ErrorCode::NoSuchBucket,
                    format!("no bucket {bucket}"),
                ));
            }
            let old = r.get_object(&bucket, &key)?;
            if let Some(old) = &old {
                tx.remove(&old.chunks);
            }
            batch.delete_cf(cf(db, CF_OBJECTS)?, object_key(&bucket, &key));
            Ok(CommandResult::Deleted {
                existed: old.is_some(),
            })
        }
        Command::CreateAccessKey { key } => {
            if r.get_access_key(&key.access_key)?.is_some() {
                return Ok(refused(
                    ErrorCode::AccessKeyExists,
                    format!("access key {} exists", key.access_key),
                ));
            }
            let value = serde_json::to_vec(&StoredAccessKey::V1(key.clone()))?;
            batch.put_cf(cf(db, CF_KEYS)?, key.access_key.as_bytes(), value);
            Ok(CommandResult::AccessKey(key))
        }
        Command::CopyObject {
            src_bucket,
            src_key,
            dst_bucket,
            dst_key,
            src_etag,
            replace_metadata,
            condition,
            last_modified_ms,
        } => copy_object(
            r,
            batch,
            tx,
            CopyArgs {
                src_bucket,
                src_key,
                dst_bucket,
                dst_key,
                src_etag,
                replace_metadata,
                condition,
                last_modified_ms,
            },
        ),
        Command::DeleteObjects { bucket, keys } => {
            if r.get_bucket(&bucket)?.is_none() {
                return Ok(refused(
                    ErrorCode::NoSuchBucket,
                    format!("no bucket {bucket}"),
                ));
            }
            let objects = cf(db, CF_OBJECTS)?;
            let mut existed = Vec::with_capacity(keys.len());
            let mut removed = std::collections::BTreeSet::new();
            for key in &keys {
                let old = r.get_object(&bucket, key)?;
                existed.push(old.is_some());
                // A key named twice is removed (and its chunks released) once.
                if let Some(old) = old.filter(|_| removed.insert(key.as_str())) {
                    tx.remove(&old.chunks);
                }
                batch.delete_cf(objects, object_key(&bucket, key));
            }
            Ok(CommandResult::DeletedMany { existed })
        }
        Command::CreateUpload { upload } => mpu::create_upload(r, batch, upload),
        Command::PutPart {
            bucket,
            key,
            upload_id,
            part,
        } => mpu::put_part(r, batch, tx, &bucket, &key, &upload_id, part),
        Command::CompleteUpload {
            bucket,
            key,
            upload_id,
            parts,
            etag,
            checksums,
            condition,
            last_modified_ms,
        } => mpu::complete_upload(
            r,
            batch,
            tx,
            Completion {
                bucket: &bucket,
                key: &key,
                upload_id: &upload_id,
                parts: &parts,
                etag,
                checksums,
                condition: condition.as_ref(),
                last_modified_ms,
            },
        ),
        Command::AbortUpload {
            bucket,
            key,
            upload_id,
        } => mpu::abort_upload(r, batch, tx, &bucket, &key, &upload_id),
        Command::DeleteAccessKey { access_key } => {
            if r.get_access_key(&access_key)?.is_none() {
                return Ok(refused(
                    ErrorCode::NoSuchAccessKey,
                    format!("no access key {access_key}"),
                ));
            }
            batch.delete_cf(cf(db, CF_KEYS)?, access_key.as_bytes());
            // Its grants go with it: a key imported later under the same id must not inherit them.
            for mut info in r.list_buckets()? {
                if info.grants.remove(&access_key).is_some() {
                    let value = serde_json::to_vec(&StoredBucket::V1(info.clone()))?;
                    batch.put_cf(cf(db, CF_BUCKETS)?, info.name.as_bytes(), value);
                }
            }
            Ok(CommandResult::Done)
        }
        Command::SetBucketGrant {
            bucket,
            access_key,
            permissions,
        } => {
            let Some(mut info) = r.get_bucket(&bucket)? else {
                return Ok(refused(
                    ErrorCode::NoSuchBucket,
                    format!("no bucket {bucket}"),
                ));
            };
            // Revoking is always allowed (even for a deleted key); granting needs the key.
            if !permissions.is_empty() && r.get_access_key(&access_key)?.is_none() {
                return Ok(refused(
                    ErrorCode::NoSuchAccessKey,
                    format!("no access key {access_key}"),
                ));
            }
            if permissions.is_empty() {
                info.grants.remove(&access_key);
            } else {
                info.grants.insert(access_key, permissions);
            }
            let value = serde_json::to_vec(&StoredBucket::V1(info.clone()))?;
            batch.put_cf(cf(db, CF_BUCKETS)?, bucket.as_bytes(), value);
            Ok(CommandResult::Bucket(info))
        }
        Command::UpsertChunkserver { chunkserver } => {
            super::apply_swap::upsert_chunkserver(r, batch, chunkserver)
        }
        Command::SetChunkserverState { id, state } => {
            dur::set_chunkserver_state(r, batch, id, state)
        }
        Command::AddReplica {
            chunk,
            replica,
            drop,
        } => dur::add_replica(r, batch, &chunk, replica, &drop),
        Command::DropReplica {
            chunk,
            replica,
            reason: _,
        } => dur::drop_replica(r, batch, &chunk, &replica),
        Command::SetWorkerSetting { key, value } => dur::set_worker_setting(r, batch, key, value),
        Command::SetScrubControl { control } => dur::set_scrub_control(r, batch, &control),
        Command::SetDiskAdmin {
            chunkserver,
            disk,
            admin,
            at_ms,
        } => super::apply_ops::set_disk_admin(r, batch, chunkserver, &disk, admin, at_ms),
        Command::RemoveDisk {
            chunkserver,
            disk,
            force,
            at_ms,
        } => super::apply_ops::remove_disk(r, batch, chunkserver, &disk, force, at_ms),
        Command::Audited { audit, command } => {
            super::apply_admin::audited(r, batch, audit, *command)
        }
        Command::RecordAudit { audit } => super::apply_admin::record_audit(r, batch, audit),
        Command::CreateToken { hash, token } => {
            super::apply_admin::create_token(r, batch, &hash, token)
        }
        Command::RevokeToken { name } => super::apply_admin::revoke_token(r, batch, &name),
        Command::AdmitDisk {
            chunkserver,
            disk,
            path,
            replaces,
            fill,
        } => super::apply_swap::admit_disk(r, batch, chunkserver, disk, path, replaces, fill),
        Command::FinishFill {
            chunkserver,
            disk,
            at_ms,
        } => super::apply_swap::finish_fill(r, batch, chunkserver, &disk, at_ms),
        // The state machine unpacks a batch entry itself (`sm.rs`); one inside another
        // command is malformed.
        Command::Batch { .. } => Ok(refused(
            ErrorCode::InvalidArgument,
            "a command batch cannot be nested",
        )),
    }
}

/// Checks a write condition against the key's current version; `Some(refusal)` if it fails.
pub fn check_condition(
    r: &Reader,
    bucket: &str,
    key: &str,
    condition: Option<&WriteCondition>,
) -> Result<Option<CommandResult>, StoreError> {
    let Some(condition) = condition else {
        return Ok(None);
    };
    let current = r.get_object(bucket, key)?;
    Ok(match (condition, current) {
        (WriteCondition::IfNoneMatchAny, Some(_)) => Some(refused(
            ErrorCode::PreconditionFailed,
            format!("{key} exists (If-None-Match: *)"),
        )),
        (WriteCondition::IfNoneMatchAny, None) => None,
        (WriteCondition::IfMatch(_), None) => {
            Some(refused(ErrorCode::NoSuchKey, format!("no key {key}")))
        }
        (WriteCondition::IfMatch(etag), Some(cur)) => {
            if etag.trim().trim_matches('"') == cur.etag || etag.trim() == "*" {
                None
            } else {
                Some(refused(
                    ErrorCode::PreconditionFailed,
                    format!("{key} has another ETag (If-Match)"),
                ))
            }
        }
    })
}

fn copy_object(
    r: &Reader,
    batch: &mut WriteBatch,
    tx: &mut ChunkTx,
    c: CopyArgs,
) -> Result<CommandResult, StoreError> {
    if r.get_bucket(&c.dst_bucket)?.is_none() {
        return Ok(refused(
            ErrorCode::NoSuchBucket,
            format!("no bucket {}", c.dst_bucket),
        ));
    }
    if r.get_bucket(&c.src_bucket)?.is_none() {
        return Ok(refused(
            ErrorCode::NoSuchBucket,
            format!("no bucket {}", c.src_bucket),
        ));
    }
    let Some(mut object) = r.get_object(&c.src_bucket, &c.src_key)? else {
        return Ok(refused(
            ErrorCode::NoSuchKey,
            format!("no key {}", c.src_key),
        ));
    };
    if c.src_etag
        .as_deref()
        .is_some_and(|e| e.trim_matches('"') != object.etag)
    {
        return Ok(refused(
            ErrorCode::PreconditionFailed,
            "the copy source changed",
        ));
    }
    if let Some(refusal) = check_condition(r, &c.dst_bucket, &c.dst_key, c.condition.as_ref())? {
        return Ok(refusal);
    }
    if let Some(m) = c.replace_metadata {
        object.content_type = m.content_type;
        object.headers = m.headers;
        object.user_metadata = m.user_metadata;
    }
    object.last_modified_ms = c.last_modified_ms;
    if let Some(old) = r.get_object(&c.dst_bucket, &c.dst_key)? {
        tx.remove(&old.chunks);
    }
    tx.add(&object.chunks);
    let (etag, size) = (object.etag.clone(), object.size);
    let value = serde_json::to_vec(&StoredObject::V1(object))?;
    batch.put_cf(
        cf(r.db(), CF_OBJECTS)?,
        object_key(&c.dst_bucket, &c.dst_key),
        value,
    );
    Ok(CommandResult::Copied { etag, size })
}

struct CopyArgs {
    src_bucket: String,
    src_key: String,
    dst_bucket: String,
    dst_key: String,
    src_etag: Option<String>,
    replace_metadata: Option<trireme_api::multipart::UploadMetadata>,
    condition: Option<WriteCondition>,
    last_modified_ms: u64,
}
