//! PutObject: stream the body into replicated chunks, then commit the object record. The
//! client gets 200 and the ETag only after the commit; a failed body (SHA-256 or length
//! mismatch, Content-MD5 mismatch, disconnect) commits nothing. `If-None-Match: *` and
//! `If-Match` go with the commit and are decided atomically by the meta-server.

use super::headers::{self, StoredHeaders};
use super::{checksum, names, write_condition, TriremeS3};
use crate::error::{self, PutError};
use crate::pipeline::chunker::ObjectDigest;
use crate::pipeline::Stored;
use base64::Engine;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use trireme_api::meta::CommitObject;
use trireme_api::object::{InlineData, ObjectRecord};

/// Refuses requests using features this gateway does not implement, rather than ignoring
/// what the client asked for.
fn refuse_unsupported(input: &PutObjectInput) -> S3Result<()> {
    let unsupported = if input.write_offset_bytes.is_some() {
        Some("appends (x-amz-write-offset-bytes)")
    } else if input.sse_customer_key.is_some() || input.sse_customer_algorithm.is_some() {
        Some("server-side encryption with customer keys")
    } else {
        None
    };
    match unsupported {
        Some(what) => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            format!("{what} are not implemented"),
        )),
        None => Ok(()),
    }
}

/// Decodes a Content-MD5 header (base64 of 16 bytes).
pub fn decode_content_md5(v: &str) -> Result<[u8; 16], PutError> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .map_err(|_| PutError::InvalidDigest)?;
    raw.try_into().map_err(|_| PutError::InvalidDigest)
}

/// What every uploaded body (PutObject, UploadPart) must pass before anything is recorded: its
/// length matches Content-Length, its MD5 matches Content-MD5, and every checksum the client
/// claimed (in headers or in the aws-chunked trailer) matches what was computed. Returns the
/// computed checksums.
pub fn verify_body(
    digest: &ObjectDigest,
    declared: Option<u64>,
    want_md5: Option<[u8; 16]>,
    mut claimed: Checksum,
    trailing: Option<&s3s::TrailingHeaders>,
) -> S3Result<Checksum> {
    if declared.is_some_and(|d| d != digest.size) {
        return Err(error::from_body(&crate::error::BodyError::Incomplete));
    }
    if want_md5.is_some_and(|m| m != digest.md5) {
        return Err(error::from_put(&PutError::BadDigest));
    }
    checksum::add_trailers(&mut claimed, trailing.and_then(|t| t.take()).as_ref());
    let computed = digest.checksums.clone().unwrap_or_default();
    checksum::verify(&computed, &claimed)?;
    Ok(computed)
}

/// Checks the declared length against the PUT size limit before any byte is read.
pub fn check_declared_length(len: Option<i64>, limit: u64) -> S3Result<Option<u64>> {
    match len {
        None => Ok(None),
        Some(n) if n < 0 => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "negative Content-Length",
        )),
        Some(n) if n as u64 > limit => Err(error::from_put(&PutError::TooLarge { limit })),
        Some(n) => Ok(Some(n as u64)),
    }
}

pub async fn put_object(
    s3: &TriremeS3,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let trailing = req.trailing_headers.clone();
    let trailer_names = checksum::trailer_names(&req.headers);
    let mut input = req.input;
    if !names::key_len_ok(&input.key) {
        return Err(S3Error::with_message(
            S3ErrorCode::KeyTooLongError,
            "Your key is too long.",
        ));
    }
    refuse_unsupported(&input)?;
    let condition =
        write_condition::from_headers(input.if_match.as_ref(), input.if_none_match.as_ref())?;
    let declared = check_declared_length(input.content_length, s3.max_put_size)?;
    let want_md5 = match input.content_md5.as_deref() {
        Some(v) => Some(decode_content_md5(v).map_err(|e| error::from_put(&e))?),
        None => None,
    };
    let user_metadata = headers::user_metadata(input.metadata.take())?;
    let claimed = checksum::from_input(&input);
    let hasher = checksum::hasher_for(&claimed, input.checksum_algorithm.as_ref(), &trailer_names);
    s3.ensure_bucket(&input.bucket).await?;

    let body = input.body.take();
    let (kept, digest) = s3
        .data
        .upload_object(body, declared, s3.max_put_size, hasher, s3.data.inline_max)
        .await
        .map_err(|e| {
            tracing::info!(bucket = %input.bucket, key = %input.key, error = %e, "PUT failed before commit");
            error::from_put(&e)
        })?;
    let computed = verify_body(&digest, declared, want_md5, claimed, trailing.as_ref())?;

    let stored = StoredHeaders {
        content_encoding: input.content_encoding.take(),
        content_disposition: input.content_disposition.take(),
        content_language: input.content_language.take(),
        cache_control: input.cache_control.take(),
        expires: input.expires.take(),
    };
    let etag = digest.etag();
    let (chunks, inline) = match kept {
        Stored::Chunks(chunks) => (chunks, None),
        Stored::Inline(c) => (
            Vec::new(),
            Some(InlineData {
                bytes: c.data.to_vec(),
                blake3: c.blake3,
            }),
        ),
    };
    let object = ObjectRecord {
        size: digest.size,
        etag: etag.clone(),
        last_modified_ms: 0,
        content_type: input.content_type.take(),
        headers: stored.into_map(),
        user_metadata,
        checksums: checksum::to_map(&computed),
        chunks,
        part_sizes: Vec::new(),
        inline,
    };
    s3.meta
        .call(&CommitObject {
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            object,
            condition,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    tracing::debug!(bucket = %input.bucket, key = %input.key, size = digest.size, "object committed");
    let output = PutObjectOutput {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_md5() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        let m = decode_content_md5("1B2M2Y8AsgTpgAmY7PhCfg==").unwrap();
        assert_eq!(hex::encode(m), "d41d8cd98f00b204e9800998ecf8427e");
        assert!(matches!(
            decode_content_md5("nope"),
            Err(PutError::InvalidDigest)
        ));
        assert!(matches!(
            decode_content_md5("AAAA"),
            Err(PutError::InvalidDigest)
        ));
    }

    #[test]
    fn declared_length_limits() {
        assert_eq!(check_declared_length(None, 10).unwrap(), None);
        assert_eq!(check_declared_length(Some(10), 10).unwrap(), Some(10));
        let e = check_declared_length(Some(11), 10).unwrap_err();
        assert_eq!(e.code(), &S3ErrorCode::EntityTooLarge);
        assert!(check_declared_length(Some(-1), 10).is_err());
    }
}
