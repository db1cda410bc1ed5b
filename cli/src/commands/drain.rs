//! `trireme disk drain|undrain|remove|swap status` and `trireme plan disk-remove`: taking a
//! disk out of service without ever dropping a chunk below its wanted replicas.
//!
//! The drain is Raft state on the meta leader, so this command can be left and re-attached
//! (`trireme disk swap status ID --watch`) and survives leader changes. Removal goes through
//! the gate: refused, naming the objects at risk, while any chunk lacks its wanted healthy
//! replicas elsewhere (`--force` for a dead disk, still refused for a last copy).

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{
    duration_words, emit, fields, human_bytes, mib_per_s, now_ms, print_json, when,
};
use std::time::Duration;
use trireme_api::ids::DiskId;
use trireme_api::ops::*;

fn disk_ref(id: &str) -> DiskRef {
    DiskRef {
        disk: DiskId(id.to_string()),
        chunkserver: None,
    }
}

async fn status_of(
    cluster: &Cluster,
    id: &str,
    list: u32,
) -> Result<DrainStatusResponse, CliError> {
    cluster
        .client
        .call(&DrainStatus {
            disk: disk_ref(id),
            list_objects: list,
        })
        .await
        .map_err(|e| CliError::from_client("disk status", e))
}

pub async fn drain(
    cluster: &Cluster,
    id: &str,
    undo: bool,
    reason: Option<String>,
    watch: bool,
    json: bool,
) -> Result<(), CliError> {
    let what = if undo { "undrain" } else { "drain" };
    let resp = cluster
        .client
        .call(&DrainDisk {
            disk: disk_ref(id),
            undo,
            reason,
        })
        .await
        .map_err(|e| CliError::from_client(&format!("disk {what}"), e))?;
    if json && !watch {
        return print_json(&resp);
    }
    if !json {
        let said = if undo {
            format!("disk {id} is back in service (takes new replicas again)")
        } else {
            format!(
                "disk {id} is draining: no new replicas; its {} chunks get their replicas elsewhere. \
                 Follow with `trireme disk swap status {id} --watch`.",
                resp.chunks
            )
        };
        emit(&format!("{said}\n\n{}", render(&resp, now_ms())))?;
    }
    if watch && !undo {
        return follow(cluster, id, json).await;
    }
    Ok(())
}

/// Re-prints the status every 2 s until the disk is safe to pull.
async fn follow(cluster: &Cluster, id: &str, json: bool) -> Result<(), CliError> {
    loop {
        let s = status_of(cluster, id, 0).await?;
        if json {
            println!("{}", serde_json::to_string(&s).unwrap_or_default());
        } else {
            println!("{}", progress_line(&s));
        }
        if s.safe_to_pull || s.admin == DiskAdminState::Removed {
            if !json {
                emit(&gate_line(&s))?;
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

pub async fn remove(
    cluster: &Cluster,
    id: &str,
    force: bool,
    yes: bool,
    reason: Option<String>,
    json: bool,
) -> Result<(), CliError> {
    let s = status_of(cluster, id, 20).await?;
    if !json {
        emit(&render(&s, now_ms()))?;
    }
    crate::confirm::confirm(
        &format!(
            "This drops every replica on disk {id} (chunkserver {}, {}) from the metadata; the disk can then be pulled.\n",
            s.chunkserver, s.path
        ),
        &format!("remove disk {id}"),
        yes,
    )?;
    let resp = cluster
        .client
        .call(&RemoveDisk {
            disk: disk_ref(id),
            force,
            reason,
        })
        .await
        .map_err(|e| CliError::from_client("disk remove", e))?;
    if json {
        return print_json(&resp);
    }
    emit(&format!(
        "disk {id} is out of service. Pull it: chunkserver {}, path {}, disk id {id}.",
        resp.chunkserver, resp.path
    ))
}

pub async fn plan_remove(cluster: &Cluster, id: &str, json: bool) -> Result<(), CliError> {
    let p = cluster
        .client
        .call(&PlanDiskRemove { disk: disk_ref(id) })
        .await
        .map_err(|e| CliError::from_client("plan disk-remove", e))?;
    if json {
        return print_json(&p);
    }
    let mut out = render(&p.status, now_ms());
    out.push('\n');
    out.push_str(&fields(&[
        ("room elsewhere", human_bytes(p.room_bytes)),
        (
            "placement",
            if p.unplaceable_chunks == 0 {
                "satisfiable for every chunk".to_string()
            } else {
                format!("{} chunks have no eligible target", p.unplaceable_chunks)
            },
        ),
        (
            "copy time",
            format!(
                "about {} at the repair throttle ({})",
                duration_words(p.estimated_s),
                mib_per_s(p.bandwidth_bytes_per_s as f64)
            ),
        ),
        ("verdict", p.verdict.clone()),
    ]));
    emit(&out)
}

fn progress_line(s: &DrainStatusResponse) -> String {
    let done = s.chunks_safe.min(s.chunks);
    let pct = (done * 100).checked_div(s.chunks).unwrap_or(100);
    let width = 30u64;
    let filled = (pct * width / 100) as usize;
    format!(
        "[{}{}] {pct:>3}%  {done}/{} chunks  {} left  {}  ETA {}",
        "#".repeat(filled),
        ".".repeat(width as usize - filled),
        s.chunks,
        human_bytes(s.bytes_left),
        mib_per_s(s.rate_bytes_per_s),
        s.eta_s.map(duration_words).unwrap_or_else(|| "-".into())
    )
}

fn gate_line(s: &DrainStatusResponse) -> String {
    if s.admin == DiskAdminState::Removed {
        format!("disk {} is out of service.", s.disk)
    } else if s.safe_to_pull {
        format!(
            "SAFE TO REMOVE: every chunk that had a replica on disk {} has its wanted healthy replicas elsewhere.\n\
             Next: `trireme disk remove {}`, then pull chunkserver {}'s disk at {}.",
            s.disk, s.disk, s.chunkserver, s.path
        )
    } else if s.chunks_last_copy > 0 {
        format!(
            "NOT SAFE: {} chunks have their last healthy replica on this disk.",
            s.chunks_last_copy
        )
    } else {
        format!(
            "NOT SAFE YET: {} chunks still lack their wanted healthy replicas elsewhere.",
            s.chunks_left
        )
    }
}

/// The disk, its drain, the gate, and the objects at risk.
pub fn render(s: &DrainStatusResponse, now: u64) -> String {
    let mut out = fields(&[
        (
            "disk",
            format!("{} (chunkserver {}, {})", s.disk, s.chunkserver, s.path),
        ),
        ("state", format!("{}, {}", s.state, s.admin.as_str())),
        (
            "draining since",
            s.started_ms
                .map(|t| when(t, now))
                .unwrap_or_else(|| "-".into()),
        ),
        ("chunks", format!("{} ({})", s.chunks, human_bytes(s.bytes))),
        ("safe elsewhere", s.chunks_safe.to_string()),
        (
            "to copy",
            format!("{} ({})", s.chunks_left, human_bytes(s.bytes_left)),
        ),
    ]);
    out.push_str(&progress_line(s));
    out.push('\n');
    out.push_str(&gate_line(s));
    out.push('\n');
    if !s.at_risk.is_empty() {
        out.push_str("\nobjects at risk if it were pulled now (first ones):\n");
        for o in &s.at_risk {
            out.push_str(&format!(
                "  {}/{}  ({} healthy replicas elsewhere)\n",
                o.bucket, o.key, o.replicas_left
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(chunks: u64, safe: u64, last: u64) -> DrainStatusResponse {
        DrainStatusResponse {
            chunkserver: 2,
            disk: DiskId("d1".into()),
            path: "/data/d1".into(),
            admin: DiskAdminState::Draining,
            state: "draining".into(),
            chunks,
            chunks_safe: safe,
            chunks_left: chunks - safe,
            chunks_last_copy: last,
            safe_to_pull: safe == chunks,
            ..Default::default()
        }
    }

    #[test]
    fn gate_words() {
        assert!(render(&status(10, 10, 0), 0).contains("SAFE TO REMOVE"));
        assert!(render(&status(10, 4, 0), 0).contains("NOT SAFE YET: 6 chunks"));
        assert!(render(&status(10, 4, 2), 0).contains("last healthy replica"));
        assert!(progress_line(&status(10, 5, 0)).contains(" 50%  5/10 chunks"));
        assert!(progress_line(&status(0, 0, 0)).contains("100%"));
    }
}
