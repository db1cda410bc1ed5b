//! Objects: commit, get, delete, list.

use super::Serve;
use crate::error::MetaResult;
use crate::node::{now_ms, MetaNode};
use crate::types::{Command, CommandResult};
use std::collections::BTreeMap;
use trireme_api::meta::{
    CommitObject, CommitObjectResponse, CopyObject, CopyObjectResponse, DeleteObject,
    DeleteObjectResponse, DeleteObjects, DeleteObjectsResponse, GetObject, GetObjectResponse,
    ListObjects, ListObjectsResponse,
};
use trireme_api::{ApiError, ErrorCode};

/// S3's limit on key length, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(ApiError::invalid(format!(
            "key length {} is not in 1..={MAX_KEY_BYTES}",
            key.len()
        )));
    }
    Ok(())
}

impl Serve<CommitObject> for MetaNode {
    async fn serve(&self, req: CommitObject) -> MetaResult<CommitObjectResponse> {
        check_key(&req.key)?;
        let mut object = req.object;
        object.validate().map_err(ApiError::invalid)?;
        if let Some(inline) = &object.inline {
            if blake3::hash(&inline.bytes).to_hex().as_str() != inline.blake3 {
                return Err(ApiError::invalid("inline data does not match its BLAKE3").into());
            }
        }
        object.last_modified_ms = now_ms();
        let last_modified_ms = object.last_modified_ms;
        self.write(Command::PutObject {
            bucket: req.bucket,
            key: req.key,
            object,
            condition: req.condition,
        })
        .await?;
        Ok(CommitObjectResponse { last_modified_ms })
    }
}

impl Serve<GetObject> for MetaNode {
    async fn serve(&self, req: GetObject) -> MetaResult<GetObjectResponse> {
        self.linearizable().await?;
        self.require_bucket(&req.bucket)?;
        let mut object = self
            .reader
            .get_object(&req.bucket, &req.key)?
            .ok_or_else(|| ApiError::new(ErrorCode::NoSuchKey, format!("no key {}", req.key)))?;
        // The chunk index holds the current replicas (repair moves them); read the best first.
        self.reader.resolve_replicas(&mut object.chunks)?;
        let records = self.reader.list_chunkservers()?;
        let view = crate::durability::view::HealthView::new(&records);
        // Random within a rank, so reads spread over the healthy replicas.
        let mut rng = rand::thread_rng();
        for c in &mut object.chunks {
            rand::seq::SliceRandom::shuffle(c.replicas.as_mut_slice(), &mut rng);
            view.order(&mut c.replicas);
        }
        let known: BTreeMap<u64, String> = records.into_iter().map(|c| (c.id, c.addr)).collect();
        let mut chunkservers = BTreeMap::new();
        for chunk in &object.chunks {
            for r in &chunk.replicas {
                if let Some(addr) = known.get(&r.chunkserver) {
                    chunkservers.insert(r.chunkserver, addr.clone());
                }
            }
        }
        Ok(GetObjectResponse {
            object,
            chunkservers,
        })
    }
}

impl Serve<DeleteObject> for MetaNode {
    async fn serve(&self, req: DeleteObject) -> MetaResult<DeleteObjectResponse> {
        match self
            .write(Command::DeleteObject {
                bucket: req.bucket,
                key: req.key,
            })
            .await?
        {
            CommandResult::Deleted { existed } => Ok(DeleteObjectResponse { existed }),
            other => Err(ApiError::internal(format!("unexpected result {other:?}")).into()),
        }
    }
}

impl Serve<ListObjects> for MetaNode {
    async fn serve(&self, req: ListObjects) -> MetaResult<ListObjectsResponse> {
        self.linearizable().await?;
        self.require_bucket(&req.bucket)?;
        Ok(self.reader.list_objects(&req)?)
    }
}

impl Serve<CopyObject> for MetaNode {
    async fn serve(&self, req: CopyObject) -> MetaResult<CopyObjectResponse> {
        check_key(&req.dst_key)?;
        let last_modified_ms = now_ms();
        match self
            .write(Command::CopyObject {
                src_bucket: req.src_bucket,
                src_key: req.src_key,
                dst_bucket: req.dst_bucket,
                dst_key: req.dst_key,
                src_etag: req.src_etag,
                replace_metadata: req.replace_metadata,
                condition: req.condition,
                last_modified_ms,
            })
            .await?
        {
            CommandResult::Copied { etag, size } => Ok(CopyObjectResponse {
                etag,
                last_modified_ms,
                size,
            }),
            other => Err(ApiError::internal(format!("unexpected result {other:?}")).into()),
        }
    }
}

/// The most keys one DeleteObjects may name (S3's limit).
pub const MAX_DELETE_KEYS: usize = 1000;

impl Serve<DeleteObjects> for MetaNode {
    async fn serve(&self, req: DeleteObjects) -> MetaResult<DeleteObjectsResponse> {
        if req.keys.len() > MAX_DELETE_KEYS {
            return Err(
                ApiError::invalid(format!("at most {MAX_DELETE_KEYS} keys per request")).into(),
            );
        }
        match self
            .write(Command::DeleteObjects {
                bucket: req.bucket,
                keys: req.keys,
            })
            .await?
        {
            CommandResult::DeletedMany { existed } => Ok(DeleteObjectsResponse { existed }),
            other => Err(ApiError::internal(format!("unexpected result {other:?}")).into()),
        }
    }
}
