//! Applying one [`Command`] to the state machine: validation against the current state, then
//! one atomic write batch that also records the applied log id. Deterministic: everything
//! comes from the command and the state.

use super::keys::*;
use super::read::Reader;
use super::records::{StoredAccessKey, StoredBucket, StoredChunkserver};
use super::{cf, StoreError};
use crate::types::{Command, CommandResult};
use rocksdb::WriteBatch;
use trireme_api::meta::BucketInfo;
use trireme_api::object::StoredObject;
use trireme_api::{ApiError, ErrorCode};

fn refused(code: ErrorCode, msg: impl Into<String>) -> CommandResult {
    CommandResult::Refused(ApiError::new(code, msg))
}

/// Adds the effects of `cmd` to `batch` and returns its result. Reads see the state before
/// this command (callers write one batch per command).
pub fn apply_command(
    r: &Reader,
    batch: &mut WriteBatch,
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
            batch.delete_cf(cf(db, CF_BUCKETS)?, name.as_bytes());
            Ok(CommandResult::Done)
        }
        Command::PutObject {
            bucket,
            key,
            object,
        } => {
            if r.get_bucket(&bucket)?.is_none() {
                return Ok(refused(
                    ErrorCode::NoSuchBucket,
                    format!("no bucket {bucket}"),
                ));
            }
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
            let existed = r.get_object(&bucket, &key)?.is_some();
            batch.delete_cf(cf(db, CF_OBJECTS)?, object_key(&bucket, &key));
            Ok(CommandResult::Deleted { existed })
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
        Command::UpsertChunkserver { chunkserver } => {
            let k = chunkserver_key(chunkserver.id);
            batch.put_cf(
                cf(db, CF_CHUNKSERVERS)?,
                k,
                serde_json::to_vec(&StoredChunkserver::V1(chunkserver))?,
            );
            Ok(CommandResult::Done)
        }
    }
}
