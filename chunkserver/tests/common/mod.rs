//! Test harness: a chunkserver started in-process on a port-0 listener, and its clients.

#![allow(dead_code)]

pub mod fake_meta;

use bytes::Bytes;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use trireme_api::chunk::{ChunkserverStatusRequest, ChunkserverStatusResponse};
use trireme_api::config::ClusterSettings;
use trireme_api::ids::{ChunkId, DiskId};
use trireme_chunkserver::{run, ChunkserverConfig, ChunkserverError};
use trireme_client::{ChunkClient, ClientError, Transport};

pub const CLUSTER: &str = "test-cluster";
pub const SECRET: &str = "test-secret";

pub fn settings() -> ClusterSettings {
    ClusterSettings {
        cluster_id: CLUSTER.into(),
        secret: SECRET.into(),
    }
}

pub fn config(
    disks: Vec<PathBuf>,
    meta: Vec<String>,
    ready_file: Option<PathBuf>,
) -> ChunkserverConfig {
    ChunkserverConfig {
        cluster: settings(),
        id: 1,
        listen: "127.0.0.1:0".into(),
        meta,
        disks,
        ready_file,
        heartbeat: Duration::from_millis(50),
        inventory: Duration::from_secs(3600),
        health: Duration::from_millis(50),
        disk_fail_after: 2,
        slow_probe: Duration::from_secs(2),
        require_mounted_disks: false,
        fault_injection: false,
    }
}

pub fn client_with(settings: ClusterSettings) -> ChunkClient {
    ChunkClient::new(Transport::new(settings, Duration::from_secs(10)))
}

pub fn client() -> ChunkClient {
    client_with(settings())
}

/// A chunkserver running in this process.
pub struct Server {
    pub addr: String,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), ChunkserverError>>,
}

impl Server {
    /// Starts `run()` on a port-0 listener and waits until it answers status requests.
    pub async fn start(config: ChunkserverConfig) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr").to_string();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(run(config, listener, async move {
            let _ = rx.await;
        }));
        let server = Server {
            addr,
            stop: Some(tx),
            handle,
        };
        wait_until("server answers status", || async {
            server.status().await.is_ok()
        })
        .await;
        server
    }

    pub async fn status(&self) -> Result<ChunkserverStatusResponse, ClientError> {
        client()
            .transport()
            .call(&self.addr, &ChunkserverStatusRequest {})
            .await
    }

    /// The ids of the disks in config order.
    pub async fn disk_ids(&self) -> Vec<DiskId> {
        self.status()
            .await
            .expect("status")
            .disks
            .into_iter()
            .map(|d| d.disk_id)
            .collect()
    }

    /// Signals shutdown and waits for `run()` to return.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(10), &mut self.handle)
            .await
            .expect("run() returns after shutdown")
            .expect("run() did not panic");
        result.expect("run() returns Ok");
    }
}

/// Polls `cond` every 10 ms until it holds, failing the test after 10 s.
pub async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !cond().await {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn random_bytes(len: usize) -> Bytes {
    Bytes::from((0..len).map(|_| rand::random::<u8>()).collect::<Vec<u8>>())
}

pub fn random_chunk() -> ChunkId {
    ChunkId::from_u128(rand::random())
}

pub fn digest(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

/// Where a chunk's file lives under a disk directory.
pub fn chunk_file(disk_dir: &Path, chunk: &ChunkId) -> PathBuf {
    disk_dir.join("chunks").join(&chunk.0[..2]).join(&chunk.0)
}

/// The names of the files in a disk's quarantine directory.
pub fn quarantined(disk_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(disk_dir.join("quarantine"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
