//! A three-node meta cluster in one process, on port-0 listeners: election, linearizable
//! reads, leader failure, restart from disk, catch-up by snapshot, and authentication.

mod common;

use common::*;
use std::time::Duration;
use tempfile::TempDir;
use trireme_api::config::ClusterSettings;
use trireme_api::meta::*;
use trireme_api::ErrorCode;
use trireme_client::Transport;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_survive_leader_loss_and_catch_up() {
    let dir = TempDir::new().expect("tmp");
    let (mut nodes, client, transport) = start_cluster(dir.path()).await;

    client
        .call(&CreateBucket {
            name: "bkt".into(),
            owner: "me".into(),
        })
        .await
        .expect("create bucket");
    for i in 0..10u64 {
        client
            .call(&CommitObject {
                bucket: "bkt".into(),
                key: format!("k{i:02}"),
                object: object(i + 1),
                condition: None,
            })
            .await
            .expect("commit");
    }
    let got = client
        .call(&GetObject {
            bucket: "bkt".into(),
            key: "k03".into(),
        })
        .await
        .expect("get");
    assert_eq!(got.object.size, 4);
    assert!(got.object.last_modified_ms > 0, "leader stamps the time");

    // Stop the leader: a new one is elected and nothing acknowledged is lost.
    let leader = leader_of(&transport, &nodes).await.expect("a leader");
    let idx = nodes
        .iter()
        .position(|n| n.id == leader)
        .expect("leader node");
    let old_addr = nodes[idx].addr.clone();
    nodes[idx].stop().await;
    for i in 10..60u64 {
        client
            .call(&CommitObject {
                bucket: "bkt".into(),
                key: format!("k{i:02}"),
                object: object(i + 1),
                condition: None,
            })
            .await
            .expect("commit after failover");
    }
    let new_leader = leader_of(&transport, &nodes).await.expect("new leader");
    assert_ne!(new_leader, leader);
    let list = client
        .call(&ListObjects {
            bucket: "bkt".into(),
            max_keys: 1000,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(list.objects.len(), 60);

    // The survivors applied 50+ entries (snapshot_every_logs is 20): the snapshot worker has
    // them build a snapshot file and purge their logs, so the old leader, 50 entries behind,
    // can only catch up through a snapshot.
    let snap = |id: u64| {
        dir.path()
            .join(format!("meta-{id}"))
            .join("trireme-snapshots")
            .join("current.snap")
    };
    for n in nodes.iter().filter(|n| n.id != leader) {
        let path = snap(n.id);
        wait_until(
            "a survivor's snapshot file",
            Duration::from_secs(30),
            || {
                let exists = path.exists();
                async move { exists }
            },
        )
        .await;
    }

    // Restart the old leader from its data on the same address: it catches up (the log was
    // compacted meanwhile, so through a snapshot).
    nodes[idx] = Node::start(leader, dir.path(), &old_addr).await;
    let target = transport
        .call(&nodes[(idx + 1) % 3].addr, &ClusterStatus {})
        .await
        .expect("status")
        .last_applied;
    wait_until(
        "restarted node to catch up",
        Duration::from_secs(30),
        || {
            let transport = transport.clone();
            let addr = old_addr.clone();
            async move {
                match transport.call(&addr, &ClusterStatus {}).await {
                    Ok(s) => s.last_applied >= target,
                    Err(_) => false,
                }
            }
        },
    )
    .await;
    // It got there through the survivors' snapshot, which it now keeps as its own.
    let installed = snap(leader);
    wait_until(
        "the restarted node's snapshot file",
        Duration::from_secs(30),
        || {
            let exists = installed.exists();
            async move { exists }
        },
    )
    .await;

    // Linearizable reads are refused by followers with the leader's address.
    let follower = nodes.iter().find(|n| n.id != new_leader).expect("follower");
    let err = transport
        .call(
            &follower.addr,
            &GetObject {
                bucket: "bkt".into(),
                key: "k01".into(),
            },
        )
        .await
        .expect_err("follower must not serve reads");
    assert_eq!(err.code(), Some(ErrorCode::NotLeader));

    for n in &mut nodes {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_wrong_secret_and_cluster() {
    let dir = TempDir::new().expect("tmp");
    let mut node = Node::start(1, dir.path(), "127.0.0.1:0").await;
    let bad = Transport::new(
        ClusterSettings {
            cluster_id: "test-cluster".into(),
            secret: "wrong-secret-0000000".into(),
        },
        Duration::from_secs(5),
    );
    let err = bad
        .call(&node.addr, &ClusterStatus {})
        .await
        .expect_err("wrong secret");
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    let other = Transport::new(
        ClusterSettings {
            cluster_id: "other".into(),
            secret: settings().secret,
        },
        Duration::from_secs(5),
    );
    let err = other
        .call(&node.addr, &ClusterStatus {})
        .await
        .expect_err("other cluster");
    assert_eq!(err.code(), Some(ErrorCode::WrongCluster));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_rules_and_listing() {
    let dir = TempDir::new().expect("tmp");
    let (mut nodes, client, _t) = start_cluster(dir.path()).await;
    client
        .call(&CreateBucket {
            name: "b1".into(),
            owner: "a".into(),
        })
        .await
        .expect_err("short name");
    client
        .call(&CreateBucket {
            name: "bkt".into(),
            owner: "a".into(),
        })
        .await
        .expect("create");
    let e = client
        .call(&CreateBucket {
            name: "bkt".into(),
            owner: "a".into(),
        })
        .await
        .expect_err("dup");
    assert_eq!(e.code(), Some(ErrorCode::BucketAlreadyOwnedByYou));
    let e = client
        .call(&CreateBucket {
            name: "bkt".into(),
            owner: "b".into(),
        })
        .await
        .expect_err("dup");
    assert_eq!(e.code(), Some(ErrorCode::BucketAlreadyExists));
    for k in ["a/1", "a/2", "b/1", "c", "d/x/y"] {
        client
            .call(&CommitObject {
                bucket: "bkt".into(),
                key: k.into(),
                object: object(1),
                condition: None,
            })
            .await
            .expect("put");
    }
    let e = client
        .call(&DeleteBucket { name: "bkt".into() })
        .await
        .expect_err("not empty");
    assert_eq!(e.code(), Some(ErrorCode::BucketNotEmpty));

    // Delimiter listing, one entry per page, following next_marker.
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .call(&ListObjects {
                bucket: "bkt".into(),
                delimiter: Some("/".into()),
                continue_after: marker.clone(),
                max_keys: 1,
                ..Default::default()
            })
            .await
            .expect("list");
        seen.extend(page.common_prefixes.iter().cloned());
        seen.extend(page.objects.iter().map(|o| o.key.clone()));
        if !page.is_truncated {
            break;
        }
        marker = page.next_marker;
    }
    assert_eq!(seen, vec!["a/", "b/", "c", "d/"]);
    let page = client
        .call(&ListObjects {
            bucket: "bkt".into(),
            prefix: "a/".into(),
            start_after: Some("a/1".into()),
            max_keys: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(
        page.objects
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        vec!["a/2"]
    );

    for k in ["a/1", "a/2", "b/1", "c", "d/x/y"] {
        let r = client
            .call(&DeleteObject {
                bucket: "bkt".into(),
                key: k.into(),
            })
            .await
            .expect("delete");
        assert!(r.existed);
    }
    client
        .call(&DeleteBucket { name: "bkt".into() })
        .await
        .expect("delete empty bucket");
    let e = client
        .call(&GetBucket { name: "bkt".into() })
        .await
        .expect_err("gone");
    assert_eq!(e.code(), Some(ErrorCode::NoSuchBucket));
    for n in &mut nodes {
        n.stop().await;
    }
}
