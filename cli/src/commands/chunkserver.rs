//! `trireme chunkserver list`.

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{ago, emit, human_bytes, print_json};
use crate::table::Table;
use trireme_api::meta::{ListChunkservers, ListChunkserversResponse};

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
        "HEARTBEAT",
        "DISKS",
        "CHUNKS",
        "CAPACITY",
        "USED",
        "FREE",
    ])
    .right(&[0, 4, 5, 6, 7, 8]);
    for c in servers {
        let capacity: u64 = c.disks.iter().map(|d| d.capacity_bytes).sum();
        let used: u64 = c.disks.iter().map(|d| d.used_bytes).sum();
        let free: u64 = c.disks.iter().map(|d| d.free_bytes).sum();
        let chunks: u64 = c.disks.iter().map(|d| d.chunk_count).sum();
        t.row([
            c.id.to_string(),
            c.addr.clone(),
            if c.alive { "alive" } else { "down" }.to_string(),
            ago(c.last_heartbeat_ms_ago),
            c.disks.len().to_string(),
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
    use trireme_api::meta::{ChunkserverInfo, DiskReport, DiskState};

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
                    disks: vec![disk("d3", DiskState::Failed, 0)],
                    state: Default::default(),
                },
                ChunkserverInfo {
                    id: 1,
                    addr: "127.0.0.1:7001".into(),
                    alive: true,
                    last_heartbeat_ms_ago: Some(300),
                    disks: vec![
                        disk("d1", DiskState::Healthy, 5),
                        disk("d2", DiskState::Draining, 7),
                    ],
                    state: Default::default(),
                },
            ],
        }
    }

    #[test]
    fn table_by_id_with_sums() {
        let expected = "\
ID  ADDR            STATE  HEARTBEAT  DISKS  CHUNKS  CAPACITY     USED      FREE
 1  127.0.0.1:7001  alive  300ms ago      2      12  20.0 GiB  2.0 GiB  16.0 GiB
 2  127.0.0.1:7002  down   -              1       0  10.0 GiB  1.0 GiB   8.0 GiB
";
        assert_eq!(render(&sample()), expected);
    }
}
