//! The meta membership fault: a whole membership cycle under load, as an operator replacing a
//! meta-server would run it, through the leader's membership RPCs (the ones behind `trireme
//! meta add|remove|transfer-leader`).
//!
//! Fault: the spare meta-server starts with an empty directory, joins as a learner, catches
//! up and is promoted (four voters); leadership moves to it and the old leader is removed and
//! stopped (three voters again, one of them new). Heal: the removed node comes back with an
//! empty directory under its old id, is added and promoted, and the spare is removed in turn
//! (leadership moving off it first when it leads), so the next scenario finds the group it
//! started with.

use super::client::Clients;
use super::cluster::Cluster;
use super::health;
use crate::commands::meta::{member, transfer_to, view, wait_caught_up};
use crate::up::configs::Role;
use anyhow::{anyhow, Context, Result};
use std::time::{Duration, Instant};
use trireme_api::membership::{AddLearner, MemberRole, PromoteVoter, RemoveMember};
use trireme_api::ErrorCode;
use trireme_client::{MetaClient, Transport};

/// Deadline of one membership call (a change commits through joint consensus).
const CALL_DEADLINE: Duration = Duration::from_secs(30);
/// How long a new member may take to catch up with the leader's log.
const CATCH_UP: Duration = Duration::from_secs(60);
/// Attempts of a promotion or removal the leader refuses for now (a learner may fall behind
/// again between the check and the change; a new leader may not know its followers yet).
const PROMOTE_ATTEMPTS: usize = 5;

fn client(cluster: &Cluster) -> MetaClient {
    let t = Transport::new(cluster.settings.clone(), Duration::from_secs(5));
    MetaClient::new(t, cluster.meta_addrs.clone(), CALL_DEADLINE)
}

fn mark(clients: &Clients, label: String) {
    eprintln!("  {label}");
    let _ = clients.recorder.mark(label);
}

/// Starts node `i` (a meta-server) with an empty data directory and makes it a voter.
async fn join(cluster: &mut Cluster, clients: &Clients, i: usize) -> Result<()> {
    let (id, addr) = (cluster.nodes[i].id, cluster.nodes[i].addr.clone());
    let db = cluster.node_dir(i).join("db");
    if db.exists() {
        std::fs::remove_dir_all(&db).with_context(|| format!("emptying {}", db.display()))?;
    }
    cluster.nodes[i].start()?;
    cluster.nodes[i].wait_ready().await?;
    cluster.idle.remove(&i);
    let c = client(cluster);
    c.call(&AddLearner {
        id,
        addr: addr.clone(),
    })
    .await
    .map_err(|e| anyhow!("adding meta-{id} as a learner: {e}"))?;
    mark(
        clients,
        format!("fault: meta-{id} ({addr}) added as a learner"),
    );
    let mut attempt = 0;
    loop {
        attempt += 1;
        wait_caught_up(&c, id, CATCH_UP, true)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        match c.call(&PromoteVoter { id }).await {
            Ok(_) => break,
            Err(e)
                if e.code() == Some(ErrorCode::PreconditionFailed)
                    && attempt < PROMOTE_ATTEMPTS =>
            {
                continue
            }
            Err(e) => return Err(anyhow!("promoting meta-{id}: {e}")),
        }
    }
    cluster.refresh_meta_addrs();
    mark(clients, format!("fault: meta-{id} promoted to voter"));
    Ok(())
}

/// Removes meta-server node `i` from the group (moving leadership to `successor` first when
/// `i` leads), then stops it.
async fn leave(cluster: &mut Cluster, clients: &Clients, i: usize, successor: u64) -> Result<()> {
    let id = cluster.nodes[i].id;
    let c = client(cluster);
    if health::wait_leader(cluster, Duration::from_secs(30)).await? == id {
        let r = transfer_to(&c, successor)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        mark(
            clients,
            format!(
                "fault: leadership meta-{id} -> meta-{} (writes paused {} ms)",
                r.leader.map_or("none".into(), |l| l.to_string()),
                r.paused_ms
            ),
        );
    }
    // A refusal (the group not ready for the change yet, e.g. a leader elected moments ago)
    // is retried for a while, as an operator would.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match c.call(&RemoveMember { id, dry_run: false }).await {
            Ok(_) => break,
            Err(e)
                if e.code() == Some(ErrorCode::PreconditionFailed)
                    && attempt < PROMOTE_ATTEMPTS =>
            {
                eprintln!("  removing meta-{id} refused for now: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(anyhow!("removing meta-{id}: {e}")),
        }
    }
    cluster.nodes[i].stop().await;
    cluster.idle.insert(i);
    cluster.refresh_meta_addrs();
    mark(clients, format!("fault: meta-{id} removed and stopped"));
    Ok(())
}

/// Waits until every member in service is a voter of the group the leader reports.
async fn wait_voters(cluster: &Cluster) -> Result<()> {
    let want: Vec<u64> = cluster
        .of_role(Role::Meta)
        .into_iter()
        .map(|i| cluster.nodes[i].id)
        .collect();
    let c = client(cluster);
    let deadline = Instant::now() + CALL_DEADLINE;
    loop {
        if let Ok(v) = view(&c).await {
            let all_voters = want
                .iter()
                .all(|id| member(&v, *id).is_some_and(|m| m.role == MemberRole::Voter));
            if v.leader == Some(v.node_id) && !v.joint && all_voters && v.voters.len() == want.len()
            {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(anyhow!("the voters did not become {want:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The fault and its heal (see the module doc). Returns what it changed.
pub async fn cycle(cluster: &mut Cluster, clients: &Clients, hold: Duration) -> Result<String> {
    let start = Instant::now();
    let spare = *cluster
        .idle_of_role(Role::Meta)
        .first()
        .ok_or_else(|| anyhow!("no spare meta-server"))?;
    let leader_id = health::wait_leader(cluster, Duration::from_secs(30)).await?;
    let old = cluster
        .meta_index(leader_id)
        .ok_or_else(|| anyhow!("the leader {leader_id} is not one of our meta-servers"))?;
    let (spare_id, old_id) = (cluster.nodes[spare].id, leader_id);
    join(cluster, clients, spare).await?;
    leave(cluster, clients, old, spare_id).await?;
    wait_voters(cluster).await?;
    if let Some(rest) = hold.checked_sub(start.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    join(cluster, clients, old).await?;
    leave(cluster, clients, spare, old_id).await?;
    wait_voters(cluster).await?;
    mark(
        clients,
        format!("heal: meta-{old_id} back as a voter, meta-{spare_id} removed"),
    );
    Ok(format!(
        "meta-{spare_id} in, meta-{old_id} (leader) out, and back"
    ))
}
