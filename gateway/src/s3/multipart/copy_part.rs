//! UploadPartCopy: a part made from (a range of) an existing object. The gateway reads the
//! source's chunks from their replicas (verified, with failover) and writes the bytes as new
//! chunks of the part; the data never goes through the client. Sources larger than a part
//! (5 GiB) need a range.

use super::{get_upload, part_hasher, part_number, refuse_sse_c};
use crate::error;
use crate::s3::copy_source::{self, CopyConditions};
use crate::s3::headers::timestamp_ms;
use crate::s3::{checksum, TriremeS3};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use trireme_api::multipart::{PartRecord, RecordPart};

pub async fn upload_part_copy(
    s3: &TriremeS3,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let input = req.input;
    let number = part_number(input.part_number)?;
    refuse_sse_c(
        input.sse_customer_key.as_ref(),
        input.sse_customer_algorithm.as_ref(),
    )?;
    refuse_sse_c(
        input.copy_source_sse_customer_key.as_ref(),
        input.copy_source_sse_customer_algorithm.as_ref(),
    )?;
    let src = copy_source::source(&input.copy_source)?;
    let upload = get_upload(s3, &input.bucket, &input.key, &input.upload_id).await?;
    let conditions = CopyConditions {
        if_match: input.copy_source_if_match,
        if_none_match: input.copy_source_if_none_match,
        if_modified_since: input.copy_source_if_modified_since,
        if_unmodified_since: input.copy_source_if_unmodified_since,
    };
    let source = copy_source::read_source(s3, &src, &conditions).await?;
    let size = source.object.size;
    let span = match input.copy_source_range.as_deref() {
        Some(r) => copy_source::copy_range(r, size)?,
        None => 0..size,
    };
    if span.end - span.start > s3.max_put_size {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            format!(
                "The specified copy source is larger than the maximum allowable size for a \
                 copy source: {}",
                s3.max_put_size
            ),
        ));
    }
    let hasher = part_hasher(&Checksum::default(), None, &[], &upload);
    let (chunks, digest) = s3
        .data
        .copy_span(&source.object, source.chunkservers, span, hasher)
        .await
        .map_err(|e| {
            tracing::warn!(src_bucket = %src.bucket, src_key = %src.key, error = %e, "part copy failed");
            error::from_put(&e)
        })?;
    let computed = digest.checksums.clone().unwrap_or_default();
    let etag = digest.etag();
    let recorded = s3
        .meta
        .call(&RecordPart {
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            upload_id: input.upload_id.clone(),
            part: PartRecord {
                part_number: number,
                size: digest.size,
                etag: etag.clone(),
                last_modified_ms: 0,
                checksums: checksum::to_map(&computed),
                chunks,
            },
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    let output = UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(etag)),
            last_modified: Some(timestamp_ms(recorded.last_modified_ms)),
            checksum_crc32: computed.checksum_crc32,
            checksum_crc32c: computed.checksum_crc32c,
            checksum_crc64nvme: computed.checksum_crc64nvme,
            checksum_sha1: computed.checksum_sha1,
            checksum_sha256: computed.checksum_sha256,
        }),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}
