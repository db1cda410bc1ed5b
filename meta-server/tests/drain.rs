//! Disk drain and the removal gate, on real state-machine state: a draining disk's chunks are
//! queued for copies behind under-replicated ones; removal is refused while a chunk lacks its
//! wanted healthy replicas elsewhere (and, even forced, when it would lose its last one);
//! once allowed it drops exactly that disk's replicas, and heartbeats keep the removed disk
//! on record.

mod sm;
use sm::{apply, fresh, put_chunks, rep};

use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::meta::{ChunkserverState, DiskState};
use trireme_api::ops::DiskAdminState;
use trireme_meta::durability::ledger::sweep;
use trireme_meta::durability::view::HealthView;
use trireme_meta::store::read::Reader;
use trireme_meta::types::{ChunkserverRecord, Command, CommandResult, DiskRecord};

fn chunkserver(id: u64) -> Command {
    Command::UpsertChunkserver {
        chunkserver: ChunkserverRecord {
            id,
            addr: format!("cs{id}"),
            disks: vec![DiskRecord {
                disk_id: DiskId(format!("d{id}")),
                path: format!("/data/d{id}"),
                state: DiskState::Healthy,
                admin: Default::default(),
                admin_since_ms: None,
                replaces: None,
                fill: None,
            }],
            state: ChunkserverState::Up,
        },
    }
}

fn put(r: &Reader, key: &str, id: u128, cs: &[u64]) {
    put_chunks(r, key, 10, &[(id, cs)]);
}

fn remove(r: &Reader, cs: u64, force: bool) -> CommandResult {
    apply(
        r,
        Command::RemoveDisk {
            chunkserver: cs,
            disk: DiskId(format!("d{cs}")),
            force,
            at_ms: 5,
        },
    )
}

fn queue(r: &Reader) -> Vec<(u128, bool)> {
    let view = HealthView::new(&r.list_chunkservers().expect("records"));
    sweep(r, &view, 0)
        .expect("sweep")
        .queue
        .iter()
        .map(|i| (u128::from_str_radix(&i.chunk.0, 16).expect("hex"), i.drain))
        .collect()
}

#[test]
fn drain_then_gate_then_remove() {
    let (_dir, r) = fresh();
    for id in 1..=5 {
        apply(&r, chunkserver(id));
    }
    put(&r, "x", 1, &[1, 2, 3]);
    put(&r, "y", 2, &[1, 4, 5]);
    put(&r, "z", 3, &[2, 3, 4]);
    assert!(queue(&r).is_empty());
    // Not drained: removing disk d1 would leave chunks 1 and 2 at 2 replicas.
    assert!(matches!(remove(&r, 1, false), CommandResult::Refused(_)));

    let drain = apply(
        &r,
        Command::SetDiskAdmin {
            chunkserver: 1,
            disk: DiskId("d1".into()),
            admin: DiskAdminState::Draining,
            at_ms: 1,
        },
    );
    assert_eq!(drain, CommandResult::Done);
    let rec = r.list_chunkservers().expect("records");
    let d1 = &rec.iter().find(|c| c.id == 1).expect("cs1").disks[0];
    assert_eq!(
        (d1.admin, d1.state),
        (DiskAdminState::Draining, DiskState::Draining)
    );
    // Chunks 1 and 2 need a copy elsewhere; they are healthy (3/3), so drain items.
    assert_eq!(queue(&r), vec![(1, true), (2, true)]);
    // An under-replicated chunk goes before drain items.
    apply(
        &r,
        Command::SetChunkserverState {
            id: 3,
            state: ChunkserverState::Dead,
        },
    );
    // (Chunks 1 and 3 lose a replica on chunkserver 3; chunk 2 is only draining.)
    assert_eq!(queue(&r), vec![(1, false), (3, false), (2, true)]);
    apply(
        &r,
        Command::SetChunkserverState {
            id: 3,
            state: ChunkserverState::Up,
        },
    );

    // Copies land (as repair would record them); the draining replica stays listed.
    for (chunk, target) in [(1u128, 4u64), (2, 2)] {
        apply(
            &r,
            Command::AddReplica {
                chunk: ChunkId::from_u128(chunk),
                replica: rep(target),
                drop: vec![],
            },
        );
    }
    assert!(queue(&r).is_empty(), "drained: nothing left to copy");
    assert_eq!(remove(&r, 1, false), CommandResult::Done);
    for chunk in [1u128, 2] {
        let e = r
            .get_chunk(&ChunkId::from_u128(chunk))
            .expect("get")
            .expect("entry");
        assert!(!e.replicas.contains(&rep(1)), "{:?}", e.replicas);
        assert_eq!(e.replicas.len(), 3);
    }
    assert!(r
        .chunks_on_disk(1, &DiskId("d1".into()))
        .expect("loc")
        .is_empty());
    let rec = r.list_chunkservers().expect("records");
    let d1 = &rec.iter().find(|c| c.id == 1).expect("cs1").disks[0];
    assert_eq!(
        (d1.admin, d1.state),
        (DiskAdminState::Removed, DiskState::Offline)
    );
    // A removed disk cannot be drained again.
    let again = apply(
        &r,
        Command::SetDiskAdmin {
            chunkserver: 1,
            disk: DiskId("d1".into()),
            admin: DiskAdminState::Draining,
            at_ms: 9,
        },
    );
    assert!(matches!(again, CommandResult::Refused(_)));
}

#[test]
fn force_never_removes_a_last_copy() {
    let (_dir, r) = fresh();
    for id in 1..=3 {
        apply(&r, chunkserver(id));
    }
    put(&r, "x", 1, &[1, 2, 3]);
    put(&r, "y", 2, &[1, 2, 3]);
    // Chunkservers 2 and 3 dead: disk d1 holds the last healthy copies.
    for id in [2, 3] {
        apply(
            &r,
            Command::SetChunkserverState {
                id,
                state: ChunkserverState::Dead,
            },
        );
    }
    assert!(matches!(remove(&r, 1, true), CommandResult::Refused(_)));
    // Chunkserver 2 back: forced removal of a dead disk d3 is allowed (chunks keep 2 copies).
    apply(
        &r,
        Command::SetChunkserverState {
            id: 2,
            state: ChunkserverState::Up,
        },
    );
    assert!(matches!(remove(&r, 3, false), CommandResult::Refused(_)));
    assert_eq!(remove(&r, 3, true), CommandResult::Done);
    let e = r
        .get_chunk(&ChunkId::from_u128(1))
        .expect("get")
        .expect("entry");
    assert_eq!(e.replicas, vec![rep(1), rep(2)]);
}
