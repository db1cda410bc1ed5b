//! `trireme scrub start|pause|resume|status`: scrub control (through the leader, so every
//! chunkserver learns it with its next heartbeat) and each chunkserver's scrub progress.

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{emit, fields, human_bytes, now_ms, print_json, when, wire_name};
use crate::table::Table;
use trireme_api::durability::{ControlScrub, ScrubAction, ScrubStatus, ScrubStatusResponse};

pub async fn status(cluster: &Cluster, json: bool) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&ScrubStatus {})
        .await
        .map_err(|e| CliError::from_client("scrub status", e))?;
    if json {
        return print_json(&resp);
    }
    emit(&render(&resp, now_ms()))
}

pub async fn control(cluster: &Cluster, action: ScrubAction, json: bool) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&ControlScrub { action })
        .await
        .map_err(|e| CliError::from_client(&format!("scrub {}", wire_name(&action)), e))?;
    if json {
        return print_json(&resp);
    }
    let said = match action {
        ScrubAction::Start => format!(
            "scrub started: every chunkserver starts pass {} with its next heartbeat",
            resp.control.epoch
        ),
        ScrubAction::Pause => "scrub paused: chunkservers stop scrub reads with their next \
                               heartbeat (a pass keeps its place)"
            .into(),
        ScrubAction::Resume => "scrub resumed".into(),
    };
    emit(&format!("{said}\n\n{}", render(&resp, now_ms())))
}

/// The control state, then one row per chunkserver.
pub fn render(resp: &ScrubStatusResponse, now: u64) -> String {
    let c = &resp.control;
    let mut out = fields(&[(
        "scrub",
        format!(
            "{}, pass {} asked for",
            if c.running { "running" } else { "paused" },
            c.epoch
        ),
    )]);
    out.push('\n');
    let mut t = Table::new(&[
        "CHUNKSERVER",
        "ALIVE",
        "STATE",
        "PASS",
        "DONE",
        "CHUNKS",
        "BYTES",
        "BAD FOUND",
        "VERIFIED",
        "LAST COMPLETE PASS",
    ])
    .right(&[0, 3, 4, 5, 6, 7, 8]);
    let mut rows: Vec<_> = resp.chunkservers.iter().collect();
    rows.sort_by_key(|s| s.chunkserver);
    for s in rows {
        let alive = if s.alive { "yes" } else { "no" }.to_string();
        let Some(p) = &s.progress else {
            t.row([s.chunkserver.to_string(), alive, "no report".into()]);
            continue;
        };
        let done = match (p.chunks_done, p.chunks_total) {
            (_, 0) => "-".to_string(),
            (d, n) => format!("{}%", (d.min(n) * 100) / n),
        };
        t.row([
            s.chunkserver.to_string(),
            alive,
            wire_name(&p.state),
            p.epoch.to_string(),
            done,
            format!("{}/{}", p.chunks_done, p.chunks_total),
            human_bytes(p.bytes_done),
            p.bad_found.to_string(),
            p.verified_total.to_string(),
            p.last_pass_completed_ms
                .map_or_else(|| "never".into(), |ms| when(ms, now)),
        ]);
    }
    out.push_str(&t.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::durability::{ChunkserverScrub, ScrubControl, ScrubProgress, WorkerState};

    const NOW: u64 = 1_700_000_000_000;

    #[test]
    fn table_per_chunkserver() {
        let resp = ScrubStatusResponse {
            control: ScrubControl {
                running: true,
                epoch: 3,
            },
            chunkservers: vec![
                ChunkserverScrub {
                    chunkserver: 2,
                    alive: false,
                    progress: None,
                },
                ChunkserverScrub {
                    chunkserver: 1,
                    alive: true,
                    progress: Some(ScrubProgress {
                        epoch: 3,
                        state: WorkerState::Throttled,
                        pass_started_ms: Some(NOW - 60_000),
                        last_pass_completed_ms: Some(NOW - 7_200_000),
                        last_pass_epoch: Some(2),
                        chunks_done: 412,
                        chunks_total: 1000,
                        bytes_done: 3 << 30,
                        bad_found: 2,
                        verified_total: 5412,
                    }),
                },
            ],
        };
        let expected = "\
scrub  running, pass 3 asked for

CHUNKSERVER  ALIVE  STATE      PASS  DONE    CHUNKS    BYTES  BAD FOUND  VERIFIED  LAST COMPLETE PASS
          1  yes    throttled     3   41%  412/1000  3.0 GiB          2      5412  2023-11-14 20:13:20 UTC (120m ago)
          2  no     no report
";
        assert_eq!(render(&resp, NOW), expected);
    }
}
