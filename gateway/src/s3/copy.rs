//! CopyObject: a metadata operation. The gateway checks the copy-source conditions on the
//! source record it reads, then one CopyObject RPC makes the destination share the source's
//! chunks (no data moves, so sources of any size copy in one request). The source ETag that
//! was checked goes with the RPC: if the source changed in between, the copy fails with
//! 412 instead of copying something the conditions were not checked against.

use super::copy_source::{self, CopyConditions};
use super::headers::{self, timestamp_ms, StoredHeaders};
use super::multipart::refuse_sse_c;
use super::{checksum, names, TriremeS3};
use crate::error;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use trireme_api::meta::CopyObject;
use trireme_api::multipart::UploadMetadata;

/// Whether `x-amz-metadata-directive` asks to REPLACE the metadata (default COPY).
pub fn replaces_metadata(directive: Option<&MetadataDirective>) -> S3Result<bool> {
    match directive.map(MetadataDirective::as_str) {
        None => Ok(false),
        Some(d) if d.eq_ignore_ascii_case(MetadataDirective::COPY) => Ok(false),
        Some(d) if d.eq_ignore_ascii_case(MetadataDirective::REPLACE) => Ok(true),
        Some(_) => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Unknown metadata directive.",
        )),
    }
}

/// A copy onto itself must change something; only metadata (REPLACE) or the storage class
/// can change here.
pub fn check_self_copy(same_object: bool, replace: bool, storage_class: bool) -> S3Result<()> {
    if same_object && !replace && !storage_class {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself \
             without changing the object's metadata, storage class, website redirect location \
             or encryption attributes.",
        ));
    }
    Ok(())
}

pub async fn copy_object(
    s3: &TriremeS3,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    let mut input = req.input;
    if !names::key_len_ok(&input.key) {
        return Err(S3Error::with_message(
            S3ErrorCode::KeyTooLongError,
            "Your key is too long.",
        ));
    }
    refuse_sse_c(
        input.sse_customer_key.as_ref(),
        input.sse_customer_algorithm.as_ref(),
    )?;
    refuse_sse_c(
        input.copy_source_sse_customer_key.as_ref(),
        input.copy_source_sse_customer_algorithm.as_ref(),
    )?;
    let src = copy_source::source(&input.copy_source)?;
    let replace = replaces_metadata(input.metadata_directive.as_ref())?;
    check_self_copy(
        src.bucket == input.bucket && src.key == input.key,
        replace,
        input.storage_class.is_some(),
    )?;
    let replace_metadata = if replace {
        let stored = StoredHeaders {
            content_encoding: input.content_encoding.take(),
            content_disposition: input.content_disposition.take(),
            content_language: input.content_language.take(),
            cache_control: input.cache_control.take(),
            expires: input.expires.take(),
        };
        Some(UploadMetadata {
            content_type: input.content_type.take(),
            headers: stored.into_map(),
            user_metadata: headers::user_metadata(input.metadata.take())?,
            checksum_algorithm: None,
            checksum_type: None,
        })
    } else {
        None
    };
    let conditions = CopyConditions {
        if_match: input.copy_source_if_match.take(),
        if_none_match: input.copy_source_if_none_match.take(),
        if_modified_since: input.copy_source_if_modified_since.take(),
        if_unmodified_since: input.copy_source_if_unmodified_since.take(),
    };
    let source = copy_source::read_source(s3, &src, &conditions).await?;
    let copied = s3
        .meta
        .call(&CopyObject {
            src_bucket: src.bucket.clone(),
            src_key: src.key.clone(),
            dst_bucket: input.bucket.clone(),
            dst_key: input.key.clone(),
            src_etag: Some(source.object.etag.clone()),
            replace_metadata,
            condition: None,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    tracing::debug!(src_bucket = %src.bucket, src_key = %src.key, bucket = %input.bucket, key = %input.key, size = copied.size, "object copied");
    let sums = checksum::from_map(&source.object.checksums);
    let output = CopyObjectOutput {
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(ETag::Strong(copied.etag)),
            last_modified: Some(timestamp_ms(copied.last_modified_ms)),
            checksum_type: checksum::checksum_type(&sums),
            checksum_crc32: sums.checksum_crc32,
            checksum_crc32c: sums.checksum_crc32c,
            checksum_crc64nvme: sums.checksum_crc64nvme,
            checksum_sha1: sums.checksum_sha1,
            checksum_sha256: sums.checksum_sha256,
        }),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_and_self_copies() {
        assert!(!replaces_metadata(None).unwrap());
        let d = |s: &str| MetadataDirective::from(s.to_string());
        assert!(!replaces_metadata(Some(&d("COPY"))).unwrap());
        assert!(replaces_metadata(Some(&d("REPLACE"))).unwrap());
        assert_eq!(
            replaces_metadata(Some(&d("MOVE"))).unwrap_err().code(),
            &S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            check_self_copy(true, false, false).unwrap_err().code(),
            &S3ErrorCode::InvalidRequest
        );
        assert!(check_self_copy(true, true, false).is_ok());
        assert!(check_self_copy(true, false, true).is_ok());
        assert!(check_self_copy(false, false, false).is_ok());
    }
}
