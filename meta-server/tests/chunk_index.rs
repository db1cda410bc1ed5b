//! The chunk index against a model: after any sequence of object and multipart commands,
//! every chunk's reference count equals a recount from the records, unreferenced chunks have
//! no entry, and the location index matches every entry's replicas. Plus the durability
//! commands (add, drop replicas) and the index rebuild.

mod sm;
use sm::{apply, fresh, rep};

use proptest::prelude::*;
use std::collections::BTreeMap;
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::multipart::{PartRecord, UploadInfo, UploadMetadata, MIN_PART_SIZE};
use trireme_api::object::{ChunkRef, ObjectRecord};
use trireme_meta::store::chunks::rebuild_index;
use trireme_meta::store::read::Reader;
use trireme_meta::types::{Command, CommandResult};

fn chunk(n: u8) -> ChunkRef {
    ChunkRef {
        id: ChunkId::from_u128(n as u128 + 1),
        length: MIN_PART_SIZE,
        blake3: format!("{n:02x}"),
        replicas: vec![rep(1), rep(2), rep(3)],
    }
}

fn object(chunks: &[u8]) -> ObjectRecord {
    ObjectRecord {
        size: chunks.len() as u64 * MIN_PART_SIZE,
        etag: "e".into(),
        last_modified_ms: 0,
        content_type: None,
        headers: BTreeMap::new(),
        user_metadata: BTreeMap::new(),
        checksums: BTreeMap::new(),
        chunks: chunks.iter().map(|n| chunk(*n)).collect(),
        part_sizes: vec![],
        inline: None,
    }
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, Vec<u8>),
    Delete(u8),
    DeleteMany(Vec<u8>),
    Copy(u8, u8),
    Create(u8),
    Part(u8, u32, Vec<u8>),
    Complete(u8, Vec<u32>),
    Abort(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let chunks = proptest::collection::vec(0u8..8, 0..3);
    prop_oneof![
        (0u8..4, chunks.clone()).prop_map(|(k, c)| Op::Put(k, c)),
        (0u8..4).prop_map(Op::Delete),
        proptest::collection::vec(0u8..4, 0..4).prop_map(Op::DeleteMany),
        (0u8..4, 0u8..4).prop_map(|(a, b)| Op::Copy(a, b)),
        (0u8..2).prop_map(Op::Create),
        (0u8..2, 1u32..4, chunks).prop_map(|(u, n, c)| Op::Part(u, n, c)),
        (0u8..2, proptest::collection::btree_set(1u32..4, 1..3))
            .prop_map(|(u, s)| Op::Complete(u, s.into_iter().collect())),
        (0u8..2).prop_map(Op::Abort),
    ]
}

fn key(k: u8) -> String {
    format!("k{k}")
}

fn upload_id(u: u8) -> String {
    format!("up{u}")
}

fn run(r: &Reader, op: Op) {
    let bucket = "b".to_string();
    let cmd = match op {
        Op::Put(k, c) => Command::PutObject {
            bucket,
            key: key(k),
            object: object(&c),
            condition: None,
        },
        Op::Delete(k) => Command::DeleteObject {
            bucket,
            key: key(k),
        },
        Op::DeleteMany(ks) => Command::DeleteObjects {
            bucket,
            keys: ks.into_iter().map(key).collect(),
        },
        Op::Copy(a, b) => Command::CopyObject {
            src_bucket: bucket.clone(),
            src_key: key(a),
            dst_bucket: bucket,
            dst_key: key(b),
            src_etag: None,
            replace_metadata: None,
            condition: None,
            last_modified_ms: 1,
        },
        Op::Create(u) => Command::CreateUpload {
            upload: UploadInfo {
                bucket,
                key: "mpu".into(),
                upload_id: upload_id(u),
                initiated_ms: 0,
                initiator: "o".into(),
                metadata: UploadMetadata::default(),
            },
        },
        Op::Part(u, n, c) => Command::PutPart {
            bucket,
            key: "mpu".into(),
            upload_id: upload_id(u),
            part: PartRecord {
                part_number: n,
                size: MIN_PART_SIZE,
                etag: "p".into(),
                last_modified_ms: 0,
                checksums: BTreeMap::new(),
                chunks: c.iter().map(|n| chunk(*n)).collect(),
            },
        },
        Op::Complete(u, parts) => Command::CompleteUpload {
            bucket,
            key: "mpu".into(),
            upload_id: upload_id(u),
            parts: parts.into_iter().map(|n| (n, "p".to_string())).collect(),
            etag: "m".into(),
            checksums: BTreeMap::new(),
            condition: None,
            last_modified_ms: 1,
        },
        Op::Abort(u) => Command::AbortUpload {
            bucket,
            key: "mpu".into(),
            upload_id: upload_id(u),
        },
    };
    apply(r, cmd);
}

/// The index's invariants against a recount from the records.
fn check(r: &Reader) {
    let recount = r.recount_refs().expect("recount");
    let mut indexed = BTreeMap::new();
    r.for_each_chunk(|id, e| {
        indexed.insert(id, e);
    })
    .expect("walk");
    let refs: BTreeMap<ChunkId, u64> = indexed.iter().map(|(k, e)| (k.clone(), e.refs)).collect();
    assert_eq!(refs, recount, "index refs vs recount");
    for cs in 1..=4u64 {
        let on_disk = r
            .chunks_on_disk(cs, &DiskId(format!("d{cs}")))
            .expect("locations");
        let expected: std::collections::BTreeSet<ChunkId> = indexed
            .iter()
            .filter(|(_, e)| e.replicas.contains(&rep(cs)))
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(on_disk, expected, "location index of chunkserver {cs}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn reference_counts_match_the_records(ops in proptest::collection::vec(op(), 1..40)) {
        let (_dir, r) = fresh();
        for op in ops {
            run(&r, op);
            check(&r);
        }
        // A rebuild from the records gives the same index.
        let mut before = BTreeMap::new();
        r.for_each_chunk(|id, e| { before.insert(id, e); }).expect("walk");
        rebuild_index(&r).expect("rebuild");
        let mut after = BTreeMap::new();
        r.for_each_chunk(|id, e| { after.insert(id, e); }).expect("walk");
        prop_assert_eq!(before, after);
        check(&r);
    }
}

#[test]
fn repair_commands_move_replicas() {
    let (_dir, r) = fresh();
    run(&r, Op::Put(0, vec![1]));
    run(&r, Op::Copy(0, 1));
    let id = chunk(1).id;
    // A corrupt replica is dropped; the location index follows.
    apply(
        &r,
        Command::DropReplica {
            chunk: id.clone(),
            replica: rep(2),
            reason: "corrupt".into(),
        },
    );
    let e = r.get_chunk(&id).expect("get").expect("entry");
    assert_eq!(e.replicas, vec![rep(1), rep(3)]);
    assert_eq!(e.refs, 2);
    check(&r);
    // Repair adds a replica on chunkserver 4 and drops one on a dead chunkserver 3.
    apply(
        &r,
        Command::AddReplica {
            chunk: id.clone(),
            replica: rep(4),
            drop: vec![rep(3)],
        },
    );
    let e = r.get_chunk(&id).expect("get").expect("entry");
    assert_eq!(e.replicas, vec![rep(1), rep(4)]);
    check(&r);
    // Both objects resolve to the moved replicas.
    for k in [0, 1] {
        let mut rec = r.get_object("b", &key(k)).expect("get").expect("object");
        r.resolve_replicas(&mut rec.chunks).expect("resolve");
        assert_eq!(rec.chunks[0].replicas, vec![rep(1), rep(4)]);
    }
    // Once nothing references it, the entry and its locations are gone, and a late repair
    // result is refused.
    run(&r, Op::DeleteMany(vec![0, 1, 0]));
    assert!(r.get_chunk(&id).expect("get").is_none());
    check(&r);
    let res = apply(
        &r,
        Command::AddReplica {
            chunk: id,
            replica: rep(2),
            drop: vec![],
        },
    );
    assert!(matches!(res, CommandResult::Refused(_)), "{res:?}");
    check(&r);
}
