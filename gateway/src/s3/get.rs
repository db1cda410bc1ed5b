//! GetObject and HeadObject: one linearizable metadata read, conditional checks, range
//! resolution, then (GET only) the chunk stream. Headers are set from the record before the
//! body starts; if the first slice cannot be read from any replica the answer is a 503.

use super::headers::{self, Conditions, StoredHeaders};
use super::{checksum, TriremeS3};
use crate::error;
use crate::pipeline::range::{self, ChunkSlice};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use std::collections::BTreeMap;
use std::ops::Range as Span;
use std::sync::Arc;
use trireme_api::ids::ChunkserverId;
use trireme_api::meta::GetObject;
use trireme_api::object::ObjectRecord;

/// What GET and HEAD have in common once the record is read.
struct Resolved {
    rec: ObjectRecord,
    chunkservers: BTreeMap<ChunkserverId, String>,
    /// The bytes to send, and whether they are a partial (206) answer.
    span: Span<u64>,
    partial: bool,
}

fn invalid_range(size: u64) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidRange,
        format!("The requested range is not satisfiable (object size {size})"),
    )
}

/// Versions are not kept: only the "null" version (the current object) exists.
fn check_version(version_id: Option<&str>) -> S3Result<()> {
    match version_id {
        None | Some("null") => Ok(()),
        Some(_) => Err(S3Error::with_message(
            S3ErrorCode::NoSuchVersion,
            "The specified version does not exist.",
        )),
    }
}

/// The stored checksums, for a whole-object answer with `x-amz-checksum-mode: ENABLED`.
fn checksums_out(mode: Option<&ChecksumMode>, r: &Resolved) -> Checksum {
    let enabled = mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED));
    if enabled && !r.partial {
        checksum::from_map(&r.rec.checksums)
    } else {
        Checksum::default()
    }
}

/// A single-part object has exactly one part; Range and partNumber are exclusive.
fn check_part(part: Option<i32>, has_range: bool) -> S3Result<()> {
    match (part, has_range) {
        (None, _) | (Some(1), false) => Ok(()),
        (Some(1), true) => Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Cannot specify both Range and partNumber",
        )),
        (Some(_), _) => {
            let mut e = S3Error::with_message(
                S3ErrorCode::Custom("InvalidPartNumber".into()),
                "The requested partnumber is not satisfiable",
            );
            e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
            Err(e)
        }
    }
}

async fn resolve(
    s3: &TriremeS3,
    bucket: String,
    key: String,
    conditions: &Conditions,
    range: Option<&Range>,
) -> S3Result<Resolved> {
    let resp = s3
        .meta
        .call(&GetObject { bucket, key })
        .await
        .map_err(|e| error::from_client(&e))?;
    let rec = resp.object;
    headers::check_conditions(&rec, conditions)?;
    let size = rec.size;
    let (span, partial) = match range::resolve(range, size) {
        Ok(Some(r)) => (r, true),
        Ok(None) => (0..size, false),
        Err(range::Unsatisfiable) => return Err(invalid_range(size)),
    };
    Ok(Resolved {
        rec,
        chunkservers: resp.chunkservers,
        span,
        partial,
    })
}

pub async fn get_object(
    s3: &TriremeS3,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let input = req.input;
    check_version(input.version_id.as_deref())?;
    check_part(input.part_number, input.range.is_some())?;
    let conditions = Conditions {
        if_match: input.if_match,
        if_none_match: input.if_none_match,
        if_modified_since: input.if_modified_since,
        if_unmodified_since: input.if_unmodified_since,
    };
    let r = resolve(
        s3,
        input.bucket,
        input.key,
        &conditions,
        input.range.as_ref(),
    )
    .await?;
    let sums = checksums_out(input.checksum_mode.as_ref(), &r);

    let lengths: Vec<u64> = r.rec.chunks.iter().map(|c| c.length).collect();
    let slices: Vec<ChunkSlice> = range::slices_for(&lengths, r.span.clone());
    let body = if slices.is_empty() {
        None
    } else {
        let chunks = Arc::new(r.rec.chunks.clone());
        let addrs = Arc::new(r.chunkservers);
        let stream = s3
            .data
            .open_stream(chunks, addrs, slices)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "GET: first chunk unreadable");
                error::from_read(&e)
            })?;
        Some(StreamingBlob::wrap(stream))
    };

    let stored = StoredHeaders::from_record(&r.rec);
    let output = GetObjectOutput {
        accept_ranges: Some("bytes".into()),
        body,
        cache_control: stored.cache_control,
        checksum_crc32: sums.checksum_crc32,
        checksum_crc32c: sums.checksum_crc32c,
        checksum_crc64nvme: sums.checksum_crc64nvme,
        checksum_sha1: sums.checksum_sha1,
        checksum_sha256: sums.checksum_sha256,
        content_disposition: stored.content_disposition,
        content_encoding: stored.content_encoding,
        content_language: stored.content_language,
        content_length: Some((r.span.end - r.span.start) as i64),
        content_range: r.partial.then(|| range::content_range(&r.span, r.rec.size)),
        content_type: Some(
            r.rec
                .content_type
                .clone()
                .unwrap_or_else(|| headers::DEFAULT_CONTENT_TYPE.into()),
        ),
        e_tag: Some(headers::etag(&r.rec)),
        expires: stored.expires,
        last_modified: Some(headers::timestamp_ms(r.rec.last_modified_ms)),
        metadata: headers::metadata_out(&r.rec),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

pub async fn head_object(
    s3: &TriremeS3,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let input = req.input;
    check_version(input.version_id.as_deref())?;
    check_part(input.part_number, input.range.is_some())?;
    let conditions = Conditions {
        if_match: input.if_match,
        if_none_match: input.if_none_match,
        if_modified_since: input.if_modified_since,
        if_unmodified_since: input.if_unmodified_since,
    };
    let r = resolve(
        s3,
        input.bucket,
        input.key,
        &conditions,
        input.range.as_ref(),
    )
    .await?;
    let sums = checksums_out(input.checksum_mode.as_ref(), &r);
    let stored = StoredHeaders::from_record(&r.rec);
    let output = HeadObjectOutput {
        accept_ranges: Some("bytes".into()),
        cache_control: stored.cache_control,
        checksum_crc32: sums.checksum_crc32,
        checksum_crc32c: sums.checksum_crc32c,
        checksum_crc64nvme: sums.checksum_crc64nvme,
        checksum_sha1: sums.checksum_sha1,
        checksum_sha256: sums.checksum_sha256,
        content_disposition: stored.content_disposition,
        content_encoding: stored.content_encoding,
        content_language: stored.content_language,
        content_length: Some((r.span.end - r.span.start) as i64),
        content_range: r.partial.then(|| range::content_range(&r.span, r.rec.size)),
        content_type: Some(
            r.rec
                .content_type
                .clone()
                .unwrap_or_else(|| headers::DEFAULT_CONTENT_TYPE.into()),
        ),
        e_tag: Some(headers::etag(&r.rec)),
        expires: stored.expires,
        last_modified: Some(headers::timestamp_ms(r.rec.last_modified_ms)),
        metadata: headers::metadata_out(&r.rec),
        parts_count: input.part_number.map(|_| 1),
        ..Default::default()
    };
    // s3s answers HEAD with 200 even for a range (it ignores a status set here); the
    // Content-Range and Content-Length still describe the range.
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_parts() {
        assert!(check_version(None).is_ok());
        assert!(check_version(Some("null")).is_ok());
        assert_eq!(
            check_version(Some("v1")).unwrap_err().code(),
            &S3ErrorCode::NoSuchVersion
        );
        assert!(check_part(None, true).is_ok());
        assert!(check_part(Some(1), false).is_ok());
        assert!(check_part(Some(1), true).is_err());
        let e = check_part(Some(2), false).unwrap_err();
        assert_eq!(
            e.status_code(),
            Some(http::StatusCode::RANGE_NOT_SATISFIABLE)
        );
    }
}
