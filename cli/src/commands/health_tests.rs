//! Tests of the warnings and the health lines of `cluster status`.

use super::*;
use crate::commands::chunkserver::tests::sample;
use crate::commands::repair::tests::in_progress;
use trireme_api::durability::{
    ChunkserverLedger, ChunkserverScrub, DiskLedger, LostObject, ScrubControl, ScrubProgress,
};
use trireme_api::ids::{ChunkId, DiskId};

const NOW: u64 = 1_700_000_000_000;

fn member(id: u64, up: bool, leader: bool, matched: Option<u64>) -> MemberStatus {
    MemberStatus {
        id: Some(id),
        addr: format!("127.0.0.1:700{id}"),
        voter: Some(true),
        leader,
        up,
        matched_index: matched,
        term: up.then_some(3),
        last_applied: up.then_some(10),
        error: (!up).then(|| "connection refused".to_string()),
    }
}

fn counts(two: u64, one: u64, zero: u64) -> ReplicaCounts {
    let mut c = ReplicaCounts::default();
    for (healthy, n) in [(2, two), (1, one), (0, zero)] {
        for _ in 0..n {
            c.add(healthy, 3, 1 << 20);
        }
    }
    c
}

fn kinds(w: &[Warning]) -> Vec<&'static str> {
    w.iter().map(|w| w.kind).collect()
}

#[test]
fn healthy_cluster_has_no_warning() {
    let members = [
        member(1, true, true, Some(50)),
        member(2, true, false, Some(49)),
    ];
    let mut repair = in_progress();
    let l = repair.ledger.as_mut().expect("ledger");
    l.total = ReplicaCounts {
        three: 10,
        ..Default::default()
    };
    l.by_chunkserver.clear();
    l.by_disk.clear();
    let mut cs = sample();
    cs.chunkservers.retain(|c| c.id == 1);
    cs.chunkservers[0].disks.truncate(1);
    let scrub = ScrubStatusResponse::default();
    let f = Facts {
        leader: Some(1),
        last_log_index: Some(50),
        members: &members,
        chunkservers: Some(&cs),
        repair: Some(&repair),
        settings: None,
        lost: None,
        scrub: Some(&scrub),
    };
    assert_eq!(warnings(&f), vec![]);
}

#[test]
fn every_problem_in_words() {
    let members = [
        member(1, true, true, Some(500)),
        member(2, true, false, Some(380)),
        member(3, false, false, None),
    ];
    let mut repair = in_progress();
    let l = repair.ledger.as_mut().expect("ledger");
    l.total = counts(57, 2, 1);
    l.by_chunkserver = vec![ChunkserverLedger {
        chunkserver: 2,
        counts: counts(57, 0, 0),
    }];
    l.by_disk = vec![DiskLedger {
        chunkserver: 1,
        disk: DiskId("d2".into()),
        counts: ReplicaCounts::default(),
    }];
    let mut cs = sample();
    cs.chunkservers[0].last_heartbeat_ms_ago = Some(12_000);
    let d1 = &mut cs.chunkservers[1].disks[0];
    d1.state = DiskState::Suspect;
    d1.health.probe_latency_us = Some(1_200_000);
    d1.health.reason = Some("probe slower than 1000 ms".into());
    cs.chunkservers[1].disks[1].free_bytes = 10 << 20;
    cs.chunkservers[1].disks[1].state = DiskState::Healthy;
    let lost = ListLostResponse {
        objects: vec![
            LostObject {
                bucket: "b".into(),
                key: "k1".into(),
                size: 1,
                chunks: vec![ChunkId::from_u128(1)],
                recoverable: false,
            };
            2
        ],
        lost_chunks: 1,
        truncated: false,
    };
    let settings: BTreeMap<String, String> =
        [("repair.concurrency".to_string(), "0".to_string())].into();
    let scrub = ScrubStatusResponse {
        control: ScrubControl {
            running: false,
            epoch: 1,
        },
        chunkservers: vec![],
    };
    let f = Facts {
        leader: Some(1),
        last_log_index: Some(500),
        members: &members,
        chunkservers: Some(&cs),
        repair: Some(&repair),
        settings: Some(&settings),
        lost: Some(&lost),
        scrub: Some(&scrub),
    };
    let w = warnings(&f);
    assert_eq!(
        kinds(&w),
        vec![
            "lost",
            "meta_lag",
            "meta_down",
            "disk_suspect",
            "disk_full",
            "chunkserver_dead",
            "repair_paused",
            "under_replicated",
            "scrub_paused"
        ]
    );
    let text: Vec<&str> = w.iter().map(|w| w.message.as_str()).collect();
    let paused = "repair is paused";
    assert_eq!(
        text,
        vec![
            "2 objects have lost data (1 chunk without a healthy replica): run `trireme repair lost`",
            "meta node 2 (127.0.0.1:7002) lags 120 log entries behind the leader",
            "meta node 3 (127.0.0.1:7003) is down: connection refused",
            "disk d1 on chunkserver 1 (/d/d1) is suspect: probe slower than 1000 ms; probe latency 1.20s",
            "disk d2 on chunkserver 1 (/d/d2) is full: 10.0 MiB free, new replicas go elsewhere",
            &format!("chunkserver 2 (127.0.0.1:7002) is dead (no heartbeat for 12.0s): 57 chunks with a replica there are under-replicated (57 with 2 healthy replicas); {paused}"),
            "repair is paused (repair.concurrency is 0) while chunks are under-replicated: `trireme worker set repair.concurrency 4` resumes it",
            &format!("59 chunks are under-replicated (57 with 2 healthy replicas, 2 with only 1; 60.0 MiB): {paused}"),
            "scrub is paused: no replica is being re-verified (`trireme scrub resume`)",
        ]
    );
}

#[test]
fn repair_progress_and_pending_ledger() {
    let mut repair = in_progress();
    let l = repair.ledger.as_mut().expect("ledger");
    l.total = counts(1, 0, 0);
    let f = Facts {
        leader: Some(1),
        repair: Some(&repair),
        ..Default::default()
    };
    assert_eq!(
        warnings(&f)[0].message,
        "1 chunk is under-replicated (1 with 2 healthy replicas; 1.0 MiB): repair in progress, about 3 minutes left at 45.0 MiB/s"
    );
    repair.ledger = None;
    let f = Facts {
        leader: None,
        repair: Some(&repair),
        ..Default::default()
    };
    assert_eq!(kinds(&warnings(&f)), vec!["no_leader", "ledger_pending"]);
}

#[test]
fn health_lines() {
    let mut repair = in_progress();
    repair.ledger.as_mut().expect("ledger").swept_at_ms = NOW - 1_500;
    let scrub = ScrubStatusResponse {
        control: ScrubControl {
            running: true,
            epoch: 2,
        },
        chunkservers: vec![
            ChunkserverScrub {
                chunkserver: 1,
                alive: true,
                progress: Some(ScrubProgress {
                    chunks_done: 10,
                    chunks_total: 40,
                    bad_found: 1,
                    last_pass_completed_ms: Some(NOW - 7_200_000),
                    ..Default::default()
                }),
            },
            ChunkserverScrub {
                chunkserver: 2,
                alive: true,
                progress: Some(ScrubProgress {
                    chunks_done: 5,
                    chunks_total: 40,
                    last_pass_completed_ms: Some(NOW - 60_000),
                    ..Default::default()
                }),
            },
        ],
    };
    let mut r = crate::commands::cluster::tests::report();
    r.durability = Some(DurabilitySummary::new(&repair, None));
    r.scrub = Some(ScrubSummary::new(&scrub));
    r.warnings = vec![warn("lost", "2 objects have lost data".into())];
    let text = render(&r, Some("repair not complete: 10 chunks"), NOW);
    let expected = "\
durability    100 chunks (3+ healthy replicas: 90, 2: 6, 1: 3, none: 1), swept 1.5s ago
              repair not complete: 10 chunks
repair        2 copies in flight, 8 chunks queued, 45.0 MiB/s, about 3 minutes left; 140 chunks repaired since this leader took over
scrub         running, pass 2: 15/80 chunks verified in the current passes, 1 bad found; oldest last complete pass 2023-11-14 20:13:20 UTC (120m ago)

warnings (1):
  - 2 objects have lost data
";
    assert_eq!(text, expected);
    r.warnings.clear();
    r.durability = Some(DurabilitySummary::default());
    r.scrub = None;
    r.errors = vec!["scrub status: timeout".into()];
    let text = render(&r, None, NOW);
    assert!(
        text.starts_with("durability    unknown: the leader has not finished its first sweep"),
        "{text}"
    );
    assert!(
        text.ends_with("\nwarnings      none\nnot fetched: scrub status: timeout\n"),
        "{text}"
    );
}
