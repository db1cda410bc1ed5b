//! The S3 operations, on top of s3s's typed inputs and outputs.
//!
//! [`TriremeS3`] implements [`s3s::S3`]; each operation family lives in its own file and
//! every operation not listed here keeps s3s's default answer, `NotImplemented`.
//! - [`bucket`]: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation.
//! - [`put`]: the PutObject operation.
//! - [`get`]: GetObject, HeadObject.
//! - [`delete`]: the DeleteObject operation.
//! - [`list`]: ListObjectsV2, ListObjects (v1), continuation tokens, URL encoding.
//! - [`checksum`]: S3 additional checksums (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256).
//! - [`headers`]: stored headers, user metadata, conditional requests.
//! - [`names`]: bucket/key naming rules and virtual-hosted-style host parsing.
//! - [`multipart`]: multipart uploads (create, parts, part copies, complete, abort, lists).
//! - [`copy`]: CopyObject (metadata only: the copy shares the source's chunks).
//! - [`copy_source`]: `x-amz-copy-source`, its conditions and range.
//! - [`delete_many`]: the DeleteObjects operation (batch delete).
//! - [`versions`]: `versionId` handling, ListObjectVersions, GetBucketVersioning.
//! - [`write_condition`]: If-None-Match / If-Match on writes.

pub mod bucket;
pub mod checksum;
pub mod copy;
pub mod copy_source;
pub mod delete;
pub mod delete_many;
pub mod get;
pub mod headers;
pub mod list;
pub mod multipart;
pub mod names;
pub mod put;
pub mod versions;
pub mod write_condition;

use crate::config::GatewayConfig;
use crate::error;
use crate::pipeline::DataPath;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, S3};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trireme_api::meta::GetBucket;
use trireme_client::MetaClient;

/// How long a bucket seen to exist is trusted before a PUT checks again. Only an early
/// error depends on it: CommitObject itself fails on a missing bucket.
const BUCKET_CACHE_TTL: Duration = Duration::from_secs(5);

/// The gateway's S3 service: stateless apart from short-lived caches.
pub struct TriremeS3 {
    pub(crate) meta: Arc<MetaClient>,
    pub(crate) data: DataPath,
    pub(crate) region: String,
    pub(crate) max_put_size: u64,
    known_buckets: Mutex<HashMap<String, Instant>>,
}

impl TriremeS3 {
    pub fn new(config: &GatewayConfig, meta: Arc<MetaClient>, data: DataPath) -> Self {
        TriremeS3 {
            meta,
            data,
            region: config.region.clone(),
            max_put_size: config.max_put_size,
            known_buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Fails with NoSuchBucket unless the bucket exists (cached for a few seconds).
    pub(crate) async fn ensure_bucket(&self, bucket: &str) -> S3Result<()> {
        {
            let known = self.known_buckets.lock().unwrap_or_else(|p| p.into_inner());
            if known
                .get(bucket)
                .is_some_and(|t| t.elapsed() < BUCKET_CACHE_TTL)
            {
                return Ok(());
            }
        }
        self.meta
            .call(&GetBucket {
                name: bucket.to_string(),
            })
            .await
            .map_err(|e| error::from_client(&e))?;
        let mut known = self.known_buckets.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() > 10_000 {
            known.clear();
        }
        known.insert(bucket.to_string(), Instant::now());
        Ok(())
    }

    pub(crate) fn forget_bucket(&self, bucket: &str) {
        self.known_buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(bucket);
    }
}

/// The access key that signed the request (s3s refuses anonymous requests before us).
pub(crate) fn access_key<T>(req: &S3Request<T>) -> S3Result<String> {
    req.credentials
        .as_ref()
        .map(|c| c.access_key.clone())
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Anonymous access is not allowed.",
            )
        })
}

#[async_trait::async_trait]
impl S3 for TriremeS3 {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        bucket::list_buckets(self, req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        bucket::create_bucket(self, req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        bucket::head_bucket(self, req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        bucket::delete_bucket(self, req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        bucket::get_bucket_location(self, req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        put::put_object(self, req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        get::get_object(self, req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        get::head_object(self, req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        delete::delete_object(self, req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        list::list_objects_v2(self, req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        list::list_objects(self, req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        multipart::create::create_multipart_upload(self, req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        multipart::part::upload_part(self, req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        multipart::copy_part::upload_part_copy(self, req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        multipart::complete::complete_multipart_upload(self, req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        multipart::complete::abort_multipart_upload(self, req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        multipart::list::list_parts(self, req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        multipart::list::list_multipart_uploads(self, req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        copy::copy_object(self, req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        delete_many::delete_objects(self, req).await
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        versions::list_object_versions(self, req).await
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        versions::get_bucket_versioning(self, req).await
    }
}
