//! Forming the torture cluster (Raft init, the access key) and judging its health: who leads
//! the meta group, and "healthy" = every meta-server answers and agrees on one leader, the
//! leader sees every chunkserver alive, and every gateway serves the scenario's bucket.

use super::client::Clients;
use super::cluster::Cluster;
use crate::bench::sigv4::Credentials;
use crate::up::configs::Role;
use crate::up::wait::Poll;
use anyhow::{anyhow, Context, Result};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use trireme_api::meta::{ClusterStatus, CreateAccessKey, InitCluster, ListChunkservers};
use trireme_api::ErrorCode;
use trireme_client::{MetaClient, Transport};

/// Timeout of one health RPC.
const RPC_TIMEOUT: Duration = Duration::from_secs(2);

fn transport(cluster: &Cluster) -> Transport {
    Transport::new(cluster.settings.clone(), RPC_TIMEOUT)
}

/// Starts every process, forms the Raft group and creates an S3 access key.
pub async fn bootstrap(cluster: &mut Cluster) -> Result<Credentials> {
    let metas = cluster.of_role(Role::Meta);
    cluster.start(&metas).await?;
    let members = metas
        .iter()
        .map(|&i| (cluster.nodes[i].id, cluster.nodes[i].addr.clone()))
        .collect();
    let t = transport(cluster);
    match t
        .call(&cluster.meta_addrs[0], &InitCluster { members })
        .await
    {
        Ok(_) => {}
        Err(e) if e.code() == Some(ErrorCode::AlreadyInitialized) => {}
        Err(e) => return Err(anyhow!("initialising the Raft group: {e}")),
    }
    wait_leader(cluster, Duration::from_secs(60)).await?;
    let rest: Vec<usize> = cluster
        .of_role(Role::Chunkserver)
        .into_iter()
        .chain(cluster.of_role(Role::Gateway))
        .collect();
    cluster.start(&rest).await?;
    let client = MetaClient::new(t, cluster.meta_addrs.clone(), Duration::from_secs(20));
    let key = client
        .call(&CreateAccessKey {
            name: "torture".into(),
            ..Default::default()
        })
        .await
        .context("creating the access key")?;
    Ok(Credentials {
        access_key: key.access_key,
        secret_key: key
            .secret_key
            .ok_or_else(|| anyhow!("CreateAccessKey returned no secret"))?,
        region: "us-east-1".into(),
        service: "s3".into(),
    })
}

/// The meta leader's node id as the meta-servers report it (the highest term wins: a
/// partitioned old leader may still believe it leads).
pub async fn leader(cluster: &Cluster) -> Option<u64> {
    let t = transport(cluster);
    let mut best: Option<(u64, u64)> = None;
    for addr in &cluster.meta_addrs {
        if let Ok(s) = t.call(addr, &ClusterStatus {}).await {
            if let Some(l) = s.leader {
                if best.is_none_or(|(term, _)| s.term > term) {
                    best = Some((s.term, l));
                }
            }
        }
    }
    best.map(|(_, l)| l)
}

/// Waits until some meta-server reports a leader; returns its id.
pub async fn wait_leader(cluster: &Cluster, timeout: Duration) -> Result<u64> {
    let mut poll = Poll::new("a meta leader", timeout);
    loop {
        if let Some(l) = leader(cluster).await {
            return Ok(l);
        }
        poll.again("no leader").await?;
    }
}

/// Why the cluster is not healthy, or `None` when it is.
pub async fn unhealthy(cluster: &Cluster, clients: &Clients) -> Option<String> {
    let t = transport(cluster);
    let mut leaders = BTreeSet::new();
    for addr in &cluster.meta_addrs {
        match t.call(addr, &ClusterStatus {}).await {
            Ok(s) => match s.leader {
                Some(l) => {
                    leaders.insert(l);
                }
                None => return Some(format!("{addr} knows no leader")),
            },
            Err(e) => return Some(format!("meta {addr}: {e}")),
        }
    }
    if leaders.len() != 1 {
        return Some(format!("meta-servers disagree on the leader: {leaders:?}"));
    }
    let client = MetaClient::new(t, cluster.meta_addrs.clone(), RPC_TIMEOUT);
    match client.call(&ListChunkservers {}).await {
        Ok(resp) => {
            let alive = resp.chunkservers.iter().filter(|c| c.alive).count();
            let want = cluster.of_role(Role::Chunkserver).len();
            if alive < want {
                return Some(format!("{alive}/{want} chunkservers alive"));
            }
        }
        Err(e) => return Some(format!("listing chunkservers: {e}")),
    }
    for g in 0..clients.gateways() {
        if let Err(e) = clients.probe(g).await {
            return Some(format!("gateway {}: {e}", g + 1));
        }
    }
    // After a disk fault: the data is whole again (see `diskcheck`).
    super::diskcheck::unrecovered(cluster, clients).await
}

/// Waits until the cluster is healthy; returns how long that took.
pub async fn wait_healthy(
    cluster: &Cluster,
    clients: &Clients,
    timeout: Duration,
) -> Result<Duration> {
    let start = Instant::now();
    let mut poll = Poll::new("the cluster to be healthy", timeout);
    loop {
        match unhealthy(cluster, clients).await {
            None => return Ok(start.elapsed()),
            Some(why) => poll.again(&why).await?,
        }
    }
}
