//! S3 authentication: s3s verifies SigV4 (header and presigned; the credential scope and the
//! signed headers are checked before, by [`crate::sigcheck`]) and asks [`MetaAuth`] for the
//! secret key of an access key. Access keys are looked up with GetAccessKey and kept in a
//! [`KeyCache`] for a short time, which the authorization layer ([`crate::access`]) shares to
//! learn whether a key may create buckets.
//!
//! What s3s 0.14.1 checks itself (read in its `ops/signature.rs`): SigV4 signatures are
//! compared in constant time; a header-signed request whose `x-amz-date` is more than
//! 15 minutes away from our clock (either way) gets 403 RequestTimeTooSkewed; a presigned
//! URL dated more than 15 minutes in the future gets RequestTimeTooSkewed and one past its
//! `X-Amz-Expires` gets 403 AccessDenied "Request has expired". What it does not check is
//! added in front of it by [`crate::guard`].
//!
//! Because of the cache, a deleted key keeps working, and a changed `allow_create_bucket`
//! takes effect, at most `ttl` (the config's `key_cache_ttl`) later on each gateway.

use crate::error;
use s3s::auth::{S3Auth, SecretKey};
use s3s::{S3Error, S3ErrorCode, S3Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trireme_api::meta::{AccessKeyInfo, GetAccessKey};
use trireme_api::ErrorCode;
use trireme_client::MetaClient;

/// Most entries kept; the cache is cleared when it grows past this.
const MAX_CACHED_KEYS: usize = 10_000;

/// Access keys looked up in the metadata, each reused for `ttl`.
pub struct KeyCache {
    meta: Arc<MetaClient>,
    ttl: Duration,
    cache: Mutex<HashMap<String, (AccessKeyInfo, Instant)>>,
}

impl KeyCache {
    pub fn new(meta: Arc<MetaClient>, ttl: Duration) -> Self {
        KeyCache {
            meta,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The key's record, secret included; InvalidAccessKeyId if there is no such key.
    pub async fn get(&self, access_key: &str) -> S3Result<AccessKeyInfo> {
        if let Some(k) = self.cached(access_key) {
            return Ok(k);
        }
        let info = match self
            .meta
            .call(&GetAccessKey {
                access_key: access_key.to_string(),
            })
            .await
        {
            Ok(info) => info,
            Err(e) if e.code() == Some(ErrorCode::NoSuchAccessKey) => return Err(invalid_key()),
            Err(e) => return Err(error::from_client(&e)),
        };
        if info.secret_key.is_none() {
            return Err(no_secret());
        }
        self.remember(access_key, info.clone());
        Ok(info)
    }

    fn cached(&self, access_key: &str) -> Option<AccessKeyInfo> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(access_key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(k, _)| k.clone())
    }

    fn remember(&self, access_key: &str, info: AccessKeyInfo) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED_KEYS {
            cache.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if cache.len() >= MAX_CACHED_KEYS {
                cache.clear();
            }
        }
        cache.insert(access_key.to_string(), (info, Instant::now()));
    }
}

fn no_secret() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InternalError,
        "the metadata returned an access key without its secret",
    )
}

fn invalid_key() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidAccessKeyId,
        "The AWS Access Key Id you provided does not exist in our records.",
    )
}

/// The s3s auth provider: secret keys from the [`KeyCache`].
pub struct MetaAuth {
    keys: Arc<KeyCache>,
}

impl MetaAuth {
    pub fn new(keys: Arc<KeyCache>) -> Self {
        MetaAuth { keys }
    }
}

#[async_trait::async_trait]
impl S3Auth for MetaAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        let info = self.keys.get(access_key).await?;
        info.secret_key.map(SecretKey::from).ok_or_else(no_secret)
    }
}
