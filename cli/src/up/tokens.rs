//! The operator tokens of a local cluster. `trireme up` creates one admin and one reader token
//! with the cluster secret when it creates a cluster (and when it restarts one whose
//! `cluster.json` predates operator tokens), keeps them in `cluster.json`, and waits until
//! every meta-server knows them, so the first admin command never meets a follower that has
//! not applied them yet.

use crate::up::wait::Poll;
use anyhow::{anyhow, Context, Result};
use std::time::Duration;
use trireme_api::admin::{CreateToken, Role};
use trireme_api::cluster_file::ClusterFile;
use trireme_api::config::ClusterSettings;
use trireme_api::meta::ClusterStatus;
use trireme_api::ErrorCode;
use trireme_client::{MetaClient, Transport};

/// Names of the tokens `trireme up` creates (the audit log's "who" for the CLI).
pub const ADMIN_TOKEN_NAME: &str = "admin";
pub const READER_TOKEN_NAME: &str = "reader";
/// The reason recorded with their creation.
const REASON: &str = "operator tokens of a local cluster, created by `trireme up`";

/// Creates the admin and reader tokens (with the cluster secret `client` carries) and stores
/// them in `file`.
pub async fn create(
    settings: &ClusterSettings,
    meta: &[String],
    file: &mut ClusterFile,
) -> Result<()> {
    let client = MetaClient::new(
        Transport::new(settings.clone(), super::init::RPC_TIMEOUT).with_reason(Some(REASON.into())),
        meta.to_vec(),
        super::init::META_DEADLINE,
    );
    file.admin_token = Some(create_one(&client, ADMIN_TOKEN_NAME, Role::Admin).await?);
    file.reader_token = Some(create_one(&client, READER_TOKEN_NAME, Role::Reader).await?);
    Ok(())
}

/// Creates a token named `name`, or `name-2`, `name-3`, ... if that name is taken (a
/// restarted cluster whose `cluster.json` lost its tokens).
async fn create_one(client: &MetaClient, name: &str, role: Role) -> Result<String> {
    for n in 1..=20u32 {
        let name = if n == 1 {
            name.to_string()
        } else {
            format!("{name}-{n}")
        };
        match client
            .call(&CreateToken {
                name: name.clone(),
                role,
            })
            .await
        {
            Ok(created) => return Ok(created.token),
            Err(e)
                if e.code() == Some(ErrorCode::InvalidArgument)
                    && e.to_string().contains("exists") =>
            {
                continue
            }
            Err(e) => return Err(anyhow!(e)).with_context(|| format!("creating the {role} token")),
        }
    }
    Err(anyhow!("every name for the {role} token is taken"))
}

/// Waits until every meta-server accepts `token` (it has applied its creation).
pub async fn wait_known(
    cluster_id: &str,
    meta: &[String],
    token: &str,
    timeout: Duration,
) -> Result<()> {
    let settings = ClusterSettings {
        cluster_id: cluster_id.to_string(),
        secret: String::new(),
    };
    let transport =
        Transport::new(settings, super::init::RPC_TIMEOUT).with_operator_token(token.to_string());
    let mut poll = Poll::new("every meta-server to know the operator tokens", timeout);
    loop {
        let mut missing = Vec::new();
        for addr in meta {
            if let Err(e) = transport.call(addr, &ClusterStatus {}).await {
                missing.push(format!("{addr}: {e}"));
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        poll.again(&missing.join("; ")).await?;
    }
}
