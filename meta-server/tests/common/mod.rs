//! Shared helpers for the in-process meta cluster tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use trireme_api::config::ClusterSettings;
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::meta::*;
use trireme_api::object::{ChunkRef, ObjectRecord, Replica};
use trireme_client::{MetaClient, Transport};
use trireme_meta::MetaConfig;

pub fn settings() -> ClusterSettings {
    ClusterSettings {
        cluster_id: "test-cluster".into(),
        secret: "0123456789abcdef0123".into(),
    }
}

pub struct Node {
    pub id: u64,
    pub addr: String,
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<JoinHandle<()>>,
}

impl Node {
    pub async fn start(id: u64, dir: &Path, listen: &str) -> Node {
        let config = MetaConfig {
            cluster: settings(),
            node_id: id,
            data_dir: dir.join(format!("meta-{id}")),
            chunkserver_timeout: Duration::from_secs(5),
            raft_heartbeat: Duration::from_millis(100),
            snapshot_every_logs: 20,
            gc_grace: Duration::from_secs(3600),
            ledger_sweep: Duration::from_millis(500),
        };
        let listener = tokio::net::TcpListener::bind(listen).await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = trireme_meta::run(config, listener, shutdown).await {
                panic!("meta node failed: {e}");
            }
        });
        Node {
            id,
            addr,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

pub fn object(size: u64) -> ObjectRecord {
    ObjectRecord {
        size,
        etag: "e".into(),
        last_modified_ms: 0,
        content_type: None,
        headers: BTreeMap::new(),
        user_metadata: BTreeMap::new(),
        checksums: BTreeMap::new(),
        chunks: vec![ChunkRef {
            id: ChunkId::from_u128(size as u128 + 1),
            length: size,
            blake3: "00".into(),
            replicas: vec![Replica {
                chunkserver: 1,
                disk: DiskId("d1".into()),
            }],
        }],
        part_sizes: vec![],
        inline: None,
    }
}

pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn leader_of(transport: &Transport, nodes: &[Node]) -> Option<u64> {
    for n in nodes {
        if n.task.is_none() {
            continue;
        }
        if let Ok(s) = transport.call(&n.addr, &ClusterStatus {}).await {
            if s.leader == Some(s.node_id) {
                return Some(s.node_id);
            }
        }
    }
    None
}

pub async fn start_cluster(dir: &Path) -> (Vec<Node>, Arc<MetaClient>, Transport) {
    let mut nodes = Vec::new();
    for id in 1..=3 {
        nodes.push(Node::start(id, dir, "127.0.0.1:0").await);
    }
    let transport = Transport::new(settings(), Duration::from_secs(5));
    let members: BTreeMap<u64, String> = nodes.iter().map(|n| (n.id, n.addr.clone())).collect();
    transport
        .call(&nodes[0].addr, &InitCluster { members })
        .await
        .expect("init");
    let client = Arc::new(MetaClient::new(
        transport.clone(),
        nodes.iter().map(|n| n.addr.clone()).collect(),
        Duration::from_secs(20),
    ));
    (nodes, client, transport)
}
