//! Buckets: create, delete, get, list.

use super::Serve;
use crate::error::MetaResult;
use crate::node::{now_ms, MetaNode};
use crate::types::{Command, CommandResult};
use trireme_api::meta::{
    BucketInfo, CreateBucket, DeleteBucket, Empty, GetBucket, ListBuckets, ListBucketsResponse,
    SetBucketGrant,
};
use trireme_api::{ApiError, ErrorCode};

/// The meta-server's own sanity check; the gateway enforces S3's full naming rules.
fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("invalid bucket name {name:?}")))
    }
}

impl Serve<CreateBucket> for MetaNode {
    async fn serve(&self, req: CreateBucket) -> MetaResult<BucketInfo> {
        check_name(&req.name)?;
        match self
            .write(Command::CreateBucket {
                name: req.name,
                owner: req.owner,
                created_ms: now_ms(),
            })
            .await?
        {
            CommandResult::Bucket(b) => Ok(b),
            other => Err(ApiError::internal(format!("unexpected result {other:?}")).into()),
        }
    }
}

impl Serve<DeleteBucket> for MetaNode {
    async fn serve(&self, req: DeleteBucket) -> MetaResult<Empty> {
        self.write(Command::DeleteBucket { name: req.name }).await?;
        Ok(Empty {})
    }
}

impl Serve<GetBucket> for MetaNode {
    async fn serve(&self, req: GetBucket) -> MetaResult<BucketInfo> {
        self.linearizable().await?;
        self.reader.get_bucket(&req.name)?.ok_or_else(|| {
            ApiError::new(ErrorCode::NoSuchBucket, format!("no bucket {}", req.name)).into()
        })
    }
}

impl Serve<ListBuckets> for MetaNode {
    async fn serve(&self, _req: ListBuckets) -> MetaResult<ListBucketsResponse> {
        self.linearizable().await?;
        Ok(ListBucketsResponse {
            buckets: self.reader.list_buckets()?,
        })
    }
}

impl Serve<SetBucketGrant> for MetaNode {
    async fn serve(&self, req: SetBucketGrant) -> MetaResult<BucketInfo> {
        let cmd = Command::SetBucketGrant {
            bucket: req.bucket,
            access_key: req.access_key,
            permissions: req.permissions,
        };
        match self.write(cmd).await? {
            CommandResult::Bucket(b) => Ok(b),
            other => Err(ApiError::internal(format!("unexpected result {other:?}")).into()),
        }
    }
}
