//! GetObject and HeadObject: one linearizable metadata read, conditional checks, range
//! resolution, then (GET only) the chunk stream. Headers are set from the record before the
//! body starts; if a chunk the answer needs has no healthy replica in the record, or the
//! first slice cannot be read from any replica, the answer is a 503 naming the chunk (see
//! `DataPath::open_stream`). HEAD answers from the record alone.

use super::headers::{self, Conditions, StoredHeaders};
use super::{checksum, multipart, versions, TriremeS3};
use crate::error;
use crate::pipeline::inline;
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
    /// With `partNumber` on a multipart object: its number of parts.
    parts_count: Option<i32>,
}

fn invalid_range(size: u64) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidRange,
        format!("The requested range is not satisfiable (object size {size})"),
    )
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

fn invalid_part_number() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("InvalidPartNumber".into()),
        "The requested partnumber is not satisfiable",
    );
    e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
    e
}

/// Checks `partNumber` before the record is read: 1..=10000, and not with a Range.
fn check_part_request(part: Option<i32>, has_range: bool) -> S3Result<Option<u32>> {
    let Some(n) = part else { return Ok(None) };
    let n = multipart::part_number(n)?;
    if has_range {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter",
        ));
    }
    Ok(Some(n))
}

/// The bytes of part `n` and the object's part count. A multipart object's parts are
/// `part_sizes`; any other object is its own single part. A part beyond the last is
/// InvalidPartNumber (416).
pub fn part_span(part_sizes: &[u64], size: u64, n: u32) -> S3Result<(Span<u64>, Option<i32>)> {
    if part_sizes.is_empty() {
        return if n == 1 {
            Ok((0..size, None))
        } else {
            Err(invalid_part_number())
        };
    }
    let idx = (n as usize)
        .checked_sub(1)
        .filter(|i| *i < part_sizes.len())
        .ok_or_else(invalid_part_number)?;
    let start: u64 = part_sizes[..idx].iter().sum();
    let count = i32::try_from(part_sizes.len()).unwrap_or(i32::MAX);
    Ok((start..start + part_sizes[idx], Some(count)))
}

async fn resolve(
    s3: &TriremeS3,
    bucket: String,
    key: String,
    conditions: &Conditions,
    range: Option<&Range>,
    part: Option<u32>,
) -> S3Result<Resolved> {
    let resp = s3
        .meta
        .call(&GetObject { bucket, key })
        .await
        .map_err(|e| error::from_client(&e))?;
    let rec = resp.object;
    headers::check_conditions(&rec, conditions)?;
    let size = rec.size;
    let mut parts_count = None;
    let (span, partial) = match (part, range::resolve(range, size)) {
        (Some(n), _) => {
            let (span, count) = part_span(&rec.part_sizes, size, n)?;
            parts_count = count;
            // A multipart object's part is a partial answer; a simple object's part 1 is
            // the whole object.
            (span, count.is_some())
        }
        (None, Ok(Some(r))) => (r, true),
        (None, Ok(None)) => (0..size, false),
        (None, Err(range::Unsatisfiable)) => return Err(invalid_range(size)),
    };
    Ok(Resolved {
        rec,
        chunkservers: resp.chunkservers,
        span,
        partial,
        parts_count,
    })
}

pub async fn get_object(
    s3: &TriremeS3,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let input = req.input;
    versions::require_current(input.version_id.as_deref())?;
    let part = check_part_request(input.part_number, input.range.is_some())?;
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
        part,
    )
    .await?;
    let sums = checksums_out(input.checksum_mode.as_ref(), &r);
    let checksum_type = checksum::checksum_type(&sums);

    let lengths: Vec<u64> = r.rec.chunks.iter().map(|c| c.length).collect();
    let slices: Vec<ChunkSlice> = range::slices_for(&lengths, r.span.clone());
    let body = if let Some(inline) = &r.rec.inline {
        let bytes = inline::verified_slice(inline, r.span.clone()).map_err(|e| {
            tracing::error!(error = %e, "GET: inline data unreadable");
            error::from_read(&e)
        })?;
        Some(StreamingBlob::wrap(inline::body(bytes)))
    } else if slices.is_empty() {
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
        parts_count: r.parts_count,
        checksum_type,
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

pub async fn head_object(
    s3: &TriremeS3,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let input = req.input;
    versions::require_current(input.version_id.as_deref())?;
    let part = check_part_request(input.part_number, input.range.is_some())?;
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
        part,
    )
    .await?;
    let sums = checksums_out(input.checksum_mode.as_ref(), &r);
    let checksum_type = checksum::checksum_type(&sums);
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
        parts_count: r.parts_count,
        checksum_type,
        ..Default::default()
    };
    // s3s answers HEAD with 200 even for a range (it ignores a status set here);
    // `guard::partial_head` turns a HEAD carrying Content-Range into 206, as S3 answers.
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_requests_and_spans() {
        assert_eq!(check_part_request(None, true).unwrap(), None);
        assert_eq!(check_part_request(Some(2), false).unwrap(), Some(2));
        let code = |r: S3Result<Option<u32>>| r.unwrap_err().code().clone();
        assert_eq!(
            code(check_part_request(Some(1), true)),
            S3ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(check_part_request(Some(0), false)),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(check_part_request(Some(10_001), false)),
            S3ErrorCode::InvalidArgument
        );

        // A simple object is its own part 1.
        assert_eq!(part_span(&[], 10, 1).unwrap(), (0..10, None));
        let e = part_span(&[], 10, 2).unwrap_err();
        assert_eq!(e.code().as_str(), "InvalidPartNumber");
        assert_eq!(
            e.status_code(),
            Some(http::StatusCode::RANGE_NOT_SATISFIABLE)
        );

        let sizes = [5, 5, 3];
        assert_eq!(part_span(&sizes, 13, 1).unwrap(), (0..5, Some(3)));
        assert_eq!(part_span(&sizes, 13, 2).unwrap(), (5..10, Some(3)));
        assert_eq!(part_span(&sizes, 13, 3).unwrap(), (10..13, Some(3)));
        assert!(part_span(&sizes, 13, 4).is_err());
    }
}
