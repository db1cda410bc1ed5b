//! Object headers: what a PUT stores in the [`ObjectRecord`] (standard headers, user
//! metadata) and what GET/HEAD return from it, plus conditional request checks.

use s3s::dto::{ETag, ETagCondition, Metadata, Timestamp, TimestampFormat};
use s3s::{S3Error, S3ErrorCode, S3Result};
use std::collections::BTreeMap;
use trireme_api::object::ObjectRecord;

/// Content type of objects stored without one (as Amazon S3 does).
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";
/// Most bytes of user metadata (names and values) per object.
pub const MAX_USER_METADATA: usize = 2048;

pub const CONTENT_ENCODING: &str = "content-encoding";
pub const CONTENT_DISPOSITION: &str = "content-disposition";
pub const CONTENT_LANGUAGE: &str = "content-language";
pub const CACHE_CONTROL: &str = "cache-control";
pub const EXPIRES: &str = "expires";

/// The standard headers a PUT may set, as sent.
#[derive(Clone, Debug, Default)]
pub struct StoredHeaders {
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<Timestamp>,
}

impl StoredHeaders {
    /// The `ObjectRecord::headers` map (lowercase names).
    pub fn into_map(self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        put(CONTENT_ENCODING, self.content_encoding);
        put(CONTENT_DISPOSITION, self.content_disposition);
        put(CONTENT_LANGUAGE, self.content_language);
        put(CACHE_CONTROL, self.cache_control);
        put(EXPIRES, self.expires.as_ref().and_then(http_date));
        m
    }

    /// Reads the stored headers back from a record.
    pub fn from_record(rec: &ObjectRecord) -> Self {
        let get = |k: &str| rec.headers.get(k).cloned();
        StoredHeaders {
            content_encoding: get(CONTENT_ENCODING),
            content_disposition: get(CONTENT_DISPOSITION),
            content_language: get(CONTENT_LANGUAGE),
            cache_control: get(CACHE_CONTROL),
            expires: rec
                .headers
                .get(EXPIRES)
                .and_then(|s| Timestamp::parse(TimestampFormat::HttpDate, s).ok()),
        }
    }
}

/// User metadata from `x-amz-meta-*` headers (s3s strips the prefix), lowercase names,
/// refused past [`MAX_USER_METADATA`] bytes.
pub fn user_metadata(meta: Option<Metadata>) -> S3Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut total = 0usize;
    for (k, v) in meta.into_iter().flatten() {
        total += k.len() + v.len();
        out.insert(k.to_ascii_lowercase(), v);
    }
    if total > MAX_USER_METADATA {
        return Err(S3Error::with_message(
            S3ErrorCode::MetadataTooLarge,
            format!("Your metadata headers exceed the maximum allowed metadata size of {MAX_USER_METADATA} bytes."),
        ));
    }
    Ok(out)
}

/// The record's user metadata as s3s outputs it, or None when empty.
pub fn metadata_out(rec: &ObjectRecord) -> Option<Metadata> {
    if rec.user_metadata.is_empty() {
        return None;
    }
    Some(
        rec.user_metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// A `Timestamp` for milliseconds since the Unix epoch.
pub fn timestamp_ms(ms: u64) -> Timestamp {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .into()
}

/// The record's ETag (stored unquoted; s3s quotes it on the wire).
pub fn etag(rec: &ObjectRecord) -> ETag {
    ETag::Strong(rec.etag.clone())
}

fn http_date(ts: &Timestamp) -> Option<String> {
    let mut buf = Vec::new();
    ts.format(TimestampFormat::HttpDate, &mut buf).ok()?;
    String::from_utf8(buf).ok()
}

pub(crate) fn unix_secs(ts: &Timestamp) -> i64 {
    time::OffsetDateTime::from(ts.clone()).unix_timestamp()
}

pub(crate) fn etag_matches(cond: &ETagCondition, etag: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == etag,
    }
}

/// The conditional headers of a GET or HEAD.
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    pub if_match: Option<ETagCondition>,
    pub if_none_match: Option<ETagCondition>,
    pub if_modified_since: Option<Timestamp>,
    pub if_unmodified_since: Option<Timestamp>,
}

/// Evaluates conditions as RFC 9110 and Amazon S3 do: If-Match (else If-Unmodified-Since)
/// failing is 412 PreconditionFailed; If-None-Match matching (else If-Modified-Since not
/// modified) is 304 NotModified.
pub fn check_conditions(rec: &ObjectRecord, c: &Conditions) -> S3Result<()> {
    let modified_secs = i64::try_from(rec.last_modified_ms / 1000).unwrap_or(i64::MAX);
    if let Some(m) = &c.if_match {
        if !etag_matches(m, &rec.etag) {
            return Err(S3Error::with_message(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
    } else if let Some(t) = &c.if_unmodified_since {
        if modified_secs > unix_secs(t) {
            return Err(S3Error::with_message(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
    }
    let not_modified = match (&c.if_none_match, &c.if_modified_since) {
        (Some(m), _) => etag_matches(m, &rec.etag),
        (None, Some(t)) => modified_secs <= unix_secs(t),
        (None, None) => false,
    };
    if not_modified {
        let mut e = S3Error::new(S3ErrorCode::NotModified);
        let mut h = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", rec.etag)) {
            h.insert(http::header::ETAG, v);
        }
        e.set_headers(h);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(etag: &str, ms: u64) -> ObjectRecord {
        ObjectRecord {
            size: 0,
            etag: etag.into(),
            last_modified_ms: ms,
            content_type: None,
            headers: BTreeMap::new(),
            user_metadata: BTreeMap::new(),
            checksums: BTreeMap::new(),
            chunks: vec![],
            part_sizes: vec![],
            inline: None,
        }
    }

    fn tag(s: &str) -> ETagCondition {
        ETagCondition::ETag(ETag::Strong(s.into()))
    }

    fn code(r: S3Result<()>) -> Option<S3ErrorCode> {
        r.err().map(|e| e.code().clone())
    }

    #[test]
    fn conditions() {
        let r = rec("abc", 10_500);
        let at = |s: i64| {
            Some(Timestamp::from(
                time::OffsetDateTime::from_unix_timestamp(s).unwrap(),
            ))
        };
        assert_eq!(code(check_conditions(&r, &Conditions::default())), None);
        let c = Conditions {
            if_match: Some(tag("abc")),
            if_unmodified_since: at(1),
            ..Default::default()
        };
        assert_eq!(
            code(check_conditions(&r, &c)),
            None,
            "If-Match wins over If-Unmodified-Since"
        );
        let c = Conditions {
            if_match: Some(tag("zzz")),
            ..Default::default()
        };
        assert_eq!(
            code(check_conditions(&r, &c)),
            Some(S3ErrorCode::PreconditionFailed)
        );
        let c = Conditions {
            if_unmodified_since: at(9),
            ..Default::default()
        };
        assert_eq!(
            code(check_conditions(&r, &c)),
            Some(S3ErrorCode::PreconditionFailed)
        );
        let c = Conditions {
            if_unmodified_since: at(10),
            ..Default::default()
        };
        assert_eq!(code(check_conditions(&r, &c)), None);
        let c = Conditions {
            if_none_match: Some(tag("abc")),
            ..Default::default()
        };
        assert_eq!(
            code(check_conditions(&r, &c)),
            Some(S3ErrorCode::NotModified)
        );
        let c = Conditions {
            if_none_match: Some(ETagCondition::Any),
            ..Default::default()
        };
        assert_eq!(
            code(check_conditions(&r, &c)),
            Some(S3ErrorCode::NotModified)
        );
        let c = Conditions {
            if_none_match: Some(tag("zzz")),
            if_modified_since: at(20),
            ..Default::default()
        };
        assert_eq!(
            code(check_conditions(&r, &c)),
            None,
            "If-None-Match wins over If-Modified-Since"
        );
        let c = Conditions {
            if_modified_since: at(10),
            ..Default::default()
        };
        assert_eq!(
            code(check_conditions(&r, &c)),
            Some(S3ErrorCode::NotModified)
        );
        let c = Conditions {
            if_modified_since: at(9),
            ..Default::default()
        };
        assert_eq!(code(check_conditions(&r, &c)), None);
    }

    #[test]
    fn stored_headers_round_trip() {
        let ts =
            Timestamp::parse(TimestampFormat::HttpDate, "Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let h = StoredHeaders {
            content_encoding: Some("gzip".into()),
            cache_control: Some("no-cache".into()),
            expires: Some(ts.clone()),
            ..Default::default()
        };
        let mut r = rec("e", 0);
        r.headers = h.into_map();
        assert_eq!(
            r.headers.get("expires").map(String::as_str),
            Some("Wed, 21 Oct 2015 07:28:00 GMT")
        );
        let back = StoredHeaders::from_record(&r);
        assert_eq!(back.content_encoding.as_deref(), Some("gzip"));
        assert_eq!(back.cache_control.as_deref(), Some("no-cache"));
        assert_eq!(back.expires, Some(ts));
        assert!(back.content_language.is_none());
    }

    #[test]
    fn metadata_limits_and_case() {
        let mut m = Metadata::default();
        m.insert("Color".into(), "blue".into());
        let got = user_metadata(Some(m)).unwrap();
        assert_eq!(got.get("color").map(String::as_str), Some("blue"));
        let mut big = Metadata::default();
        big.insert("k".into(), "v".repeat(MAX_USER_METADATA));
        assert!(user_metadata(Some(big)).is_err());
        assert_eq!(
            timestamp_ms(1_500),
            Timestamp::from(
                time::OffsetDateTime::from_unix_timestamp_nanos(1_500_000_000).unwrap()
            )
        );
    }
}
