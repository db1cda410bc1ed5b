//! The ledger sweep over real state-machine state: healthy replicas follow the replicated
//! chunkserver and disk states, per chunk, chunkserver and disk, and the repair queue is
//! fewest-replicas-first without lost chunks.

mod sm;
use sm::{apply, fresh, put_chunks};

use trireme_api::ids::DiskId;
use trireme_api::meta::{ChunkserverState, DiskState};
use trireme_meta::durability::ledger::sweep;
use trireme_meta::durability::view::HealthView;
use trireme_meta::store::read::Reader;
use trireme_meta::types::{ChunkserverRecord, Command, DiskRecord};

fn chunkserver(id: u64, disk: DiskState) -> Command {
    Command::UpsertChunkserver {
        chunkserver: ChunkserverRecord {
            id,
            addr: format!("cs{id}"),
            disks: vec![DiskRecord {
                disk_id: DiskId(format!("d{id}")),
                path: String::new(),
                state: disk,
                admin: Default::default(),
                admin_since_ms: None,
                replaces: None,
                fill: None,
            }],
            state: ChunkserverState::Up,
        },
    }
}

fn put(r: &Reader, key: &str, chunks: &[(u128, &[u64])]) {
    put_chunks(r, key, 10, chunks);
}

#[test]
fn ledger_follows_replicated_states() {
    let (_dir, r) = fresh();
    for id in 1..=4 {
        apply(&r, chunkserver(id, DiskState::Healthy));
    }
    put(&r, "a", &[(1, &[1, 2, 3]), (2, &[2, 3, 4])]);
    put(&r, "b", &[(3, &[1, 2, 4])]);
    // A copy shares chunks: still one ledger entry per chunk.
    apply(
        &r,
        Command::CopyObject {
            src_bucket: "b".into(),
            src_key: "a".into(),
            dst_bucket: "b".into(),
            dst_key: "c".into(),
            src_etag: None,
            replace_metadata: None,
            condition: None,
            last_modified_ms: 1,
        },
    );
    let view = HealthView::new(&r.list_chunkservers().expect("records"));
    let s = sweep(&r, &view, 0).expect("sweep");
    assert_eq!(s.ledger.total.three, 3);
    assert_eq!(s.ledger.total.under_replicated, 0);
    assert!(s.queue.is_empty());

    // Chunkserver 1 dead, chunkserver 2's disk failed.
    apply(
        &r,
        Command::SetChunkserverState {
            id: 1,
            state: ChunkserverState::Dead,
        },
    );
    apply(&r, chunkserver(2, DiskState::Failed));
    let view = HealthView::new(&r.list_chunkservers().expect("records"));
    let s = sweep(&r, &view, 0).expect("sweep");
    let t = &s.ledger.total;
    // chunk 1: {3} -> 1 healthy; chunk 2: {3, 4} -> 2; chunk 3: {4} -> 1.
    assert_eq!((t.three, t.two, t.one, t.zero), (0, 1, 2, 0));
    assert_eq!(t.under_replicated, 3);
    assert_eq!(t.under_replicated_bytes, 30);
    let order: Vec<usize> = s.queue.iter().map(|i| i.healthy).collect();
    assert_eq!(order, vec![1, 1, 2], "fewest healthy replicas first");
    // Per disk: disk d4 holds chunks 2 and 3 (2 and 1 healthy replicas).
    let d4 = s
        .ledger
        .by_disk
        .iter()
        .find(|d| d.disk.0 == "d4")
        .expect("d4");
    assert_eq!((d4.counts.two, d4.counts.one), (1, 1));

    // Chunkserver 4 dead too: chunk 3 has no healthy replica (lost, not queued).
    apply(
        &r,
        Command::SetChunkserverState {
            id: 4,
            state: ChunkserverState::Dead,
        },
    );
    let view = HealthView::new(&r.list_chunkservers().expect("records"));
    let s = sweep(&r, &view, 0).expect("sweep");
    assert_eq!(s.ledger.total.zero, 1);
    assert!(s.queue.iter().all(|i| i.healthy > 0));
}
