//! UploadPart: the upload is checked before any body byte is read; the body then goes
//! through the PutObject pipeline (chunks with BLAKE3, MD5 for the part ETag, S3 checksums,
//! Content-MD5 and x-amz-content-sha256 verified) and the part is recorded once every chunk
//! is durable. A part number uploaded again replaces the earlier part.

use super::{get_upload, part_hasher, part_number, refuse_sse_c};
use crate::error;
use crate::s3::put::{check_declared_length, decode_content_md5, verify_body};
use crate::s3::{checksum, TriremeS3};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};
use trireme_api::multipart::{PartRecord, RecordPart};

pub async fn upload_part(
    s3: &TriremeS3,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let trailing = req.trailing_headers.clone();
    let trailer_names = checksum::trailer_names(&req.headers);
    let mut input = req.input;
    let number = part_number(input.part_number)?;
    refuse_sse_c(
        input.sse_customer_key.as_ref(),
        input.sse_customer_algorithm.as_ref(),
    )?;
    let declared = check_declared_length(input.content_length, s3.max_put_size)?;
    let want_md5 = match input.content_md5.as_deref() {
        Some(v) => Some(decode_content_md5(v).map_err(|e| error::from_put(&e))?),
        None => None,
    };
    let upload = get_upload(s3, &input.bucket, &input.key, &input.upload_id).await?;
    let claimed = Checksum {
        checksum_crc32: input.checksum_crc32.take(),
        checksum_crc32c: input.checksum_crc32c.take(),
        checksum_crc64nvme: input.checksum_crc64nvme.take(),
        checksum_sha1: input.checksum_sha1.take(),
        checksum_sha256: input.checksum_sha256.take(),
        ..Default::default()
    };
    let hasher = part_hasher(
        &claimed,
        input.checksum_algorithm.as_ref(),
        &trailer_names,
        &upload,
    );

    let (chunks, digest) = s3
        .data
        .upload(input.body.take(), declared, s3.max_put_size, hasher)
        .await
        .map_err(|e| {
            tracing::info!(bucket = %input.bucket, key = %input.key, part = number, error = %e, "part upload failed");
            error::from_put(&e)
        })?;
    let computed = verify_body(&digest, declared, want_md5, claimed, trailing.as_ref())?;

    let etag = digest.etag();
    s3.meta
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
    tracing::debug!(bucket = %input.bucket, key = %input.key, part = number, size = digest.size, "part recorded");
    let output = UploadPartOutput {
        e_tag: Some(ETag::Strong(etag)),
        checksum_crc32: computed.checksum_crc32,
        checksum_crc32c: computed.checksum_crc32c,
        checksum_crc64nvme: computed.checksum_crc64nvme,
        checksum_sha1: computed.checksum_sha1,
        checksum_sha256: computed.checksum_sha256,
        ..Default::default()
    };
    Ok(S3Response::new(output))
}
