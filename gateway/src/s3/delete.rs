//! DeleteObject: 204 whether or not the key existed (Amazon S3 semantics); a missing
//! bucket is still NoSuchBucket. The chunks are garbage-collected by the cluster.

use super::versions::{check_version_id, Version};
use super::TriremeS3;
use crate::error;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use trireme_api::meta::DeleteObject;
use trireme_api::ErrorCode;

pub async fn delete_object(
    s3: &TriremeS3,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let input = req.input;
    if input.if_match.is_some()
        || input.if_match_size.is_some()
        || input.if_match_last_modified_time.is_some()
    {
        return Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "conditional deletes are not implemented",
        ));
    }
    if check_version_id(input.version_id.as_deref())? == Version::Missing {
        // No versions are kept: deleting a version that never existed is a no-op.
        return Ok(S3Response::new(DeleteObjectOutput::default()));
    }
    match s3
        .meta
        .call(&DeleteObject {
            bucket: input.bucket,
            key: input.key,
        })
        .await
    {
        Ok(_) => {}
        Err(e) if e.code() == Some(ErrorCode::NoSuchKey) => {}
        Err(e) => return Err(error::from_client(&e)),
    }
    Ok(S3Response::new(DeleteObjectOutput::default()))
}
