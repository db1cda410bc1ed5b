//! S3 access keys: create (generated or imported), get (with secret, for the gateway), list.

use super::Serve;
use crate::error::MetaResult;
use crate::node::{now_ms, MetaNode};
use crate::types::{Command, CommandResult};
use rand::distributions::{Alphanumeric, DistString};
use trireme_api::meta::{
    AccessKeyInfo, CreateAccessKey, DeleteAccessKey, Empty, GetAccessKey, ListAccessKeys,
    ListAccessKeysResponse,
};
use trireme_api::{ApiError, ErrorCode};

fn generate_access_key() -> String {
    let tail = Alphanumeric
        .sample_string(&mut rand::thread_rng(), 18)
        .to_uppercase();
    format!("TR{tail}")
}

fn generate_secret() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
}

fn check_access_key(k: &str) -> Result<(), ApiError> {
    if (3..=128).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "access key must be 3..=128 characters of [A-Za-z0-9_-]",
        ))
    }
}

impl Serve<CreateAccessKey> for MetaNode {
    async fn serve(&self, req: CreateAccessKey) -> MetaResult<AccessKeyInfo> {
        let access_key = req.access_key.unwrap_or_else(generate_access_key);
        check_access_key(&access_key)?;
        let secret = req.secret_key.unwrap_or_else(generate_secret);
        if secret.len() < 8 || secret.len() > 128 {
            return Err(ApiError::invalid("secret key must be 8..=128 characters").into());
        }
        let key = AccessKeyInfo {
            access_key,
            secret_key: Some(secret),
            name: req.name,
            created_ms: now_ms(),
            allow_create_bucket: req.allow_create_bucket,
        };
        match self.write(Command::CreateAccessKey { key }).await? {
            CommandResult::AccessKey(k) => Ok(k),
            other => Err(ApiError::internal(format!("unexpected result {other:?}")).into()),
        }
    }
}

impl Serve<GetAccessKey> for MetaNode {
    async fn serve(&self, req: GetAccessKey) -> MetaResult<AccessKeyInfo> {
        self.linearizable().await?;
        self.reader
            .get_access_key(&req.access_key)?
            .ok_or_else(|| ApiError::new(ErrorCode::NoSuchAccessKey, "no such access key").into())
    }
}

impl Serve<ListAccessKeys> for MetaNode {
    async fn serve(&self, _req: ListAccessKeys) -> MetaResult<ListAccessKeysResponse> {
        self.linearizable().await?;
        let keys = self
            .reader
            .list_access_keys()?
            .into_iter()
            .map(|mut k| {
                k.secret_key = None;
                k
            })
            .collect();
        Ok(ListAccessKeysResponse { keys })
    }
}

impl Serve<DeleteAccessKey> for MetaNode {
    async fn serve(&self, req: DeleteAccessKey) -> MetaResult<Empty> {
        self.write(Command::DeleteAccessKey {
            access_key: req.access_key,
        })
        .await?;
        Ok(Empty {})
    }
}
