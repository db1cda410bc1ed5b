//! ListObjectsV2 and ListObjects (v1). One ListObjects RPC per page; the meta leader does
//! the range scan, prefix and delimiter roll-up.
//!
//! The V2 continuation token is opaque to clients: base64 of the page's `next_marker`, sent
//! back as `continue_after`. V1's marker is a key (or, with a delimiter, possibly a common
//! prefix, whose keys are all skipped); NextMarker is returned only with a delimiter, as in
//! Amazon S3.

use super::headers::timestamp_ms;
use super::TriremeS3;
use crate::error;
use base64::Engine;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use trireme_api::meta::{GetBucket, ListObjects, ListObjectsResponse, ObjectSummary};

/// Most keys per page.
pub const MAX_KEYS: u32 = 1000;

/// Encodes a V2 continuation token.
pub fn encode_token(next_marker: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(next_marker.as_bytes())
}

/// Decodes a V2 continuation token back to the marker it carries.
pub fn decode_token(token: &str) -> S3Result<String> {
    base64::engine::general_purpose::STANDARD
        .decode(token.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "The continuation token provided is incorrect",
            )
        })
}

/// Percent-encodes a key for `encoding-type=url` answers: everything but unreserved
/// characters and `/`.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `max-keys` clamped to 0..=1000 (default 1000); negative is an error.
pub fn clamp_max_keys(v: Option<i32>) -> S3Result<u32> {
    match v {
        None => Ok(MAX_KEYS),
        Some(n) if n < 0 => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "max-keys must not be negative",
        )),
        Some(n) => Ok((n as u32).min(MAX_KEYS)),
    }
}

pub(crate) fn url_mode(e: Option<&EncodingType>) -> S3Result<bool> {
    match e.map(EncodingType::as_str) {
        None => Ok(false),
        Some(EncodingType::URL) => Ok(true),
        Some(other) => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            format!("Invalid Encoding Method {other:?}"),
        )),
    }
}

/// The page request common to both versions.
struct PageQuery {
    bucket: String,
    prefix: String,
    delimiter: Option<String>,
    start_after: Option<String>,
    continue_after: Option<String>,
    max_keys: u32,
    want_owner: bool,
}

struct Page {
    resp: ListObjectsResponse,
    owner: Option<Owner>,
}

async fn fetch(s3: &TriremeS3, q: PageQuery) -> S3Result<Page> {
    let list = async {
        if q.max_keys == 0 {
            return Ok(None);
        }
        let req = ListObjects {
            bucket: q.bucket.clone(),
            prefix: q.prefix.clone(),
            delimiter: q.delimiter.clone(),
            start_after: q.start_after.clone(),
            continue_after: q.continue_after.clone(),
            max_keys: q.max_keys,
        };
        s3.meta.call(&req).await.map(Some)
    };
    let bucket = async {
        if q.want_owner || q.max_keys == 0 {
            s3.meta
                .call(&GetBucket {
                    name: q.bucket.clone(),
                })
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let (list, bucket) = tokio::join!(list, bucket);
    let bucket = bucket.map_err(|e| error::from_client(&e))?;
    let resp = list
        .map_err(|e| error::from_client(&e))?
        .unwrap_or_default();
    let owner = bucket.filter(|_| q.want_owner).map(|b| Owner {
        display_name: Some(b.owner.clone()),
        id: Some(b.owner),
    });
    Ok(Page { resp, owner })
}

fn object(o: ObjectSummary, owner: Option<&Owner>, url: bool) -> Object {
    Object {
        e_tag: Some(ETag::Strong(o.etag)),
        key: Some(if url { url_encode(&o.key) } else { o.key }),
        last_modified: Some(timestamp_ms(o.last_modified_ms)),
        owner: owner.cloned(),
        size: Some(o.size as i64),
        storage_class: Some(ObjectStorageClass::from_static(
            ObjectStorageClass::STANDARD,
        )),
        ..Default::default()
    }
}

fn enc(s: Option<String>, url: bool) -> Option<String> {
    s.map(|s| if url { url_encode(&s) } else { s })
}

fn prefixes(p: Vec<String>, url: bool) -> CommonPrefixList {
    p.into_iter()
        .map(|p| CommonPrefix {
            prefix: enc(Some(p), url),
        })
        .collect()
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

pub async fn list_objects_v2(
    s3: &TriremeS3,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let input = req.input;
    let url = url_mode(input.encoding_type.as_ref())?;
    let max_keys = clamp_max_keys(input.max_keys)?;
    let continue_after = input
        .continuation_token
        .as_deref()
        .map(decode_token)
        .transpose()?;
    let delimiter = non_empty(input.delimiter.clone());
    let q = PageQuery {
        bucket: input.bucket.clone(),
        prefix: input.prefix.clone().unwrap_or_default(),
        delimiter: delimiter.clone(),
        // StartAfter only applies to the first page; a token carries the position after it.
        start_after: if continue_after.is_some() {
            None
        } else {
            non_empty(input.start_after.clone())
        },
        continue_after,
        max_keys,
        want_owner: input.fetch_owner.unwrap_or(false),
    };
    let Page { resp, owner } = fetch(s3, q).await?;
    let next_continuation_token = match (resp.is_truncated, &resp.next_marker) {
        (true, Some(m)) => Some(encode_token(m)),
        _ => None,
    };
    let key_count = (resp.objects.len() + resp.common_prefixes.len()) as i32;
    let contents: ObjectList = resp
        .objects
        .into_iter()
        .map(|o| object(o, owner.as_ref(), url))
        .collect();
    let output = ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: enc(Some(input.prefix.unwrap_or_default()), url),
        max_keys: Some(max_keys as i32),
        key_count: Some(key_count),
        continuation_token: input.continuation_token,
        is_truncated: Some(next_continuation_token.is_some()),
        next_continuation_token,
        contents: Some(contents),
        common_prefixes: Some(prefixes(resp.common_prefixes, url)),
        delimiter: enc(delimiter, url),
        encoding_type: input.encoding_type,
        start_after: enc(input.start_after, url),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

pub async fn list_objects(
    s3: &TriremeS3,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let input = req.input;
    let url = url_mode(input.encoding_type.as_ref())?;
    let max_keys = clamp_max_keys(input.max_keys)?;
    let delimiter = non_empty(input.delimiter.clone());
    let marker = non_empty(input.marker.clone());
    // With a delimiter the marker may be a common prefix (a previous NextMarker): resuming
    // after it must skip every key under it.
    let (start_after, continue_after) = if delimiter.is_some() {
        (None, marker)
    } else {
        (marker, None)
    };
    let q = PageQuery {
        bucket: input.bucket.clone(),
        prefix: input.prefix.clone().unwrap_or_default(),
        delimiter: delimiter.clone(),
        start_after,
        continue_after,
        max_keys,
        want_owner: true,
    };
    let Page { resp, owner } = fetch(s3, q).await?;
    let truncated = resp.is_truncated && resp.next_marker.is_some();
    let next_marker = if truncated && delimiter.is_some() {
        enc(resp.next_marker.clone(), url)
    } else {
        None
    };
    let contents: ObjectList = resp
        .objects
        .into_iter()
        .map(|o| object(o, owner.as_ref(), url))
        .collect();
    let output = ListObjectsOutput {
        name: Some(input.bucket),
        prefix: enc(Some(input.prefix.unwrap_or_default()), url),
        marker: enc(Some(input.marker.unwrap_or_default()), url),
        max_keys: Some(max_keys as i32),
        is_truncated: Some(truncated),
        contents: Some(contents),
        common_prefixes: Some(prefixes(resp.common_prefixes, url)),
        delimiter: enc(delimiter, url),
        next_marker,
        encoding_type: input.encoding_type,
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tokens_round_trip() {
        for m in ["", "a", "dir/", "ключ/with spaces+plus", &"k".repeat(1024)] {
            assert_eq!(decode_token(&encode_token(m)).unwrap(), m);
        }
        assert_eq!(
            decode_token("!!!").unwrap_err().code(),
            &S3ErrorCode::InvalidArgument
        );
        // Valid base64 but not UTF-8.
        assert!(
            decode_token(&base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe])).is_err()
        );
    }

    #[test]
    fn url_encoding() {
        assert_eq!(url_encode("a b+c/d%e"), "a%20b%2Bc/d%25e");
        assert_eq!(url_encode("é"), "%C3%A9");
        assert_eq!(url_encode("Az09-_.~"), "Az09-_.~");
    }

    #[test]
    fn max_keys() {
        assert_eq!(clamp_max_keys(None).unwrap(), 1000);
        assert_eq!(clamp_max_keys(Some(5000)).unwrap(), 1000);
        assert_eq!(clamp_max_keys(Some(0)).unwrap(), 0);
        assert!(clamp_max_keys(Some(-1)).is_err());
    }

    proptest! {
        #[test]
        fn any_marker_round_trips(m in ".{0,200}") {
            prop_assert_eq!(decode_token(&encode_token(&m)).unwrap(), m);
        }
    }
}
