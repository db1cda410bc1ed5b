//! `trireme chunkserver list`: STATE is what Raft records (`up`, or `dead` once the leader
//! declared it so; that drives repair), LIVE whether its heartbeats arrive now.

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{ago, emit, human_bytes, print_json, wire_name};
use crate::table::Table;
use trireme_api::meta::{DiskState, ListChunkservers, ListChunkserversResponse};

/// Fetches the chunkserver list from the leader.
pub async fn fetch(cluster: &Cluster) -> Result<ListChunkserversResponse, CliError> {
    cluster
        .client
        .call(&ListChunkservers {})
        .await
        .map_err(|e| CliError::from_client("list chunkservers", e))
}

pub async fn list(cluster: &Cluster, json: bool) -> Result<(), CliError> {
    let resp = fetch(cluster).await?;
    if json {
        return print_json(&resp);
    }
    emit(&render(&resp))
}

/// One row per chunkserver, by id, with its disks summed.
pub fn render(resp: &ListChunkserversResponse) -> String {
    let mut servers: Vec<_> = resp.chunkservers.iter().collect();
    servers.sort_by_key(|c| c.id);
    let mut t = Table::new(&[
        "ID",
        "ADDR",
        "STATE",
        "LIVE",
        "HEARTBEAT",
        "DISKS",
        "BAD DISKS",
        "CHUNKS",
        "CAPACITY",
        "USED",
        "FREE",
    ])
    .right(&[0, 5, 6, 7, 8, 9, 10]);
    for c in servers {
        let capacity: u64 = c.disks.iter().map(|d| d.capacity_bytes).sum();
        let used: u64 = c.disks.iter().map(|d| d.used_bytes).sum();
        let free: u64 = c.disks.iter().map(|d| d.free_bytes).sum();
        let chunks: u64 = c.disks.iter().map(|d| d.chunk_count).sum();
        let bad = c
            .disks
            .iter()
            .filter(|d| d.state != DiskState::Healthy)
            .count();
        t.row([
            c.id.to_string(),
            c.addr.clone(),
            wire_name(&c.state),
            if c.alive { "alive" } else { "down" }.to_string(),
            ago(c.last_heartbeat_ms_ago),
            c.disks.len().to_string(),
            bad.to_string(),
            chunks.to_string(),
            human_bytes(capacity),
            human_bytes(used),
            human_bytes(free),
        ]);
    }
    t.render()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use trireme_api::ids::DiskId;
    use trireme_api::meta::{ChunkserverInfo, ChunkserverState, DiskHealth, DiskReport};

    pub(crate) fn disk(id: &str, state: DiskState, chunks: u64) -> DiskReport {
        DiskReport {
            disk_id: DiskId(id.into()),
            path: format!("/d/{id}"),
            state,
            capacity_bytes: 10 << 30,
            free_bytes: 8 << 30,
            used_bytes: 1 << 30,
            chunk_count: chunks,
            health: Default::default(),
        }
    }

    pub(crate) fn sample() -> ListChunkserversResponse {
        ListChunkserversResponse {
            chunkservers: vec![
                ChunkserverInfo {
                    id: 2,
                    addr: "127.0.0.1:7002".into(),
                    alive: false,
                    last_heartbeat_ms_ago: None,
                    disks: vec![DiskReport {
                        health: DiskHealth {
                            probe_latency_us: None,
                            consecutive_failures: 4,
                            io_errors: 17,
                            reason: Some("probe failed:\nEIO".into()),
                            ..Default::default()
                        },
                        ..disk("d3", DiskState::Failed, 0)
                    }],
                    state: ChunkserverState::Dead,
                },
                ChunkserverInfo {
                    id: 1,
                    addr: "127.0.0.1:7001".into(),
                    alive: true,
                    last_heartbeat_ms_ago: Some(300),
                    disks: vec![
                        DiskReport {
                            health: DiskHealth {
                                probe_latency_us: Some(850),
                                corrupt_replicas: 1,
                                ..Default::default()
                            },
                            ..disk("d1", DiskState::Healthy, 5)
                        },
                        disk("d2", DiskState::Draining, 7),
                    ],
                    state: ChunkserverState::Up,
                },
            ],
        }
    }

    #[test]
    fn table_by_id_with_sums() {
        let expected = "\
ID  ADDR            STATE  LIVE   HEARTBEAT  DISKS  BAD DISKS  CHUNKS  CAPACITY     USED      FREE
 1  127.0.0.1:7001  up     alive  300ms ago      2          1      12  20.0 GiB  2.0 GiB  16.0 GiB
 2  127.0.0.1:7002  dead   down   -              1          1       0  10.0 GiB  1.0 GiB   8.0 GiB
";
        assert_eq!(render(&sample()), expected);
    }
}
