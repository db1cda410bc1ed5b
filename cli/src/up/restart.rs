//! Starting an existing cluster again from its `cluster.json`: the same configs (hence the
//! same ports and disks), no Raft initialisation and no new keys; only the pids change. A
//! `cluster.json` written before operator tokens existed gets them now.

use crate::up::configs::{ProcessSpec, Role};
use crate::up::init::{META_DEADLINE, RPC_TIMEOUT};
use crate::up::process::{is_running_with, Supervisor};
use crate::up::wait::{self, STARTUP_TIMEOUT};
use crate::up::{start_group, write_cluster_file, Started};
use anyhow::{anyhow, Context, Result};
use std::path::Path;
use trireme_api::cluster_file::{ClusterFile, CLUSTER_FILE_VERSION};
use trireme_api::config::ClusterSettings;
use trireme_client::{MetaClient, Transport};

pub async fn restart(sup: &mut Supervisor, dir: &Path, path: &Path) -> Result<ClusterFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut file: ClusterFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if file.version != CLUSTER_FILE_VERSION {
        return Err(anyhow!(
            "{} has version {}, expected {CLUSTER_FILE_VERSION}",
            path.display(),
            file.version
        ));
    }
    let specs = file
        .processes
        .iter()
        .map(ProcessSpec::from_info)
        .collect::<Result<Vec<_>>>()?;
    for (info, spec) in file.processes.iter().zip(&specs) {
        if is_running_with(info.pid, &spec.config) {
            return Err(anyhow!(
                "{} of the cluster in {} is still running (pid {}); stop the other `trireme up` first",
                spec.label(),
                dir.display(),
                info.pid
            ));
        }
    }
    let of_role = |role: Role| {
        specs
            .iter()
            .filter(|s| s.role == role)
            .cloned()
            .collect::<Vec<_>>()
    };
    let settings = ClusterSettings {
        cluster_id: file.cluster_id.clone(),
        secret: file.secret.clone(),
    };
    let transport = Transport::new(settings, RPC_TIMEOUT);

    let metas = start_group(sup, &of_role(Role::Meta)).await?;
    if metas.is_empty() {
        return Err(anyhow!("{} lists no meta-servers", path.display()));
    }
    let meta_addrs: Vec<String> = metas.iter().map(|m| m.addr.clone()).collect();
    let leader = wait::leader(&transport, &meta_addrs, STARTUP_TIMEOUT).await?;
    eprintln!("meta-{leader} is the Raft leader");
    let chunkservers = start_group(sup, &of_role(Role::Chunkserver)).await?;
    let gateways = start_group(sup, &of_role(Role::Gateway)).await?;

    let client = MetaClient::new(transport, meta_addrs.clone(), META_DEADLINE);
    let ids: Vec<u64> = chunkservers.iter().map(|c| c.spec.id).collect();
    wait::chunkservers_alive(&client, &ids, STARTUP_TIMEOUT).await?;

    let started: Vec<&Started> = metas.iter().chain(&chunkservers).chain(&gateways).collect();
    for info in &mut file.processes {
        if let Some(s) = started
            .iter()
            .find(|s| s.spec.role.name() == info.role && s.spec.id == info.id)
        {
            info.pid = s.pid;
            info.addr = s.addr.clone();
        }
    }
    file.meta = meta_addrs;
    if let Some(g) = gateways.first() {
        file.endpoint = format!("http://{}", g.addr);
    }
    if file.admin_token.is_none() && file.reader_token.is_none() {
        let settings = ClusterSettings {
            cluster_id: file.cluster_id.clone(),
            secret: file.secret.clone(),
        };
        let meta = file.meta.clone();
        super::tokens::create(&settings, &meta, &mut file).await?;
        if let Some(reader) = file.reader_token.clone() {
            super::tokens::wait_known(&file.cluster_id, &meta, &reader, STARTUP_TIMEOUT).await?;
        }
        eprintln!(
            "created operator tokens (admin, reader) in {}",
            path.display()
        );
    }
    write_cluster_file(path, &file)?;
    Ok(file)
}
