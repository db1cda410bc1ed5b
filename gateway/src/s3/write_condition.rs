//! Conditional writes (PutObject, CompleteMultipartUpload): `If-None-Match: *` (create
//! only) and `If-Match: "etag"` (replace only that version), decided atomically by the meta
//! state machine when the write is applied. The losing writer gets 412 PreconditionFailed,
//! or 404 NoSuchKey for If-Match on a missing key, as in Amazon S3.

use s3s::dto::ETagCondition;
use s3s::{S3Error, S3ErrorCode, S3Result};
use trireme_api::meta::WriteCondition;

fn not_implemented(what: &str) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::NotImplemented,
        format!("A header you provided implies functionality that is not implemented: {what}"),
    )
}

/// The write condition the headers ask for. Like Amazon S3, only `If-None-Match: *` and
/// `If-Match` with an ETag are supported, one at a time.
pub fn from_headers(
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<Option<WriteCondition>> {
    match (if_match, if_none_match) {
        (None, None) => Ok(None),
        (None, Some(ETagCondition::Any)) => Ok(Some(WriteCondition::IfNoneMatchAny)),
        (None, Some(ETagCondition::ETag(_))) => {
            Err(not_implemented("If-None-Match supports only *"))
        }
        (Some(ETagCondition::ETag(e)), None) => {
            Ok(Some(WriteCondition::IfMatch(e.value().to_string())))
        }
        (Some(ETagCondition::Any), None) => Err(not_implemented("If-Match: *")),
        (Some(_), Some(_)) => Err(not_implemented("If-Match together with If-None-Match")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::dto::ETag;

    #[test]
    fn conditions_from_headers() {
        let tag = ETagCondition::ETag(ETag::Strong("abc".into()));
        assert_eq!(from_headers(None, None).unwrap(), None);
        assert_eq!(
            from_headers(None, Some(&ETagCondition::Any)).unwrap(),
            Some(WriteCondition::IfNoneMatchAny)
        );
        assert_eq!(
            from_headers(Some(&tag), None).unwrap(),
            Some(WriteCondition::IfMatch("abc".into()))
        );
        for (m, n) in [
            (None, Some(&tag)),
            (Some(&ETagCondition::Any), None),
            (Some(&tag), Some(&ETagCondition::Any)),
        ] {
            assert_eq!(
                from_headers(m, n).unwrap_err().code(),
                &S3ErrorCode::NotImplemented
            );
        }
    }
}
