//! The heartbeat worker against a fake meta leader, and the binary end to end.

mod common;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use common::*;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use trireme_api::chunk::ChunkserverStatusRequest;
use trireme_api::config::ReadyFile;
use trireme_api::meta::{DiskState, Heartbeat, HeartbeatResponse};
use trireme_api::Rpc;

type Seen = Arc<Mutex<Vec<Heartbeat>>>;

async fn record(State(seen): State<Seen>, Json(hb): Json<Heartbeat>) -> Json<HeartbeatResponse> {
    seen.lock().expect("lock").push(hb);
    Json(HeartbeatResponse {
        cluster_id: CLUSTER.into(),
        settings: Default::default(),
        scrub: Default::default(),
        removed_disks: Vec::new(),
    })
}

/// A fake meta leader that records heartbeats; returns its address.
async fn fake_meta(seen: Seen) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let app = Router::new()
        .route(Heartbeat::PATH, post(record))
        .with_state(seen);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

#[tokio::test]
async fn heartbeats_report_address_and_disks() {
    let seen: Seen = Arc::default();
    let (meta, meta_task) = fake_meta(seen.clone()).await;
    let root = tempfile::tempdir().expect("tempdir");
    let disks = vec![root.path().join("d0"), root.path().join("d1")];
    // A dead member first: the client must move on to the live one.
    let server = Server::start(config(disks, vec!["127.0.0.1:1".into(), meta], None)).await;
    let chunk = random_chunk();
    let data = random_bytes(5000);
    let disk = server.disk_ids().await.remove(0);
    client()
        .put_chunk(&server.addr, &disk, &chunk, &digest(&data), data)
        .await
        .expect("put");

    let addr = server.addr.clone();
    wait_until("a heartbeat shows the chunk", || {
        let seen = seen.clone();
        let (addr, disk) = (addr.clone(), disk.clone());
        async move {
            let seen = seen.lock().expect("lock");
            seen.iter().any(|hb| {
                hb.chunkserver == 1
                    && hb.addr == addr
                    && hb.disks.len() == 2
                    && hb
                        .disks
                        .iter()
                        .all(|d| d.state == DiskState::Healthy && d.free_bytes > 0)
                    && hb
                        .disks
                        .iter()
                        .any(|d| d.disk_id == disk && d.chunk_count == 1)
            })
        }
    })
    .await;
    server.stop().await;
    meta_task.abort();
}

#[tokio::test]
async fn unreachable_meta_does_not_stop_serving() {
    let root = tempfile::tempdir().expect("tempdir");
    let server = Server::start(config(
        vec![root.path().join("d0")],
        vec!["127.0.0.1:1".into()],
        None,
    ))
    .await;
    let disk = server.disk_ids().await.remove(0);
    let data = random_bytes(10);
    let chunk = random_chunk();
    client()
        .put_chunk(&server.addr, &disk, &chunk, &digest(&data), data)
        .await
        .expect("put");
    server.stop().await;
}

#[tokio::test]
async fn binary_serves_until_sigterm() {
    let root = tempfile::tempdir().expect("tempdir");
    let ready = root.path().join("ready.json");
    let config_path = root.path().join("chunkserver.toml");
    let toml = format!(
        r#"
id = 4
listen = "127.0.0.1:0"
meta = ["127.0.0.1:1"]
disks = [{d0:?}, {d1:?}]
ready_file = {ready:?}
heartbeat_ms = 100

[cluster]
cluster_id = "{CLUSTER}"
secret = "{SECRET}"
"#,
        d0 = root.path().join("d0"),
        d1 = root.path().join("d1"),
    );
    std::fs::write(&config_path, toml).expect("write config");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trireme-chunkserver"))
        .arg("--config")
        .arg(&config_path)
        .stdin(Stdio::null())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    wait_until("the ready file appears", || async { ready.exists() }).await;
    let ready: ReadyFile =
        serde_json::from_slice(&std::fs::read(&ready).expect("read")).expect("json");
    assert_eq!(Some(ready.pid), child.id());
    let status = client()
        .transport()
        .call(&ready.addr, &ChunkserverStatusRequest {})
        .await
        .expect("status");
    assert_eq!(status.id, 4);
    assert_eq!(status.disks.len(), 2);

    let pid = i32::try_from(ready.pid).expect("pid fits");
    // SAFETY: sending a signal to the child we spawned.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits")
        .expect("wait");
    assert!(exit.success(), "exit status {exit:?}");
}
