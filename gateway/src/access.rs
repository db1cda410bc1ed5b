//! S3 authorization: which access key may do what on which bucket.
//!
//! [`BucketAccess`] is s3s's [`S3Access`] hook, called for every operation after the
//! signature is verified and before the operation runs, so operations added later are
//! checked here without further code. The rules (S3 semantics):
//! - anonymous requests are refused (AccessDenied);
//! - ListBuckets is open to every key (the handler lists only the buckets it may see,
//!   [`may_list`]); other operations on the service root are refused;
//! - CreateBucket needs the key's `allow_create_bucket`; the creator owns the bucket;
//! - on a bucket, its owner may do everything; another key needs a grant: `read` for the
//!   operations in [`READ_OPS`], `write` for those in [`WRITE_OPS`] (CopyObject and
//!   UploadPartCopy also need `read` on the source bucket), and the `owner` grant for
//!   everything else (DeleteBucket, bucket configuration). An `owner` grant implies `read`
//!   and `write`.
//!
//! Bucket records (owner and grants) are cached for [`BUCKET_TTL`], so a grant or revoke
//! takes effect on each gateway within a few seconds: until then the old grants apply.
//! Access keys come from the shared [`KeyCache`] (see [`crate::auth`] for its staleness).
//! The check also records the operation's name for the request counters
//! ([`crate::metrics::note_operation`]).

use crate::auth::KeyCache;
use crate::error;
use s3s::access::{S3Access, S3AccessContext};
use s3s::dto::CopySource;
use s3s::path::S3Path;
use s3s::{S3Error, S3ErrorCode, S3Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trireme_api::meta::{BucketInfo, GetBucket};
use trireme_client::MetaClient;

/// How long a bucket's owner and grants are reused before being read again.
pub const BUCKET_TTL: Duration = Duration::from_secs(3);
/// Most bucket records cached; the cache is cleared when it grows past this.
const MAX_CACHED_BUCKETS: usize = 10_000;

/// Operations a `read` grant allows.
pub const READ_OPS: &[&str] = &[
    "GetObject",
    "HeadObject",
    "GetObjectAttributes",
    "GetObjectTagging",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "ListParts",
    "ListMultipartUploads",
    "HeadBucket",
    "GetBucketLocation",
    "GetBucketVersioning",
];

/// Operations a `write` grant allows.
pub const WRITE_OPS: &[&str] = &[
    "PutObject",
    "PostObject",
    "DeleteObject",
    "DeleteObjects",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "PutObjectTagging",
    "DeleteObjectTagging",
];

/// Operations whose `x-amz-copy-source` bucket must be readable.
const COPY_OPS: &[&str] = &["CopyObject", "UploadPartCopy"];

/// What an operation needs on its bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Read,
    Write,
    Owner,
}

/// The permission `op` needs on the bucket it addresses.
pub fn need_for(op: &str) -> Need {
    if READ_OPS.contains(&op) {
        Need::Read
    } else if WRITE_OPS.contains(&op) {
        Need::Write
    } else {
        Need::Owner
    }
}

/// Whether `key` has `need` on the bucket `info`.
pub fn allows(info: &BucketInfo, key: &str, need: Need) -> bool {
    if info.owner == key {
        return true;
    }
    let Some(g) = info.grants.get(key) else {
        return false;
    };
    match need {
        Need::Read => g.read || g.owner,
        Need::Write => g.write || g.owner,
        Need::Owner => g.owner,
    }
}

/// Whether ListBuckets shows `info` to `key`: it owns the bucket or holds any grant on it.
pub fn may_list(info: &BucketInfo, key: &str) -> bool {
    info.owner == key || info.grants.get(key).is_some_and(|g| !g.is_empty())
}

fn denied() -> S3Error {
    S3Error::with_message(S3ErrorCode::AccessDenied, "Access Denied")
}

/// The s3s access hook: bucket owners and grants, checked before every operation.
pub struct BucketAccess {
    meta: Arc<MetaClient>,
    keys: Arc<KeyCache>,
    ttl: Duration,
    buckets: Mutex<HashMap<String, (BucketInfo, Instant)>>,
}

impl BucketAccess {
    pub fn new(meta: Arc<MetaClient>, keys: Arc<KeyCache>, ttl: Duration) -> Self {
        BucketAccess {
            meta,
            keys,
            ttl,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The bucket's record, from the cache if fresh. NoSuchBucket if it does not exist
    /// (misses are not cached, so a new bucket is usable at once).
    async fn bucket(&self, name: &str) -> S3Result<BucketInfo> {
        {
            let cache = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((info, at)) = cache.get(name) {
                if at.elapsed() < self.ttl {
                    return Ok(info.clone());
                }
            }
        }
        let info = self
            .meta
            .call(&GetBucket {
                name: name.to_string(),
            })
            .await
            .map_err(|e| error::from_client(&e))?;
        let mut cache = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED_BUCKETS {
            cache.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if cache.len() >= MAX_CACHED_BUCKETS {
                cache.clear();
            }
        }
        cache.insert(name.to_string(), (info.clone(), Instant::now()));
        Ok(info)
    }

    async fn require(&self, bucket: &str, key: &str, need: Need) -> S3Result<()> {
        let info = self.bucket(bucket).await?;
        if allows(&info, key, need) {
            Ok(())
        } else {
            Err(denied())
        }
    }

    /// Read access to the bucket named by `x-amz-copy-source`.
    async fn require_copy_source(&self, cx: &S3AccessContext<'_>, key: &str) -> S3Result<()> {
        let header = cx
            .headers()
            .get("x-amz-copy-source")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.",
                )
            })?;
        match CopySource::parse(header) {
            Ok(CopySource::Bucket { bucket, .. }) => self.require(&bucket, key, Need::Read).await,
            Ok(_) => Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "Access point and outpost copy sources are not supported.",
            )),
            Err(_) => Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Invalid copy source.",
            )),
        }
    }
}

#[async_trait::async_trait]
impl S3Access for BucketAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let op = cx.s3_op().name().to_string();
        crate::metrics::note_operation(cx.extensions_mut(), &op);
        let Some(creds) = cx.credentials() else {
            return Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Anonymous access is not allowed.",
            ));
        };
        let key = creds.access_key.clone();
        let bucket = match cx.s3_path() {
            S3Path::Root => {
                return if op == "ListBuckets" {
                    Ok(())
                } else {
                    Err(denied())
                };
            }
            S3Path::Bucket { bucket } | S3Path::Object { bucket, .. } => bucket.to_string(),
        };
        if op == "CreateBucket" {
            let info = self.keys.get(&key).await?;
            return if info.allow_create_bucket {
                Ok(())
            } else {
                Err(S3Error::with_message(
                    S3ErrorCode::AccessDenied,
                    "This access key is not allowed to create buckets.",
                ))
            };
        }
        self.require(&bucket, &key, need_for(&op)).await?;
        if COPY_OPS.contains(&op.as_str()) {
            self.require_copy_source(cx, &key).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::meta::Permissions;

    fn bucket(grants: &[(&str, Permissions)]) -> BucketInfo {
        BucketInfo {
            name: "b".into(),
            owner: "OWNER".into(),
            created_ms: 0,
            grants: grants.iter().map(|(k, p)| (k.to_string(), *p)).collect(),
        }
    }

    const R: Permissions = Permissions {
        read: true,
        write: false,
        owner: false,
    };
    const W: Permissions = Permissions {
        read: false,
        write: true,
        owner: false,
    };
    const O: Permissions = Permissions {
        read: false,
        write: false,
        owner: true,
    };

    #[test]
    fn operations_map_to_needs() {
        assert_eq!(need_for("GetObject"), Need::Read);
        assert_eq!(need_for("ListObjectsV2"), Need::Read);
        assert_eq!(need_for("ListParts"), Need::Read);
        assert_eq!(need_for("HeadBucket"), Need::Read);
        assert_eq!(need_for("PutObject"), Need::Write);
        assert_eq!(need_for("DeleteObjects"), Need::Write);
        assert_eq!(need_for("UploadPart"), Need::Write);
        assert_eq!(need_for("DeleteBucket"), Need::Owner);
        assert_eq!(need_for("PutBucketPolicy"), Need::Owner);
        assert_eq!(need_for("SomethingNew"), Need::Owner);
    }

    #[test]
    fn owner_may_do_everything() {
        let b = bucket(&[]);
        for need in [Need::Read, Need::Write, Need::Owner] {
            assert!(allows(&b, "OWNER", need));
            assert!(!allows(&b, "OTHER", need));
        }
        assert!(may_list(&b, "OWNER"));
        assert!(!may_list(&b, "OTHER"));
    }

    #[test]
    fn grants_allow_what_they_say() {
        let b = bucket(&[
            ("R", R),
            ("W", W),
            ("O", O),
            ("NONE", Permissions::default()),
        ]);
        assert!(allows(&b, "R", Need::Read));
        assert!(!allows(&b, "R", Need::Write));
        assert!(!allows(&b, "R", Need::Owner));
        assert!(!allows(&b, "W", Need::Read));
        assert!(allows(&b, "W", Need::Write));
        assert!(!allows(&b, "W", Need::Owner));
        for need in [Need::Read, Need::Write, Need::Owner] {
            assert!(allows(&b, "O", need), "{need:?}");
            assert!(!allows(&b, "NONE", need), "{need:?}");
        }
        assert!(may_list(&b, "R") && may_list(&b, "W") && may_list(&b, "O"));
        assert!(!may_list(&b, "NONE"));
    }
}
