//! The inspection RPCs (`ExplainObject`, `ShowChunkserver`, `ShowDisk`) on an in-process
//! three-node meta cluster fed with hand-written heartbeats, and the at-risk computation
//! directly on a state machine.

mod common;

use common::*;
use rocksdb::WriteBatch;
use std::collections::BTreeMap;
use tempfile::TempDir;
use trireme_api::durability::ScrubProgress;
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::inspect::*;
use trireme_api::meta::*;
use trireme_api::object::{ChunkRef, ObjectRecord, Replica};
use trireme_api::ErrorCode;
use trireme_client::MetaClient;
use trireme_meta::durability::view::HealthView;
use trireme_meta::service::inspect_risk::{at_risk, chunks_on_chunkserver};
use trireme_meta::store::apply::apply_command;
use trireme_meta::store::read::Reader;
use trireme_meta::types::{ChunkserverRecord, Command, DiskRecord};

const LEN: u64 = 1000;

fn rep(cs: u64, disk: u32) -> Replica {
    Replica {
        chunkserver: cs,
        disk: DiskId(format!("c{cs}d{disk}")),
    }
}

fn record(chunks: &[(u128, &[(u64, u32)])], part_sizes: Vec<u64>) -> ObjectRecord {
    let chunks: Vec<ChunkRef> = chunks
        .iter()
        .map(|(id, reps)| ChunkRef {
            id: ChunkId::from_u128(*id),
            length: LEN,
            blake3: format!("{id:064x}"),
            replicas: reps.iter().map(|(c, d)| rep(*c, *d)).collect(),
        })
        .collect();
    ObjectRecord {
        size: LEN * chunks.len() as u64,
        etag: "e".into(),
        last_modified_ms: 0,
        content_type: Some("text/plain".into()),
        headers: BTreeMap::new(),
        user_metadata: BTreeMap::new(),
        checksums: [("crc32".to_string(), "AAAA".to_string())].into(),
        chunks,
        part_sizes,
        inline: None,
    }
}

/// A heartbeat of chunkserver `cs` with two disks; `failed` names a failed disk index.
fn heartbeat(cs: u64, failed: Option<u32>) -> Heartbeat {
    Heartbeat {
        chunkserver: cs,
        addr: format!("127.0.0.1:{}", 9 + cs),
        disks: (0..2)
            .map(|i| DiskReport {
                disk_id: DiskId(format!("c{cs}d{i}")),
                path: format!("/data/cs{cs}/disk-{i}"),
                state: if failed == Some(i) {
                    DiskState::Failed
                } else {
                    DiskState::Healthy
                },
                capacity_bytes: 10 << 30,
                free_bytes: 5 << 30,
                used_bytes: 1 << 20,
                chunk_count: 1,
                health: DiskHealth {
                    last_scrub_ms: Some(1_700_000_000_000 + cs),
                    read_p99_us: Some(700),
                    ..Default::default()
                },
            })
            .collect(),
        workers: vec![],
        slots: vec![],
        scrub: Some(ScrubProgress {
            epoch: 1,
            chunks_total: 2,
            ..Default::default()
        }),
    }
}

fn code<T>(r: Result<T, trireme_client::ClientError>) -> Option<ErrorCode> {
    r.err().and_then(|e| e.code())
}

async fn beat_all(client: &MetaClient, failed: &[(u64, u32)]) {
    for cs in 1..=4 {
        let f = failed.iter().find(|(c, _)| *c == cs).map(|(_, d)| *d);
        client.call(&heartbeat(cs, f)).await.expect("heartbeat");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_and_show_follow_the_chunk_index() {
    let dir = TempDir::new().expect("tmp");
    let (mut nodes, client, transport) = start_cluster(dir.path()).await;
    client
        .call(&CreateBucket {
            name: "bkt".into(),
            owner: "o".into(),
        })
        .await
        .expect("bucket");
    beat_all(&client, &[]).await;
    let put = |key: &'static str, rec: ObjectRecord| {
        let client = client.clone();
        async move {
            client
                .call(&CommitObject {
                    bucket: "bkt".into(),
                    key: key.into(),
                    object: rec,
                    condition: None,
                })
                .await
                .expect("commit");
        }
    };
    put(
        "a",
        record(
            &[
                (1, &[(1, 0), (2, 0), (3, 0)]),
                (2, &[(2, 1), (3, 1), (4, 0)]),
            ],
            vec![LEN, LEN],
        ),
    )
    .await;
    put("solo", record(&[(3, &[(4, 1)])], vec![])).await;
    client
        .call(&CopyObject {
            src_bucket: "bkt".into(),
            src_key: "a".into(),
            dst_bucket: "bkt".into(),
            dst_key: "a-copy".into(),
            src_etag: None,
            replace_metadata: None,
            condition: None,
        })
        .await
        .expect("copy");

    let explain = |key: &'static str| {
        let client = client.clone();
        async move {
            client
                .call(&ExplainObject {
                    bucket: "bkt".into(),
                    key: key.into(),
                })
                .await
        }
    };
    let e = explain("a").await.expect("explain");
    assert_eq!((e.size, e.chunks.len()), (2 * LEN, 2));
    assert_eq!(e.content_type.as_deref(), Some("text/plain"));
    assert_eq!(e.checksums.get("crc32").map(String::as_str), Some("AAAA"));
    let c1 = &e.chunks[1];
    assert_eq!((c1.offset, c1.length, c1.part), (LEN, LEN, Some(2)));
    assert_eq!((c1.refs, c1.want, c1.healthy), (Some(2), 3, 3));
    assert_eq!(c1.blake3, format!("{:064x}", 2));
    let r = &c1.replicas[2];
    assert_eq!((r.chunkserver, r.disk.0.as_str()), (4, "c4d0"));
    assert_eq!(r.addr.as_deref(), Some("127.0.0.1:13"));
    assert_eq!(r.path.as_deref(), Some("/data/cs4/disk-0"));
    assert_eq!(r.chunkserver_state, Some(ChunkserverState::Up));
    assert_eq!(r.disk_state, Some(DiskState::Healthy));
    assert!(r.alive && r.healthy);
    assert_eq!(r.last_scrub_ms, Some(1_700_000_000_004));
    assert_eq!(
        e.summary,
        ExplainSummary {
            chunks: 2,
            under_replicated: 0,
            lost: 0,
            min_healthy: Some(3)
        }
    );

    // The disk holding the only replica of `solo`'s chunk, by id, index and path.
    for sel in [
        DiskSelector::Id(DiskId("c4d1".into())),
        DiskSelector::Index {
            chunkserver: 4,
            index: 1,
        },
        DiskSelector::Path("/data/cs4/disk-1/".into()),
    ] {
        let d = client
            .call(&ShowDisk {
                disk: sel.clone(),
                limit: 10,
            })
            .await
            .expect("show disk");
        assert_eq!(d.chunkserver, 4, "{sel:?}");
        assert_eq!(d.disk.report.disk_id.0, "c4d1");
        assert_eq!((d.disk.index, d.disk.indexed_chunks), (1, 1));
        assert!(d.disk.reported && d.chunkserver_alive);
        assert_eq!(d.disk.recorded_state, Some(DiskState::Healthy));
        assert_eq!(d.disk.report.health.read_p99_us, Some(700));
        assert_eq!(d.risk.would_lose_chunks, 1);
        assert_eq!((d.risk.now.one, d.risk.if_failed.zero), (1, 1));
        assert_eq!(d.risk.objects.len(), 1);
        assert_eq!(d.risk.objects[0].key, "solo");
        assert_eq!(d.risk.objects[0].chunks, vec![ChunkId::from_u128(3)]);
        assert!(!d.risk.objects_truncated);
    }
    let d = client
        .call(&ShowDisk {
            disk: DiskSelector::Id(DiskId("c4d1".into())),
            limit: 0,
        })
        .await
        .expect("show disk");
    assert!(d.risk.objects.is_empty() && d.risk.objects_truncated);

    // A chunkserver: both its chunks at 3 healthy replicas now, 2 if it failed.
    let s = client
        .call(&ShowChunkserver { id: 2, limit: 10 })
        .await
        .expect("show chunkserver");
    assert_eq!(s.chunkserver.id, 2);
    assert!(s.chunkserver.alive);
    assert_eq!(s.disks.len(), 2);
    assert_eq!(
        s.disks.iter().map(|d| d.indexed_chunks).collect::<Vec<_>>(),
        vec![1, 1]
    );
    assert_eq!(s.scrub.as_ref().map(|p| p.chunks_total), Some(2));
    assert_eq!((s.risk.now.three, s.risk.if_failed.two), (2, 2));
    assert_eq!(s.risk.bytes, 2 * LEN);
    assert_eq!(s.risk.would_lose_chunks, 0);

    // Chunkserver 3's first disk fails: chunk 1 has 2 healthy replicas.
    beat_all(&client, &[(3, 0)]).await;
    let e = explain("a-copy").await.expect("explain");
    let c0 = &e.chunks[0];
    assert_eq!((c0.healthy, c0.want), (2, 3));
    let on3 = c0
        .replicas
        .iter()
        .find(|r| r.chunkserver == 3)
        .expect("replica on 3");
    assert_eq!(on3.disk_state, Some(DiskState::Failed));
    assert!(!on3.healthy && on3.alive);
    assert_eq!(
        (e.summary.under_replicated, e.summary.min_healthy),
        (1, Some(2))
    );
    let s = client
        .call(&ShowChunkserver { id: 2, limit: 10 })
        .await
        .expect("show chunkserver");
    assert_eq!((s.risk.now.three, s.risk.now.two), (1, 1));
    assert_eq!((s.risk.if_failed.two, s.risk.if_failed.one), (1, 1));

    // Errors.
    assert_eq!(code(explain("nope").await), Some(ErrorCode::NoSuchKey));
    let missing_bucket = client
        .call(&ExplainObject {
            bucket: "nobkt".into(),
            key: "a".into(),
        })
        .await;
    assert_eq!(code(missing_bucket), Some(ErrorCode::NoSuchBucket));
    for (sel, want) in [
        (DiskSelector::Id(DiskId("zz".into())), ErrorCode::NotFound),
        (
            DiskSelector::Index {
                chunkserver: 9,
                index: 0,
            },
            ErrorCode::NotFound,
        ),
        (
            DiskSelector::Index {
                chunkserver: 1,
                index: 2,
            },
            ErrorCode::NotFound,
        ),
        (DiskSelector::Path("/nowhere".into()), ErrorCode::NotFound),
    ] {
        let r = client
            .call(&ShowDisk {
                disk: sel,
                limit: 1,
            })
            .await;
        assert_eq!(code(r), Some(want));
    }
    let r = client.call(&ShowChunkserver { id: 9, limit: 1 }).await;
    assert_eq!(code(r), Some(ErrorCode::NotFound));
    let r = client
        .call(&ShowChunkserver {
            id: 1,
            limit: MAX_LIST_OBJECTS + 1,
        })
        .await;
    assert_eq!(code(r), Some(ErrorCode::InvalidArgument));

    // Followers refuse (leader-only, linearizable).
    let leader = leader_of(&transport, &nodes).await.expect("leader");
    let follower = nodes.iter().find(|n| n.id != leader).expect("follower");
    let err = transport
        .call(
            &follower.addr,
            &ExplainObject {
                bucket: "bkt".into(),
                key: "a".into(),
            },
        )
        .await
        .expect_err("follower");
    assert_eq!(err.code(), Some(ErrorCode::NotLeader));

    for n in &mut nodes {
        n.stop().await;
    }
}

fn apply(r: &Reader, cmd: Command) {
    let mut batch = WriteBatch::default();
    apply_command(r, &mut batch, cmd).expect("apply");
    r.db().write(batch).expect("write");
}

#[test]
fn at_risk_counts_and_lists_objects_that_would_lose_data() {
    let dir = TempDir::new().expect("tmp");
    let r = Reader::new(trireme_meta::store::open_db(dir.path()).expect("db"));
    apply(
        &r,
        Command::CreateBucket {
            name: "b".into(),
            owner: "o".into(),
            created_ms: 0,
        },
    );
    for cs in 1..=3 {
        let mut record = ChunkserverRecord {
            id: cs,
            addr: String::new(),
            disks: vec![],
            state: ChunkserverState::Up,
        };
        for i in 0..2 {
            let mut disk: DiskRecord = serde_json::from_value(serde_json::json!({
                "disk_id": format!("c{cs}d{i}"),
                "path": "",
            }))
            .expect("disk record");
            disk.state = DiskState::Healthy;
            record.disks.push(disk);
        }
        apply(
            &r,
            Command::UpsertChunkserver {
                chunkserver: record,
            },
        );
    }
    // Five objects whose chunk lives on chunkserver 1 only, one with replicas on 1 and 2,
    // one elsewhere.
    for i in 0..5u128 {
        let key = format!("k{i}");
        let object = record(&[(10 + i, &[(1, (i % 2) as u32)])], vec![]);
        apply(
            &r,
            Command::PutObject {
                bucket: "b".into(),
                key,
                object,
                condition: None,
            },
        );
    }
    let two = record(&[(20, &[(1, 0), (2, 0)])], vec![]);
    let other = record(&[(30, &[(2, 1), (3, 0)])], vec![]);
    for (key, object) in [("two", two), ("other", other)] {
        apply(
            &r,
            Command::PutObject {
                bucket: "b".into(),
                key: key.into(),
                object,
                condition: None,
            },
        );
    }
    let view = HealthView::new(&r.list_chunkservers().expect("records"));
    let on1 = chunks_on_chunkserver(&r, 1).expect("scan");
    assert_eq!(on1.len(), 6);
    let risk = at_risk(&r, &view, on1.clone(), |x| x.chunkserver == 1, 3).expect("risk");
    assert_eq!(risk.now.total(), 6);
    assert_eq!((risk.now.one, risk.now.two), (5, 1));
    assert_eq!((risk.if_failed.zero, risk.if_failed.one), (5, 1));
    assert_eq!(risk.would_lose_chunks, 5);
    assert_eq!(
        risk.objects
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        vec!["k0", "k1", "k2"]
    );
    assert!(risk.objects_truncated);
    assert_eq!(risk.bytes, 6 * LEN);

    // Chunkserver 2 dead: chunk 20's only healthy replica is on 1; nothing on 2 counts.
    apply(
        &r,
        Command::SetChunkserverState {
            id: 2,
            state: ChunkserverState::Dead,
        },
    );
    let view = HealthView::new(&r.list_chunkservers().expect("records"));
    let risk = at_risk(&r, &view, on1, |x| x.chunkserver == 1, 100).expect("risk");
    assert_eq!(risk.would_lose_chunks, 6);
    assert_eq!(risk.objects.len(), 6);
    assert!(!risk.objects_truncated);
    let on2 = chunks_on_chunkserver(&r, 2).expect("scan");
    let risk = at_risk(&r, &view, on2, |x| x.chunkserver == 2, 100).expect("risk");
    assert_eq!((risk.now.total(), risk.would_lose_chunks), (2, 0));
    assert_eq!((risk.now.one, risk.now.zero + risk.now.two), (2, 0));
}
