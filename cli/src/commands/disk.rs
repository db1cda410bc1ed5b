//! `trireme disk list`: one row per disk of every chunkserver, with what its health checks
//! measured (probe latency, I/O errors, corrupt replicas found, why it is not healthy).

use crate::cluster::Cluster;
use crate::commands::chunkserver;
use crate::error::one_line;
use crate::error::CliError;
use crate::output::{disk_state_name, emit, human_bytes, micros, print_json};
use crate::table::Table;
use serde::Serialize;
use trireme_api::ids::ChunkserverId;
use trireme_api::meta::{DiskReport, ListChunkserversResponse};

/// A disk with the chunkserver it belongs to (JSON: `chunkserver` plus the
/// [`DiskReport`] fields).
#[derive(Debug, Serialize)]
pub struct DiskRow<'a> {
    pub chunkserver: ChunkserverId,
    #[serde(flatten)]
    pub disk: &'a DiskReport,
}

#[derive(Debug, Serialize)]
pub struct DiskList<'a> {
    pub disks: Vec<DiskRow<'a>>,
}

pub async fn list(cluster: &Cluster, json: bool) -> Result<(), CliError> {
    let resp = chunkserver::fetch(cluster).await?;
    if json {
        return print_json(&rows(&resp));
    }
    emit(&render(&resp))
}

/// All disks, ordered by chunkserver id then path.
pub fn rows(resp: &ListChunkserversResponse) -> DiskList<'_> {
    let mut disks: Vec<DiskRow<'_>> = resp
        .chunkservers
        .iter()
        .flat_map(|c| {
            c.disks.iter().map(move |d| DiskRow {
                chunkserver: c.id,
                disk: d,
            })
        })
        .collect();
    disks.sort_by(|a, b| (a.chunkserver, &a.disk.path).cmp(&(b.chunkserver, &b.disk.path)));
    DiskList { disks }
}

pub fn render(resp: &ListChunkserversResponse) -> String {
    let mut t = Table::new(&[
        "CHUNKSERVER",
        "DISK",
        "PATH",
        "STATE",
        "CAPACITY",
        "FREE",
        "USED",
        "CHUNKS",
        "PROBE",
        "IO ERRORS",
        "CORRUPT",
        "REASON",
    ])
    .right(&[0, 4, 5, 6, 7, 8, 9, 10]);
    for r in rows(resp).disks {
        let d = r.disk;
        let h = &d.health;
        let probe = match (h.probe_latency_us, h.consecutive_failures) {
            (_, n) if n > 0 => format!("failed x{n}"),
            (Some(us), _) => micros(us),
            (None, _) => "-".into(),
        };
        let reason = h
            .reason
            .as_deref()
            .or(h.last_error.as_deref())
            .map(one_line)
            .unwrap_or_default();
        t.row([
            r.chunkserver.to_string(),
            d.disk_id.to_string(),
            d.path.clone(),
            disk_state_name(d.state),
            human_bytes(d.capacity_bytes),
            human_bytes(d.free_bytes),
            human_bytes(d.used_bytes),
            d.chunk_count.to_string(),
            probe,
            h.io_errors.to_string(),
            h.corrupt_replicas.to_string(),
            reason,
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::chunkserver::tests::sample;

    #[test]
    fn table_one_row_per_disk() {
        let expected = "\
CHUNKSERVER  DISK  PATH   STATE     CAPACITY     FREE     USED  CHUNKS      PROBE  IO ERRORS  CORRUPT  REASON
          1  d1    /d/d1  healthy   10.0 GiB  8.0 GiB  1.0 GiB       5      850us          0        1
          1  d2    /d/d2  draining  10.0 GiB  8.0 GiB  1.0 GiB       7          -          0        0
          2  d3    /d/d3  failed    10.0 GiB  8.0 GiB  1.0 GiB       0  failed x4         17        0  probe failed: EIO
";
        assert_eq!(render(&sample()), expected);
    }

    #[test]
    fn json_flattens_disk_fields() {
        let resp = sample();
        let v = serde_json::to_value(rows(&resp)).expect("json");
        let first = &v["disks"][0];
        assert_eq!(first["chunkserver"], 1);
        assert_eq!(first["disk_id"], "d1");
        assert_eq!(first["state"], "healthy");
        assert_eq!(first["chunk_count"], 5);
        assert_eq!(first["health"]["probe_latency_us"], 850);
    }
}
