//! Rendering tests of `chunkserver show` and `disk show`.

use super::*;
use trireme_api::durability::{ScrubProgress, WorkerState};
use trireme_api::ids::ChunkId;
use trireme_api::inspect::ExposedObject;
use trireme_api::meta::{ChunkserverInfo, ChunkserverState, DiskHealth, DiskReport, DiskState};

const NOW: u64 = 1_700_000_000_000;

fn counts(three: u64, two: u64, one: u64, zero: u64) -> ReplicaCounts {
    let mut c = ReplicaCounts::default();
    for (healthy, n) in [(3, three), (2, two), (1, one), (0, zero)] {
        for _ in 0..n {
            c.add(healthy, 3, 1 << 20);
        }
    }
    c
}

fn detail(index: u32, id: &str, state: DiskState) -> DiskDetail {
    DiskDetail {
        index,
        report: DiskReport {
            disk_id: DiskId(id.into()),
            path: format!("/data/cs2/disk-{index}"),
            state,
            capacity_bytes: 100 << 30,
            free_bytes: 60 << 30,
            used_bytes: 3 << 20,
            chunk_count: 3,
            health: DiskHealth {
                probe_latency_us: Some(1200),
                last_probe_ms_ago: Some(800),
                read_p50_us: Some(300),
                read_p99_us: Some(2500),
                write_p50_us: Some(900),
                write_p99_us: None,
                last_scrub_ms: Some(NOW - 3_600_000),
                ..Default::default()
            },
        },
        reported: true,
        recorded_state: Some(state),
        indexed_chunks: 3,
    }
}

fn risky() -> AtRisk {
    AtRisk {
        now: counts(0, 2, 1, 0),
        if_failed: counts(0, 0, 2, 1),
        bytes: 3 << 20,
        would_lose_chunks: 1,
        objects: vec![ExposedObject {
            bucket: "demo".into(),
            key: "a.bin".into(),
            size: 2 << 20,
            chunks: vec![ChunkId::from_u128(7)],
        }],
        objects_truncated: true,
    }
}

#[test]
fn selectors() {
    assert_eq!(
        parse_selector("3/1").expect("ok"),
        DiskSelector::Index {
            chunkserver: 3,
            index: 1
        }
    );
    assert_eq!(
        parse_selector("db60627777456c3d").expect("ok"),
        DiskSelector::Id(DiskId("db60627777456c3d".into()))
    );
    assert_eq!(
        parse_selector("/no/such/disk-0").expect("ok"),
        DiskSelector::Path("/no/such/disk-0".into())
    );
    let dir = tempfile::tempdir().expect("tmp");
    let real = std::fs::canonicalize(dir.path()).expect("real");
    let with_dot = format!("{}/./", dir.path().display());
    assert_eq!(
        parse_selector(&with_dot).expect("ok"),
        DiskSelector::Path(real.display().to_string())
    );
    assert_eq!(parse_selector("").expect_err("empty").exit_code(), 2);
}

#[test]
fn disk_page() {
    let resp = ShowDiskResponse {
        chunkserver: 2,
        chunkserver_addr: "127.0.0.1:7002".into(),
        chunkserver_state: ChunkserverState::Up,
        chunkserver_alive: true,
        last_heartbeat_ms_ago: Some(250),
        disk: detail(1, "d21", DiskState::Suspect),
        risk: risky(),
    };
    let expected = "\
disk         d21 (chunkserver 2, index 1)
path         /data/cs2/disk-1
state        suspect (reported), suspect (Raft)
chunkserver  2 (127.0.0.1:7002): up (Raft), alive, last heartbeat 250ms ago
capacity     100.0 GiB total, 60.0 GiB free, 3.0 MiB in chunks
chunks       3 in the location index (3 files reported)
probe        1.2ms, last 800ms ago, 0 failed in a row
reads        p50 300us, p99 2.5ms
writes       p50 900us, p99 -
errors       0 I/O errors, 0 corrupt replicas found
reason       -
last error   -
last scrub   2023-11-14 21:13:20 UTC (60m ago)

if disk d21 failed now:
chunks with a replica here  3 (3+ healthy replicas: 0, 2: 2, 1: 1, none: 0)
after the failure           3 (3+ healthy replicas: 0, 2: 0, 1: 2, none: 1)
bytes                       3.0 MiB
DATA WOULD BE LOST: 1 chunk has its only healthy replica on disk d21
objects that would lose data:
BUCKET  KEY       SIZE  CHUNKS
demo    a.bin  2.0 MiB       1
more objects would lose data: only the first 1 are listed (--limit)
";
    assert_eq!(render_disk(&resp, 1, NOW), expected);
}

#[test]
fn chunkserver_page() {
    let resp = ShowChunkserverResponse {
        chunkserver: ChunkserverInfo {
            id: 2,
            addr: "127.0.0.1:7002".into(),
            alive: false,
            last_heartbeat_ms_ago: Some(12_000),
            disks: vec![],
            state: ChunkserverState::Dead,
        },
        disks: vec![
            detail(0, "d20", DiskState::Healthy),
            DiskDetail {
                reported: false,
                ..detail(1, "d21", DiskState::Failed)
            },
        ],
        scrub: Some(ScrubProgress {
            epoch: 2,
            state: WorkerState::Idle,
            chunks_done: 6,
            chunks_total: 6,
            last_pass_completed_ms: Some(NOW - 120_000),
            ..Default::default()
        }),
        workers: vec![WorkerStatus {
            name: "scrub".into(),
            node: "chunkserver-2".into(),
            state: WorkerState::Idle,
            items: 6,
            ..Default::default()
        }],
        risk: AtRisk {
            now: counts(0, 6, 0, 0),
            if_failed: counts(0, 0, 6, 0),
            bytes: 6 << 20,
            ..Default::default()
        },
    };
    let text = render_chunkserver(&resp, 20, NOW);
    assert!(text.starts_with("chunkserver  2 (127.0.0.1:7002)\nstate        dead (Raft), down: last heartbeat 12.0s ago\n"), "{text}");
    assert!(
        text.contains("capacity     200.0 GiB total, 120.0 GiB free, 6.0 MiB in chunks\n"),
        "{text}"
    );
    assert!(
        text.contains("chunks       6 in the location index (6 files reported)\n"),
        "{text}"
    );
    assert!(text.contains("scrub        idle, pass 2: 6/6 chunks, 0 bad found; last complete pass 2023-11-14 22:11:20 UTC (2m ago)\n"), "{text}");
    assert!(
        text.contains("INDEX  DISK  PATH              STATE      RAFT"),
        "{text}"
    );
    assert!(
        text.contains("    1  d21   /data/cs2/disk-1  no report  failed"),
        "{text}"
    );
    assert!(
        text.contains(
            "WORKER  STATE  ITEMS  ERRORS  PROGRESS  LAST ERROR\nscrub   idle       6       0\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "\nif chunkserver 2 failed now (it is down: its replicas already do not count):\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(
            "no data would be lost; 6 chunks would be left with 1 healthy replica and 0 with 2\n"
        ),
        "{text}"
    );
}

#[test]
fn risk_verdicts() {
    let mut r = AtRisk::default();
    assert!(risk(&r, 20, "disk x").ends_with("nothing at risk: no chunk has a replica on disk x\n"));
    r.now = counts(4, 0, 0, 0);
    r.if_failed = counts(0, 4, 0, 0);
    assert!(risk(&r, 20, "disk x").ends_with(
        "no data would be lost; 0 chunks would be left with 1 healthy replica and 4 with 2\n"
    ));
    r.now = counts(4, 0, 0, 0);
    r.if_failed = counts(4, 0, 0, 0);
    assert!(risk(&r, 20, "disk x").ends_with(
        "nothing at risk: every chunk here keeps 3 or more healthy replicas elsewhere\n"
    ));
    let mut r = risky();
    r.objects.clear();
    assert!(risk(&r, 0, "disk x").ends_with("(objects not listed: --limit 0)\n"));
}
