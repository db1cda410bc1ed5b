//! # trireme-chunkserver: stores verified chunk replicas on local disks
//!
//! A chunkserver owns several disks (directories or mounts), each with an identity file so a
//! foreign or unknown disk is refused. It serves the chunk data RPC of `trireme_api::chunk`
//! (put/get/delete a chunk, status), acknowledges a put only once the chunk file and its
//! directory are fsynced, never returns bytes that failed BLAKE3 verification, and reports
//! its disks to the meta leader in heartbeats.
//!
//! # Layout
//! - [`config`]: the TOML config validated into [`ChunkserverConfig`].
//! - [`error`]: [`StoreError`] (chunk operations, mapped onto the wire's `ApiError`) and
//!   [`ChunkserverError`] (start-up and serving).
//! - [`chunk_file`]: the versioned chunk file format: header, block digests, verified reads.
//! - [`disk`]: one disk: identity file, directory layout, start-up scan, usage counters.
//! - [`fsutil`]: fsync of directories, atomic file writes, statvfs, disk-failure errors.
//! - [`store`]: put/get/delete of chunks on the disks, on the blocking pool.
//! - [`http`]: axum routes and the cluster-secret middleware.
//! - [`heartbeat`]: the worker reporting disks to the meta leader.
//! - [`inventory`]: the worker reporting held chunks and deleting the unreferenced ones (GC).
//! - `main.rs`: the `trireme-chunkserver --config FILE` binary.

pub mod chunk_file;
pub mod config;
pub mod disk;
pub mod error;
pub mod fsutil;
pub mod heartbeat;
pub mod http;
pub mod inventory;
pub mod store;

pub use config::ChunkserverConfig;
pub use error::{ChunkserverError, StoreError};

use axum::serve::ListenerExt;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use trireme_api::config::ReadyFile;

/// Serves the chunk RPC on `listener` until `shutdown` completes, then drains in-flight
/// requests, stops the heartbeat worker and returns.
pub async fn run(
    config: ChunkserverConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ChunkserverError> {
    let addr = listener.local_addr()?;
    if let Some(path) = &config.ready_file {
        remove_stale(path)?;
    }
    let config = Arc::new(config);
    let store =
        Arc::new(store::Store::open(&config.cluster.cluster_id, config.id, &config.disks).await);
    let online = store.disks().iter().filter(|d| d.is_online()).count();

    // Connections queue in the bound listener's backlog until `server` is polled below.
    if let Some(path) = &config.ready_file {
        write_ready_file(path, addr).await?;
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let heartbeat = if config.meta.is_empty() {
        tracing::warn!("no meta addresses configured; not sending heartbeats");
        None
    } else {
        Some((
            tokio::spawn(heartbeat::run(
                config.clone(),
                store.clone(),
                addr,
                stop_rx.clone(),
            )),
            tokio::spawn(inventory::run(
                config.clone(),
                store.clone(),
                stop_rx.clone(),
            )),
        ))
    };

    let app = http::router(http::AppState {
        store,
        cluster: Arc::new(config.cluster.clone()),
        chunkserver: config.id,
    });
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on an accepted connection");
        }
    });
    let mut serve_stop = stop_rx;
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = serve_stop.wait_for(|s| *s).await;
        })
        .into_future();
    let disks = config.disks.len();
    tracing::info!(%addr, id = config.id, disks, online, "chunkserver serving");

    tokio::pin!(server, shutdown);
    let result = tokio::select! {
        r = &mut server => r,
        () = &mut shutdown => {
            tracing::info!("shutting down");
            let _ = stop_tx.send(true);
            server.await
        }
    };
    let _ = stop_tx.send(true);
    if let Some((heartbeat, inventory)) = heartbeat {
        if let Err(e) = heartbeat.await {
            tracing::error!(error = %e, "heartbeat worker panicked");
        }
        if let Err(e) = inventory.await {
            tracing::error!(error = %e, "inventory worker panicked");
        }
    }
    tracing::info!("chunkserver stopped");
    Ok(result?)
}

fn remove_stale(path: &Path) -> Result<(), ChunkserverError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ChunkserverError::ReadyFile {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Writes the [`ReadyFile`] atomically (tmp + rename).
async fn write_ready_file(path: &Path, addr: SocketAddr) -> Result<(), ChunkserverError> {
    let ready = ReadyFile {
        addr: addr.to_string(),
        pid: std::process::id(),
    };
    let json = serde_json::to_vec_pretty(&ready).map_err(|e| ChunkserverError::ReadyFile {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    let path = path.to_path_buf();
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let target = path.clone();
    tokio::task::spawn_blocking(move || fsutil::write_file_atomic(&tmp, &target, &json))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|r| r)
        .map_err(|source| ChunkserverError::ReadyFile { path, source })
}
