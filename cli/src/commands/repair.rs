//! `trireme repair status [--watch [SECS]]`: the durability ledger (chunks by number of
//! healthy replicas, in total, per chunkserver and per disk), repair progress (copies in
//! flight, queue, repaired chunks and bytes, rate, ETA) and a last line saying whether the
//! last sweep proved repair complete, or what remains.

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{
    count, duration_words, emit, fields, format_utc_ms, human_bytes, mib_per_s, now_ms, print_json,
    when,
};
use crate::table::Table;
use std::io::IsTerminal;
use std::time::Duration;
use trireme_api::durability::{
    Ledger, RepairProgress, RepairStatus, RepairStatusResponse, ReplicaCounts,
};

pub async fn fetch(cluster: &Cluster) -> Result<RepairStatusResponse, CliError> {
    cluster
        .client
        .call(&RepairStatus {})
        .await
        .map_err(|e| CliError::from_client("repair status", e))
}

/// Prints the status once, or with `watch` every that many seconds until a sweep proves
/// repair complete (one compact JSON document per line with `--json`).
pub async fn status(cluster: &Cluster, json: bool, watch: Option<u64>) -> Result<(), CliError> {
    let Some(secs) = watch else {
        let resp = fetch(cluster).await?;
        return if json {
            print_json(&resp)
        } else {
            emit(&render(&resp, now_ms()))
        };
    };
    let clear = !json && std::io::stdout().is_terminal();
    let mut first = true;
    loop {
        let resp = fetch(cluster).await?;
        if json {
            let line = serde_json::to_string(&resp)
                .map_err(|e| CliError::Failed(format!("cannot encode JSON: {e}")))?;
            emit(&format!("{line}\n"))?;
        } else {
            let now = now_ms();
            let head = format!(
                "{} UTC, every {secs}s until repair is complete (Ctrl-C to stop)\n\n",
                format_utc_ms(now)
            );
            let screen = match (clear, first) {
                (true, _) => "\x1b[2J\x1b[H",
                (false, true) => "",
                (false, false) => "\n",
            };
            emit(&format!("{screen}{head}{}", render(&resp, now)))?;
        }
        first = false;
        if resp.complete {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
}

/// The whole report, ending with the [`verdict`] line.
pub fn render(resp: &RepairStatusResponse, now: u64) -> String {
    let mut out = String::new();
    if let Some(l) = &resp.ledger {
        out.push_str(&ledger(l, now));
        out.push('\n');
    }
    out.push_str(&progress(&resp.repair, resp.ledger.as_ref(), now));
    out.push('\n');
    out.push_str(&verdict(resp));
    out.push('\n');
    out
}

fn by_replicas(c: &ReplicaCounts) -> String {
    format!(
        "{} (3+ healthy replicas: {}, 2: {}, 1: {}, none: {})",
        c.total(),
        c.three,
        c.two,
        c.one,
        c.zero
    )
}

/// The ledger: totals, then a table per chunkserver and one per disk.
fn ledger(l: &Ledger, now: u64) -> String {
    let mut out = fields(&[
        (
            "ledger",
            format!("swept {} in {}ms", when(l.swept_at_ms, now), l.sweep_ms),
        ),
        ("chunks", by_replicas(&l.total)),
        (
            "under-replicated",
            format!(
                "{}, {}",
                count(l.total.under_replicated, "chunk"),
                human_bytes(l.total.under_replicated_bytes)
            ),
        ),
    ]);
    if !l.by_chunkserver.is_empty() {
        out.push_str("\nchunks by healthy replicas (3+, 2, 1, 0), per chunkserver:\n");
        let mut t = Table::new(&[
            "CHUNKSERVER",
            "CHUNKS",
            "3+",
            "2",
            "1",
            "0",
            "UNDER-REPLICATED",
            "BYTES",
        ])
        .right(&[0, 1, 2, 3, 4, 5, 6, 7]);
        let mut rows: Vec<_> = l.by_chunkserver.iter().collect();
        rows.sort_by_key(|c| c.chunkserver);
        for c in rows {
            let n = &c.counts;
            t.row([
                c.chunkserver.to_string(),
                n.total().to_string(),
                n.three.to_string(),
                n.two.to_string(),
                n.one.to_string(),
                n.zero.to_string(),
                n.under_replicated.to_string(),
                human_bytes(n.under_replicated_bytes),
            ]);
        }
        out.push_str(&t.render());
    }
    if !l.by_disk.is_empty() {
        out.push_str(
            "\nper disk (AT RISK: chunks on the disk with only 1 or 2 healthy replicas left):\n",
        );
        let mut t = Table::new(&[
            "CHUNKSERVER",
            "DISK",
            "CHUNKS",
            "3+",
            "2",
            "1",
            "0",
            "AT RISK: 1 COPY",
            "AT RISK: 2 COPIES",
        ])
        .right(&[0, 2, 3, 4, 5, 6, 7, 8]);
        let mut rows: Vec<_> = l.by_disk.iter().collect();
        rows.sort_by(|a, b| (a.chunkserver, &a.disk.0).cmp(&(b.chunkserver, &b.disk.0)));
        for d in rows {
            let n = &d.counts;
            t.row([
                d.chunkserver.to_string(),
                d.disk.to_string(),
                n.total().to_string(),
                n.three.to_string(),
                n.two.to_string(),
                n.one.to_string(),
                n.zero.to_string(),
                n.one.to_string(),
                n.two.to_string(),
            ]);
        }
        out.push_str(&t.render());
    }
    out
}

/// Repair progress: copies in flight and queued, what was repaired, rate and ETA.
fn progress(p: &RepairProgress, ledger: Option<&Ledger>, now: u64) -> String {
    let under = ledger.map_or(0, |l| l.total.under_replicated);
    let eta = match p.eta_s {
        Some(s) => format!("about {}", duration_words(s)),
        None if under > 0 => "unknown (no copy finished in the last minute)".into(),
        None => "-".into(),
    };
    fields(&[
        (
            "repair",
            format!(
                "{} in flight, {} queued",
                count(u64::from(p.active), "copy"),
                count(p.queued, "chunk")
            ),
        ),
        (
            "repaired",
            format!(
                "{}, {} since this leader took over; {}",
                count(p.repaired_chunks, "chunk"),
                human_bytes(p.repaired_bytes),
                count(p.failed_copies, "failed copy")
            ),
        ),
        (
            "rate",
            format!("{} (last minute)", mib_per_s(p.rate_bytes_per_s)),
        ),
        ("eta", eta),
        (
            "last copy",
            p.last_repair_ms
                .map_or_else(|| "none yet".into(), |ms| when(ms, now)),
        ),
    ])
}

/// The last line: repair complete (proven by a sweep), or what remains.
pub fn verdict(resp: &RepairStatusResponse) -> String {
    let Some(l) = &resp.ledger else {
        return "repair status unknown: the leader has not finished its first sweep since it \
                took over; try again in a few seconds"
            .into();
    };
    let t = &l.total;
    let at = format!("{} UTC", format_utc_ms(l.swept_at_ms));
    if resp.complete {
        if t.total() == 0 {
            return format!("repair complete: no chunk is stored (verified by the sweep at {at})");
        }
        let buckets = [(0, t.zero), (1, t.one), (2, t.two), (3, t.three)];
        let nonzero: Vec<u64> = buckets
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, _)| *k)
            .collect();
        let least = nonzero.first().copied().unwrap_or(3);
        let how = if nonzero.len() == 1 && least < 3 {
            format!("{least}")
        } else if nonzero.len() == 1 {
            "3".into()
        } else {
            format!("at least {least}")
        };
        return format!(
            "repair complete: every chunk has {how} healthy replicas (verified by the sweep at {at})"
        );
    }
    if t.under_replicated == 0 {
        return format!(
            "repair not yet proven complete: the sweep at {at} found no under-replicated chunk, \
             but repair ran since it started; the next sweep verifies it"
        );
    }
    let mut line = format!(
        "repair not complete: {} ({}) still under-replicated",
        count(t.under_replicated, "chunk"),
        human_bytes(t.under_replicated_bytes)
    );
    if t.zero > 0 {
        line.push_str(&format!(
            "; {} with no healthy replica (see `trireme repair lost`)",
            count(t.zero, "chunk")
        ));
    }
    if let Some(s) = resp.repair.eta_s {
        line.push_str(&format!(
            "; about {} at {}",
            duration_words(s),
            mib_per_s(resp.repair.rate_bytes_per_s)
        ));
    }
    line
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use trireme_api::durability::{ChunkserverLedger, DiskLedger};
    use trireme_api::ids::DiskId;

    const SWEPT: u64 = 1_700_000_000_000;

    fn counts(three: u64, two: u64, one: u64, zero: u64) -> ReplicaCounts {
        ReplicaCounts {
            three,
            two,
            one,
            zero,
            under_replicated: two + one + zero,
            under_replicated_bytes: (two + one + zero) * (4 << 20),
        }
    }

    pub(crate) fn in_progress() -> RepairStatusResponse {
        RepairStatusResponse {
            ledger: Some(Ledger {
                total: counts(90, 6, 3, 1),
                by_chunkserver: vec![
                    ChunkserverLedger {
                        chunkserver: 2,
                        counts: counts(60, 4, 1, 0),
                    },
                    ChunkserverLedger {
                        chunkserver: 1,
                        counts: counts(70, 2, 2, 0),
                    },
                ],
                by_disk: vec![DiskLedger {
                    chunkserver: 1,
                    disk: DiskId("d1".into()),
                    counts: counts(35, 1, 2, 0),
                }],
                swept_at_ms: SWEPT,
                sweep_ms: 35,
            }),
            repair: RepairProgress {
                active: 2,
                queued: 8,
                repaired_chunks: 140,
                repaired_bytes: 560 << 20,
                failed_copies: 1,
                rate_bytes_per_s: 45.0 * 1024.0 * 1024.0,
                eta_s: Some(150),
                last_repair_ms: Some(SWEPT + 9_000),
            },
            complete: false,
        }
    }

    #[test]
    fn report_in_progress() {
        let text = render(&in_progress(), SWEPT + 12_000);
        let expected = "\
ledger            swept 2023-11-14 22:13:20 UTC (12.0s ago) in 35ms
chunks            100 (3+ healthy replicas: 90, 2: 6, 1: 3, none: 1)
under-replicated  10 chunks, 40.0 MiB

chunks by healthy replicas (3+, 2, 1, 0), per chunkserver:
CHUNKSERVER  CHUNKS  3+  2  1  0  UNDER-REPLICATED     BYTES
          1      74  70  2  2  0                 4  16.0 MiB
          2      65  60  4  1  0                 5  20.0 MiB

per disk (AT RISK: chunks on the disk with only 1 or 2 healthy replicas left):
CHUNKSERVER  DISK  CHUNKS  3+  2  1  0  AT RISK: 1 COPY  AT RISK: 2 COPIES
          1  d1        38  35  1  2  0                2                  1

repair     2 copies in flight, 8 chunks queued
repaired   140 chunks, 560.0 MiB since this leader took over; 1 failed copy
rate       45.0 MiB/s (last minute)
eta        about 3 minutes
last copy  2023-11-14 22:13:29 UTC (3.0s ago)

repair not complete: 10 chunks (40.0 MiB) still under-replicated; 1 chunk with no healthy replica (see `trireme repair lost`); about 3 minutes at 45.0 MiB/s
";
        assert_eq!(text, expected);
    }

    #[test]
    fn verdicts() {
        let mut r = in_progress();
        r.complete = true;
        let l = r.ledger.as_mut().expect("ledger");
        l.total = counts(100, 0, 0, 0);
        assert_eq!(
            verdict(&r),
            "repair complete: every chunk has 3 healthy replicas (verified by the sweep at 2023-11-14 22:13:20 UTC)"
        );
        r.ledger.as_mut().expect("ledger").total = ReplicaCounts::default();
        assert!(verdict(&r).starts_with("repair complete: no chunk is stored"));
        // A two-replica cluster: every chunk at 2 is complete.
        r.ledger.as_mut().expect("ledger").total = ReplicaCounts {
            two: 5,
            ..Default::default()
        };
        assert!(verdict(&r).contains("every chunk has 2 healthy replicas"));
        r.ledger.as_mut().expect("ledger").total = ReplicaCounts {
            two: 5,
            three: 1,
            ..Default::default()
        };
        assert!(verdict(&r).contains("every chunk has at least 2 healthy replicas"));

        r.complete = false;
        r.ledger.as_mut().expect("ledger").total = counts(100, 0, 0, 0);
        assert!(verdict(&r).starts_with("repair not yet proven complete"));
        r.ledger = None;
        r.repair = RepairProgress::default();
        assert!(verdict(&r).starts_with("repair status unknown"));
        let text = render(&r, SWEPT);
        assert!(text.contains("eta        -\n"), "{text}");
    }

    #[test]
    fn eta_unknown_without_progress() {
        let mut r = in_progress();
        r.repair.eta_s = None;
        r.repair.rate_bytes_per_s = 0.0;
        r.repair.last_repair_ms = None;
        let text = render(&r, SWEPT);
        assert!(text.contains("eta        unknown"), "{text}");
        assert!(text.contains("last copy  none yet"), "{text}");
        assert!(verdict(&r).ends_with("(see `trireme repair lost`)"));
    }
}
