//! S3 authentication: s3s verifies SigV4 (header and presigned, any region in the scope)
//! and asks [`MetaAuth`] for the secret key of an access key, which it looks up with
//! GetAccessKey and caches for a short time.

use crate::error;
use s3s::auth::{S3Auth, SecretKey};
use s3s::{S3Error, S3ErrorCode, S3Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trireme_api::meta::GetAccessKey;
use trireme_api::ErrorCode;
use trireme_client::MetaClient;

/// Most entries kept; the cache is cleared when it grows past this.
const MAX_CACHED_KEYS: usize = 10_000;

/// Looks secret keys up in the metadata, caching hits for `ttl`.
pub struct MetaAuth {
    meta: Arc<MetaClient>,
    ttl: Duration,
    cache: Mutex<HashMap<String, (SecretKey, Instant)>>,
}

impl MetaAuth {
    pub fn new(meta: Arc<MetaClient>, ttl: Duration) -> Self {
        MetaAuth {
            meta,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, access_key: &str) -> Option<SecretKey> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(access_key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(k, _)| k.clone())
    }

    fn remember(&self, access_key: &str, key: SecretKey) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED_KEYS {
            cache.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if cache.len() >= MAX_CACHED_KEYS {
                cache.clear();
            }
        }
        cache.insert(access_key.to_string(), (key, Instant::now()));
    }
}

fn invalid_key() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidAccessKeyId,
        "The AWS Access Key Id you provided does not exist in our records.",
    )
}

#[async_trait::async_trait]
impl S3Auth for MetaAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
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
        let secret = info.secret_key.ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InternalError,
                "the metadata returned an access key without its secret",
            )
        })?;
        let key = SecretKey::from(secret);
        self.remember(access_key, key.clone());
        Ok(key)
    }
}
