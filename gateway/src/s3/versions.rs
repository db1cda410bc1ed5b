//! Versions, for buckets that never keep more than one: every object is its own only
//! version, with the version id `null` (what Amazon S3 reports for an unversioned bucket).
//!
//! - [`check_version_id`]: the `versionId` of GET, HEAD, DELETE and copy sources.
//! - [`list_object_versions`]: ListObjectVersions, one ListObjects RPC per page.
//! - [`get_bucket_versioning`]: GetBucketVersioning, always "never enabled" (no Status).

use super::headers::timestamp_ms;
use super::list::{clamp_max_keys, url_encode, url_mode};
use super::TriremeS3;
use crate::error;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use trireme_api::meta::{GetBucket, ListObjects, ListObjectsResponse};

/// The version id of every object.
pub const NULL_VERSION: &str = "null";

/// What a `versionId` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// No id, or `null`: the current object.
    Current,
    /// A well-formed id of a version that does not exist here.
    Missing,
}

/// Whether `v` looks like an id Amazon S3 generates (so a lookup may fail with
/// NoSuchVersion rather than InvalidArgument): 32 to 64 characters of the URL-safe and
/// standard base64 alphabets, plus `.`.
fn well_formed(v: &str) -> bool {
    (32..=64).contains(&v.len())
        && v.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'.' | b'_' | b'-')
        })
}

/// Classifies a `versionId`. A malformed one is InvalidArgument ("Invalid version id
/// specified"), as Amazon S3 answers for an id it could never have issued.
pub fn check_version_id(v: Option<&str>) -> S3Result<Version> {
    match v {
        None => Ok(Version::Current),
        Some(NULL_VERSION) => Ok(Version::Current),
        Some(v) if well_formed(v) => Ok(Version::Missing),
        Some(_) => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Invalid version id specified",
        )),
    }
}

/// For reads: only the current object can be read; any other version is NoSuchVersion.
pub fn require_current(v: Option<&str>) -> S3Result<()> {
    match check_version_id(v)? {
        Version::Current => Ok(()),
        Version::Missing => Err(S3Error::with_message(
            S3ErrorCode::NoSuchVersion,
            "The specified version does not exist.",
        )),
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn enc(s: Option<String>, url: bool) -> Option<String> {
    s.map(|s| if url { url_encode(&s) } else { s })
}

pub async fn list_object_versions(
    s3: &TriremeS3,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let input = req.input;
    let url = url_mode(input.encoding_type.as_ref())?;
    let max_keys = clamp_max_keys(input.max_keys)?;
    let delimiter = non_empty(input.delimiter.clone());
    let key_marker = non_empty(input.key_marker.clone());
    let version_marker = non_empty(input.version_id_marker.clone());
    if version_marker.is_some() && key_marker.is_none() {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "A version-id marker cannot be specified without a key marker.",
        ));
    }
    // The key marker's only version is `null`, at or before any version marker: listing
    // resumes after the key marker either way.
    check_version_id(version_marker.as_deref())?;
    // With a delimiter the marker may be a common prefix (a previous NextKeyMarker).
    let (start_after, continue_after) = if delimiter.is_some() {
        (None, key_marker.clone())
    } else {
        (key_marker.clone(), None)
    };
    let list = async {
        if max_keys == 0 {
            return Ok(ListObjectsResponse::default());
        }
        s3.meta
            .call(&ListObjects {
                bucket: input.bucket.clone(),
                prefix: input.prefix.clone().unwrap_or_default(),
                delimiter: delimiter.clone(),
                start_after,
                continue_after,
                max_keys,
            })
            .await
    };
    let get_bucket = GetBucket {
        name: input.bucket.clone(),
    };
    let bucket = s3.meta.call(&get_bucket);
    let (list, bucket) = tokio::join!(list, bucket);
    let owner_id = bucket.map_err(|e| error::from_client(&e))?.owner;
    let resp = list.map_err(|e| error::from_client(&e))?;
    let owner = Owner {
        display_name: Some(owner_id.clone()),
        id: Some(owner_id),
    };
    let truncated = resp.is_truncated && resp.next_marker.is_some();
    let next_key_marker = resp.next_marker.clone().filter(|_| truncated);
    let next_is_key = next_key_marker
        .as_ref()
        .is_some_and(|m| resp.objects.iter().any(|o| &o.key == m));
    let versions: ObjectVersionList = resp
        .objects
        .into_iter()
        .map(|o| ObjectVersion {
            e_tag: Some(ETag::Strong(o.etag)),
            is_latest: Some(true),
            key: Some(if url { url_encode(&o.key) } else { o.key }),
            last_modified: Some(timestamp_ms(o.last_modified_ms)),
            owner: Some(owner.clone()),
            size: Some(o.size as i64),
            storage_class: Some(ObjectVersionStorageClass::from_static(
                ObjectVersionStorageClass::STANDARD,
            )),
            version_id: Some(NULL_VERSION.into()),
            ..Default::default()
        })
        .collect();
    let common_prefixes: CommonPrefixList = resp
        .common_prefixes
        .into_iter()
        .map(|p| CommonPrefix {
            prefix: enc(Some(p), url),
        })
        .collect();
    let output = ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: enc(Some(input.prefix.unwrap_or_default()), url),
        key_marker: enc(Some(input.key_marker.unwrap_or_default()), url),
        version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
        max_keys: Some(max_keys as i32),
        delimiter: enc(delimiter, url),
        encoding_type: input.encoding_type,
        is_truncated: Some(truncated),
        next_version_id_marker: next_is_key.then(|| NULL_VERSION.to_string()),
        next_key_marker: enc(next_key_marker, url),
        versions: Some(versions),
        common_prefixes: Some(common_prefixes),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

pub async fn get_bucket_versioning(
    s3: &TriremeS3,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    s3.meta
        .call(&GetBucket {
            name: req.input.bucket,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    Ok(S3Response::new(GetBucketVersioningOutput::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids() {
        assert_eq!(check_version_id(None).unwrap(), Version::Current);
        assert_eq!(check_version_id(Some("null")).unwrap(), Version::Current);
        let real = "Kf0P2QSZ7TXe5hCtlNbK0dpbsWDA7AfX";
        assert_eq!(check_version_id(Some(real)).unwrap(), Version::Missing);
        for bad in ["v1", "", "NULL", "a b c", &"x".repeat(65)] {
            assert_eq!(
                check_version_id(Some(bad)).unwrap_err().code(),
                &S3ErrorCode::InvalidArgument,
                "{bad:?}"
            );
        }
        assert!(require_current(Some("null")).is_ok());
        assert_eq!(
            require_current(Some(real)).unwrap_err().code(),
            &S3ErrorCode::NoSuchVersion
        );
    }
}
