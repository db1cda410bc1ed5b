//! The first start of a new cluster in an empty data directory: generate the cluster id and
//! secret, write every config, start the meta-servers and form the Raft group, start the
//! chunkservers and the gateway, create the admin access key and the operator tokens, write
//! `cluster.json`.

use crate::up::configs::{self, new_cluster_settings, ProcessSpec, Role, Settings};
use crate::up::process::Supervisor;
use crate::up::wait::{self, STARTUP_TIMEOUT};
use crate::up::{start_group, write_cluster_file, Started};
use anyhow::{anyhow, Context, Result};
use std::path::Path;
use std::time::Duration;
use trireme_api::cluster_file::{ClusterFile, CLUSTER_FILE_NAME, CLUSTER_FILE_VERSION};
use trireme_api::config::ClusterSettings;
use trireme_api::meta::{CreateAccessKey, InitCluster};
use trireme_api::ErrorCode;
use trireme_client::{MetaClient, Transport};

/// Timeout of one RPC made while starting.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(5);
/// Retry deadline of one meta call made while starting (covers a leader election).
pub const META_DEADLINE: Duration = Duration::from_secs(15);
/// The name of the access key created with a new cluster.
pub const ADMIN_KEY_NAME: &str = "admin";

pub async fn first_start(sup: &mut Supervisor, dir: &Path, s: &Settings) -> Result<ClusterFile> {
    let cluster = new_cluster_settings();
    let transport = Transport::new(cluster.clone(), RPC_TIMEOUT);

    let metas: Vec<ProcessSpec> = (1..=s.metas)
        .map(|i| ProcessSpec::new(dir, Role::Meta, i, 0))
        .collect();
    for m in &metas {
        make_dir(&m.dir)?;
        configs::write_toml(&m.config, &configs::meta_config(m, &cluster, s)?)?;
    }
    let metas = start_group(sup, &metas).await?;
    let meta_addrs: Vec<String> = metas.iter().map(|m| m.addr.clone()).collect();
    init_raft(&transport, &metas).await?;
    let leader = wait::leader(&transport, &meta_addrs, STARTUP_TIMEOUT).await?;
    eprintln!("meta-{leader} is the Raft leader");

    let chunkservers: Vec<ProcessSpec> = (1..=s.chunkservers)
        .map(|i| ProcessSpec::new(dir, Role::Chunkserver, i, s.disks))
        .collect();
    for c in &chunkservers {
        make_dir(&c.dir)?;
        for d in &c.disks {
            make_dir(d)?;
        }
        configs::write_toml(
            &c.config,
            &configs::chunkserver_config(c, &cluster, &meta_addrs, s)?,
        )?;
    }
    let chunkservers = start_group(sup, &chunkservers).await?;

    let gateway = ProcessSpec::new(dir, Role::Gateway, 1, 0);
    make_dir(&gateway.dir)?;
    configs::write_toml(
        &gateway.config,
        &configs::gateway_config(&gateway, &cluster, &meta_addrs, s)?,
    )?;
    let gateways = start_group(sup, &[gateway]).await?;

    let client = MetaClient::new(transport, meta_addrs.clone(), META_DEADLINE);
    let ids: Vec<u64> = chunkservers.iter().map(|c| c.spec.id).collect();
    wait::chunkservers_alive(&client, &ids, STARTUP_TIMEOUT).await?;
    let key = client
        .call(&CreateAccessKey {
            name: ADMIN_KEY_NAME.into(),
            ..Default::default()
        })
        .await
        .context("creating the admin access key")?;
    let secret_key = key
        .secret_key
        .ok_or_else(|| anyhow!("CreateAccessKey returned no secret key"))?;

    let all: Vec<&Started> = metas.iter().chain(&chunkservers).chain(&gateways).collect();
    let mut file = cluster_file(
        &cluster,
        &meta_addrs,
        &gateways,
        key.access_key,
        secret_key,
        &all,
    );
    super::tokens::create(&cluster, &meta_addrs, &mut file).await?;
    if let Some(reader) = &file.reader_token {
        super::tokens::wait_known(&cluster.cluster_id, &meta_addrs, reader, STARTUP_TIMEOUT)
            .await?;
    }
    write_cluster_file(&dir.join(CLUSTER_FILE_NAME), &file)?;
    Ok(file)
}

/// Forms the Raft group on meta 1 with every meta as a voter.
async fn init_raft(transport: &Transport, metas: &[Started]) -> Result<()> {
    let first = metas.first().ok_or_else(|| anyhow!("no meta-servers"))?;
    let members = metas.iter().map(|m| (m.spec.id, m.addr.clone())).collect();
    match transport.call(&first.addr, &InitCluster { members }).await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(ErrorCode::AlreadyInitialized) => Ok(()),
        Err(e) => Err(anyhow!(
            "initialising the cluster on {} ({}): {e}",
            first.spec.label(),
            first.addr
        )),
    }
}

fn cluster_file(
    cluster: &ClusterSettings,
    meta: &[String],
    gateways: &[Started],
    access_key: String,
    secret_key: String,
    all: &[&Started],
) -> ClusterFile {
    ClusterFile {
        version: CLUSTER_FILE_VERSION,
        cluster_id: cluster.cluster_id.clone(),
        secret: cluster.secret.clone(),
        endpoint: gateways
            .first()
            .map(|g| format!("http://{}", g.addr))
            .unwrap_or_default(),
        region: configs::DEFAULT_REGION.to_string(),
        access_key,
        secret_key,
        meta: meta.to_vec(),
        processes: all.iter().map(|p| p.info()).collect(),
        admin_token: None,
        reader_token: None,
    }
}

fn make_dir(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))
}
