//! What CopyObject and UploadPartCopy share: the `x-amz-copy-source` object (s3s parses and
//! URL-decodes it), the `x-amz-copy-source-if-*` conditions with Amazon S3's precedence,
//! `x-amz-copy-source-range`, and the linearizable read of the source record.

use super::headers::{etag_matches, unix_secs};
use super::versions::require_current;
use super::TriremeS3;
use crate::error;
use s3s::dto::{CopySource, ETagCondition, Timestamp};
use s3s::{S3Error, S3ErrorCode, S3Result};
use std::ops::Range;
use trireme_api::meta::{GetObject, GetObjectResponse};

/// The source object of a copy: always its current (`null`) version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub bucket: String,
    pub key: String,
}

/// The bucket and key of `x-amz-copy-source`; `?versionId=` must be absent or `null`.
pub fn source(cs: &CopySource) -> S3Result<Source> {
    match cs {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => {
            require_current(version_id.as_deref())?;
            Ok(Source {
                bucket: bucket.to_string(),
                key: key.to_string(),
            })
        }
        CopySource::AccessPoint { .. } | CopySource::Outpost { .. } => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "Copy sources through access points or outposts are not implemented",
        )),
    }
}

/// The `x-amz-copy-source-if-*` headers.
#[derive(Clone, Debug, Default)]
pub struct CopyConditions {
    pub if_match: Option<ETagCondition>,
    pub if_none_match: Option<ETagCondition>,
    pub if_modified_since: Option<Timestamp>,
    pub if_unmodified_since: Option<Timestamp>,
}

fn precondition_failed() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold",
    )
}

impl CopyConditions {
    /// Amazon S3's rules: `if-match` true wins over `if-unmodified-since` false (the copy
    /// goes ahead); `if-none-match` decides over `if-modified-since`. Every failure is
    /// 412 PreconditionFailed (never 304).
    pub fn check(&self, etag: &str, last_modified_ms: u64) -> S3Result<()> {
        let modified = i64::try_from(last_modified_ms / 1000).unwrap_or(i64::MAX);
        let match_ok = match (&self.if_match, &self.if_unmodified_since) {
            (Some(m), _) => etag_matches(m, etag),
            (None, Some(t)) => modified <= unix_secs(t),
            (None, None) => true,
        };
        let none_match_ok = match (&self.if_none_match, &self.if_modified_since) {
            (Some(m), _) => !etag_matches(m, etag),
            (None, Some(t)) => modified > unix_secs(t),
            (None, None) => true,
        };
        if match_ok && none_match_ok {
            Ok(())
        } else {
            Err(precondition_failed())
        }
    }
}

fn range_syntax() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidArgument,
        "The x-amz-copy-source-range value must be of the form bytes=first-last where first \
         and last are the zero-based offsets of the first and last bytes to copy",
    )
}

/// Parses `x-amz-copy-source-range: bytes=first-last` against a source of `size` bytes.
/// Only that form is accepted (no suffix or open ranges). A range not inside the source is
/// InvalidArgument, as Amazon S3 answers.
pub fn copy_range(value: &str, size: u64) -> S3Result<Range<u64>> {
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or_else(range_syntax)?;
    let (first, last) = spec.split_once('-').ok_or_else(range_syntax)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(first) || !digits(last) {
        return Err(range_syntax());
    }
    let first: u64 = first.parse().map_err(|_| range_syntax())?;
    let last: u64 = last.parse().map_err(|_| range_syntax())?;
    if first > last {
        return Err(range_syntax());
    }
    if last >= size {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            format!("Range specified is not valid for source object of size: {size}"),
        ));
    }
    Ok(first..last + 1)
}

/// Reads the source record (linearizable) and checks the copy conditions on it.
pub async fn read_source(
    s3: &TriremeS3,
    src: &Source,
    conditions: &CopyConditions,
) -> S3Result<GetObjectResponse> {
    let resp = s3
        .meta
        .call(&GetObject {
            bucket: src.bucket.clone(),
            key: src.key.clone(),
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    conditions.check(&resp.object.etag, resp.object.last_modified_ms)?;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::dto::ETag;

    fn tag(s: &str) -> Option<ETagCondition> {
        Some(ETagCondition::ETag(ETag::Strong(s.into())))
    }

    fn at(s: i64) -> Option<Timestamp> {
        Some(Timestamp::from(
            time::OffsetDateTime::from_unix_timestamp(s).unwrap(),
        ))
    }

    #[test]
    fn parses_copy_sources() {
        let cs = CopySource::parse("/src-bucket/dir/a%20b%3Fc.txt?versionId=null").unwrap();
        assert_eq!(
            source(&cs).unwrap(),
            Source {
                bucket: "src-bucket".into(),
                key: "dir/a b?c.txt".into()
            }
        );
        let cs = CopySource::parse("src-bucket/k").unwrap();
        assert_eq!(source(&cs).unwrap().key, "k");
        let cs = CopySource::parse("src-bucket/k?versionId=v1").unwrap();
        assert_eq!(
            source(&cs).unwrap_err().code(),
            &S3ErrorCode::InvalidArgument
        );
        let cs =
            CopySource::parse("src-bucket/k?versionId=Kf0P2QSZ7TXe5hCtlNbK0dpbsWDA7AfX").unwrap();
        assert_eq!(source(&cs).unwrap_err().code(), &S3ErrorCode::NoSuchVersion);
    }

    #[test]
    fn condition_precedence() {
        let ok = |c: CopyConditions| c.check("abc", 10_500).is_ok();
        assert!(ok(CopyConditions::default()));
        assert!(ok(CopyConditions {
            if_match: tag("abc"),
            if_unmodified_since: at(1),
            ..Default::default()
        }));
        assert!(!ok(CopyConditions {
            if_match: tag("zzz"),
            ..Default::default()
        }));
        assert!(ok(CopyConditions {
            if_match: Some(ETagCondition::Any),
            ..Default::default()
        }));
        assert!(!ok(CopyConditions {
            if_unmodified_since: at(9),
            ..Default::default()
        }));
        assert!(ok(CopyConditions {
            if_unmodified_since: at(10),
            ..Default::default()
        }));
        // if-none-match false and if-modified-since true: 412.
        assert!(!ok(CopyConditions {
            if_none_match: tag("abc"),
            if_modified_since: at(1),
            ..Default::default()
        }));
        assert!(ok(CopyConditions {
            if_none_match: tag("zzz"),
            if_modified_since: at(20),
            ..Default::default()
        }));
        assert!(!ok(CopyConditions {
            if_modified_since: at(10),
            ..Default::default()
        }));
        assert!(ok(CopyConditions {
            if_modified_since: at(9),
            ..Default::default()
        }));
        let e = CopyConditions {
            if_match: tag("zzz"),
            ..Default::default()
        }
        .check("abc", 0)
        .unwrap_err();
        assert_eq!(e.code(), &S3ErrorCode::PreconditionFailed);
    }

    #[test]
    fn copy_ranges() {
        assert_eq!(copy_range("bytes=0-9", 10).unwrap(), 0..10);
        assert_eq!(copy_range("bytes=5-5", 10).unwrap(), 5..6);
        for bad in ["bytes=0-10", "bytes=10-10"] {
            let e = copy_range(bad, 10).unwrap_err();
            assert_eq!(e.code(), &S3ErrorCode::InvalidArgument, "{bad}");
            assert!(
                e.message().unwrap_or_default().contains("size: 10"),
                "{bad}"
            );
        }
        for bad in [
            "0-9",
            "bytes=",
            "bytes=-5",
            "bytes=5-",
            "bytes=6-5",
            "bytes=a-b",
            "bytes=1-2,3-4",
            "bytes=+1-2",
        ] {
            assert_eq!(
                copy_range(bad, 10).unwrap_err().code(),
                &S3ErrorCode::InvalidArgument,
                "{bad}"
            );
        }
        assert!(copy_range("bytes=0-0", 0).is_err());
    }
}
