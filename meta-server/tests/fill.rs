//! Refilling a new disk after a swap, over real state-machine state: `AdmitDisk` records the
//! disk with its target, the fill planner moves healthy replicas from the fullest disks onto
//! it without ever putting two replicas of a chunk on one chunkserver, applying the moves
//! keeps every chunk at its wanted count, and the refill finishes at its target.

mod sm;
use sm::{apply, fresh, put_chunks, rep};

use std::collections::HashSet;
use trireme_api::ids::DiskId;
use trireme_api::meta::{ChunkserverState, DiskState};
use trireme_api::object::Replica;
use trireme_meta::durability::fill::plan;
use trireme_meta::durability::view::HealthView;
use trireme_meta::types::{ChunkserverRecord, Command, CommandResult, DiskRecord, FillRecord};

fn disk(id: &str) -> DiskRecord {
    DiskRecord {
        disk_id: DiskId(id.into()),
        path: format!("/data/{id}"),
        state: DiskState::Healthy,
        admin: Default::default(),
        admin_since_ms: None,
        replaces: None,
        fill: None,
    }
}

fn chunkserver(id: u64, disks: Vec<DiskRecord>) -> Command {
    Command::UpsertChunkserver {
        chunkserver: ChunkserverRecord {
            id,
            addr: format!("cs{id}"),
            disks,
            state: ChunkserverState::Up,
        },
    }
}

#[test]
fn a_new_disk_is_refilled_to_its_share_without_breaking_placement() {
    let (_dir, r) = fresh();
    // Four chunkservers with one disk each; 40 chunks spread over them, 3 replicas each.
    for id in 1..=4 {
        apply(&r, chunkserver(id, vec![disk(&format!("d{id}"))]));
    }
    let layouts: [&[u64]; 4] = [&[1, 2, 3], &[2, 3, 4], &[1, 3, 4], &[1, 2, 4]];
    for i in 0..40u128 {
        put_chunks(
            &r,
            &format!("k{i}"),
            100,
            &[(i + 1, layouts[(i % 4) as usize])],
        );
    }
    // Chunkserver 1 gets a second, new disk "n1" with a target of 1/5 of the replica bytes.
    let target = 40 * 3 * 100 / 5;
    let res = apply(
        &r,
        Command::AdmitDisk {
            chunkserver: 1,
            disk: DiskId("n1".into()),
            path: "/data/n1".into(),
            replaces: Some(DiskId("old".into())),
            fill: Some(FillRecord {
                target_bytes: target,
                started_ms: 1,
                finished_ms: None,
            }),
        },
    );
    assert_eq!(res, CommandResult::Done);
    // A heartbeat that does not know the new disk yet keeps it (offline until reported).
    apply(&r, chunkserver(1, vec![disk("d1")]));
    let records = r.list_chunkservers().expect("list");
    let n1 = records[0]
        .disks
        .iter()
        .find(|d| d.disk_id.0 == "n1")
        .expect("n1 kept");
    assert_eq!(n1.state, DiskState::Offline);
    assert!(n1.fill.is_some());
    // Offline: nothing is planned onto it.
    let view = HealthView::new(&records);
    assert!(plan(&r, &records, &view).expect("plan").moves.is_empty());
    // Reported healthy: moves are planned.
    apply(&r, chunkserver(1, vec![disk("d1"), disk("n1")]));
    let records = r.list_chunkservers().expect("list");
    let view = HealthView::new(&records);
    let p = plan(&r, &records, &view).expect("plan");
    assert_eq!(p.fills.len(), 1);
    assert_eq!(p.fills[0].bytes, 0);
    let planned: u64 = p.moves.iter().map(|m| m.length).sum();
    assert!(
        planned + 200 >= target && planned < target + 100,
        "{planned} vs {target}"
    );
    let target_replica = Replica {
        chunkserver: 1,
        disk: DiskId("n1".into()),
    };
    let mut chunks = HashSet::new();
    for m in &p.moves {
        assert!(chunks.insert(m.chunk.clone()), "one move per chunk");
        let mv = m.fill.as_ref().expect("a fill move");
        assert_eq!(mv.target, target_replica);
        let e = r.get_chunk(&m.chunk).expect("get").expect("entry");
        assert!(e.replicas.contains(&mv.source));
        // A chunk already on chunkserver 1 can only move across its disks.
        if e.replicas.iter().any(|x| x.chunkserver == 1) {
            assert_eq!(mv.source, rep(1));
        }
        // Apply it as the repair worker does.
        apply(
            &r,
            Command::AddReplica {
                chunk: m.chunk.clone(),
                replica: mv.target.clone(),
                drop: vec![mv.source.clone()],
            },
        );
    }
    // Every chunk: still 3 replicas on 3 chunkservers.
    r.for_each_chunk(|id, e| {
        assert_eq!(e.replicas.len(), 3, "{id}");
        let cs: HashSet<u64> = e.replicas.iter().map(|x| x.chunkserver).collect();
        assert_eq!(cs.len(), 3, "{id}: {:?}", e.replicas);
    })
    .expect("walk");
    // At the target: nothing more to plan, and the sweep would finish it.
    let records = r.list_chunkservers().expect("list");
    let view = HealthView::new(&records);
    let p = plan(&r, &records, &view).expect("plan");
    assert!(p.moves.is_empty());
    assert!(p.fills[0].bytes + 200 >= target);
    apply(
        &r,
        Command::FinishFill {
            chunkserver: 1,
            disk: DiskId("n1".into()),
            at_ms: 2,
        },
    );
    let records = r.list_chunkservers().expect("list");
    let view = HealthView::new(&records);
    assert!(plan(&r, &records, &view).expect("plan").fills.is_empty());
}

#[test]
fn a_removed_disk_cannot_be_admitted_again() {
    let (_dir, r) = fresh();
    apply(&r, chunkserver(1, vec![disk("d1"), disk("d2")]));
    let res = apply(
        &r,
        Command::RemoveDisk {
            chunkserver: 1,
            disk: DiskId("d2".into()),
            force: false,
            at_ms: 5,
        },
    );
    assert_eq!(res, CommandResult::Done);
    let res = apply(
        &r,
        Command::AdmitDisk {
            chunkserver: 1,
            disk: DiskId("d2".into()),
            path: "/data/d2".into(),
            replaces: None,
            fill: None,
        },
    );
    match res {
        CommandResult::Refused(e) => assert!(e.message.contains("never rejoins"), "{e:?}"),
        other => panic!("admitted a removed disk: {other:?}"),
    }
    // A heartbeat that still reports it cannot bring it back either.
    apply(&r, chunkserver(1, vec![disk("d1"), disk("d2")]));
    let rec = &r.list_chunkservers().expect("list")[0];
    let d2 = rec
        .disks
        .iter()
        .find(|d| d.disk_id.0 == "d2")
        .expect("kept");
    assert_eq!(d2.admin, trireme_api::ops::DiskAdminState::Removed);
    assert_eq!(d2.state, DiskState::Offline);
}
