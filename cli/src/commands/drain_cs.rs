//! Whole chunkservers: `trireme chunkserver drain|undrain|decommission ID` and `trireme plan
//! chunkserver-remove ID`, as the same operations on each of its disks. The per-disk gate
//! already counts only replicas on other, non-draining disks, so with every disk of the
//! chunkserver draining a chunk counts as safe only once it has its wanted replicas on other
//! chunkservers' disks.

use super::drain::render;
use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{duration_words, emit, human_bytes, now_ms, print_json};
use std::time::Duration;
use trireme_api::ids::DiskId;
use trireme_api::meta::ListChunkservers;
use trireme_api::ops::*;

async fn disks_of(cluster: &Cluster, id: u64) -> Result<Vec<DiskId>, CliError> {
    let list = cluster
        .client
        .call(&ListChunkservers {})
        .await
        .map_err(|e| CliError::from_client("list chunkservers", e))?;
    let cs = list
        .chunkservers
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| CliError::Failed(format!("no chunkserver {id}")))?;
    Ok(cs.disks.into_iter().map(|d| d.disk_id).collect())
}

fn disk_ref(cs: u64, disk: &DiskId) -> DiskRef {
    DiskRef {
        disk: disk.clone(),
        chunkserver: Some(cs),
    }
}

async fn statuses(
    cluster: &Cluster,
    id: u64,
    list: u32,
) -> Result<Vec<DrainStatusResponse>, CliError> {
    let mut out = Vec::new();
    for d in disks_of(cluster, id).await? {
        let s = cluster
            .client
            .call(&DrainStatus {
                disk: disk_ref(id, &d),
                list_objects: list,
            })
            .await
            .map_err(|e| CliError::from_client("disk status", e))?;
        if s.admin != DiskAdminState::Removed {
            out.push(s);
        }
    }
    Ok(out)
}

fn summary(id: u64, all: &[DrainStatusResponse]) -> String {
    let chunks: u64 = all.iter().map(|s| s.chunks).sum();
    let safe: u64 = all.iter().map(|s| s.chunks_safe).sum();
    let left: u64 = all.iter().map(|s| s.bytes_left).sum();
    let eta = all.iter().filter_map(|s| s.eta_s).max();
    let verdict = if all.iter().all(|s| s.safe_to_pull) {
        format!("SAFE TO DECOMMISSION: every chunk on chunkserver {id} has its wanted healthy replicas on other chunkservers")
    } else {
        "NOT SAFE YET".to_string()
    };
    format!(
        "chunkserver {id}: {safe}/{chunks} chunks safe elsewhere, {} left, ETA {}\n{verdict}",
        human_bytes(left),
        eta.map(duration_words).unwrap_or_else(|| "-".into())
    )
}

pub async fn drain(
    cluster: &Cluster,
    id: u64,
    undo: bool,
    watch: bool,
    json: bool,
) -> Result<(), CliError> {
    let mut out = Vec::new();
    for d in disks_of(cluster, id).await? {
        let s = cluster
            .client
            .call(&DrainDisk {
                disk: disk_ref(id, &d),
                undo,
                reason: None,
            })
            .await
            .map_err(|e| CliError::from_client("disk drain", e))?;
        out.push(s);
    }
    if json && !watch {
        return print_json(&out);
    }
    if !json {
        emit(&summary(id, &out))?;
    }
    if !watch || undo {
        return Ok(());
    }
    loop {
        let all = statuses(cluster, id, 0).await?;
        if json {
            println!("{}", serde_json::to_string(&all).unwrap_or_default());
        } else {
            println!("{}", summary(id, &all).lines().next().unwrap_or_default());
        }
        if all.iter().all(|s| s.safe_to_pull) {
            return if json {
                Ok(())
            } else {
                emit(&summary(id, &all))
            };
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

pub async fn decommission(
    cluster: &Cluster,
    id: u64,
    force: bool,
    yes: bool,
    json: bool,
) -> Result<(), CliError> {
    let all = statuses(cluster, id, 20).await?;
    let plan: String = all
        .iter()
        .map(|s| render(s, now_ms()))
        .collect::<Vec<_>>()
        .join("\n");
    crate::confirm::confirm(
        &format!("{plan}\nThis removes every disk of chunkserver {id} from service.\n"),
        &format!("decommission chunkserver {id}"),
        yes,
    )?;
    let mut done = Vec::new();
    for s in &all {
        let r = cluster
            .client
            .call(&RemoveDisk {
                disk: disk_ref(id, &s.disk),
                force,
                reason: None,
            })
            .await
            .map_err(|e| CliError::from_client(&format!("remove disk {}", s.disk), e))?;
        done.push(r);
    }
    if json {
        return print_json(&done);
    }
    emit(&format!(
        "chunkserver {id} is out of service ({} disks removed); it can be stopped and taken away.",
        done.len()
    ))
}

pub async fn plan(cluster: &Cluster, id: u64, json: bool) -> Result<(), CliError> {
    let mut plans = Vec::new();
    for d in disks_of(cluster, id).await? {
        let p = cluster
            .client
            .call(&PlanDiskRemove {
                disk: disk_ref(id, &d),
            })
            .await
            .map_err(|e| CliError::from_client("plan", e))?;
        if p.status.admin != DiskAdminState::Removed {
            plans.push(p);
        }
    }
    if json {
        return print_json(&plans);
    }
    let to_copy: u64 = plans.iter().map(|p| p.status.bytes_left).sum();
    let room = plans.first().map(|p| p.room_bytes).unwrap_or(0);
    let secs: u64 = plans.iter().map(|p| p.estimated_s).sum();
    let unplaceable: u64 = plans.iter().map(|p| p.unplaceable_chunks).sum();
    let verdict = if plans.iter().all(|p| p.status.safe_to_pull) {
        "safe to decommission now".to_string()
    } else if plans.iter().any(|p| p.status.chunks_last_copy > 0) {
        "some chunks have their last healthy copy here: repair them first".to_string()
    } else if room < to_copy {
        "not enough room on the other chunkservers".to_string()
    } else if unplaceable > 0 {
        format!("{unplaceable} chunks have no eligible target")
    } else {
        format!("drain first (`trireme chunkserver drain {id}`)")
    };
    emit(&format!(
        "chunkserver {id}: {} disks, {} to copy, {} free on other chunkservers, about {} at the repair throttle\nverdict: {verdict}",
        plans.len(),
        human_bytes(to_copy),
        human_bytes(room),
        duration_words(secs)
    ))
}
