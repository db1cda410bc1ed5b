//! # trireme-chunkserver: stores verified chunk replicas on local disks
//!
//! A chunkserver owns several disks (directories or mounts), each with an identity file so a
//! foreign or unknown disk is refused. It serves the chunk data RPC of `trireme_api::chunk`
//! (put/get/delete a chunk, status, pull and verify), acknowledges a put only once the chunk
//! file and its directory are fsynced, never returns bytes that failed BLAKE3 verification,
//! and reports its disks, workers and scrub progress to the meta leader in heartbeats.
//!
//! Durability: a health worker probes every disk (healthy, suspect, failed); a scrub worker
//! re-reads every chunk at a throttled rate; a bad replica found by a read, scrub or
//! verification is quarantined (moved aside, never deleted) and reported to the meta leader,
//! which repairs it by asking another chunkserver to pull a good copy.
//!
//! Disk swap: each configured disk path is a *slot*. A disk the meta leader lists as removed
//! from service in a heartbeat answer is released (no new I/O; its lock goes with the last
//! in-flight operation) and never taken back; every heartbeat reports every slot and what it
//! holds (see `trireme_api::swap`), and `POST /v1/disk/format` formats the blank disk put in
//! a slot with a new identity and takes it into service. A disk of this chunkserver that was
//! never removed, found later in a slot without a disk (mounted after start-up), is taken
//! into service. With `require_mounted_disks`, a slot with no filesystem mounted on it is
//! never formatted nor opened, not even at start-up.
//!
//! Test-only fault injection: started with `TRIREME_FAULT_INJECTION=1`, a file
//! `<disk>/.trireme-inject-delay-ms` holding a number makes every chunk read, chunk write,
//! scrub read and probe on that disk sleep that many milliseconds (see [`fault`]).
//!
//! # Layout
//! - [`config`]: the TOML config validated into [`ChunkserverConfig`].
//! - [`error`]: [`StoreError`] (chunk operations, mapped onto the wire's `ApiError`) and
//!   [`ChunkserverError`] (start-up and serving).
//! - [`chunk_file`]: the versioned chunk file format: header, block digests, verified reads
//!   (`chunk_file/tree.rs`: the version-2 block chaining values and their merge into the
//!   whole-chunk BLAKE3; `chunk_file/check.rs`: block verification in both versions;
//!   `chunk_file/read.rs`: range reads and full verification).
//! - [`disk`]: one disk: identity file, directory layout, start-up scan, usage counters,
//!   release from service.
//! - [`format`]: identity files: reading and checking them, formatting a blank directory
//!   (start-up and `FormatDisk` share it).
//! - [`slots`]: what a disk slot (a configured disk path) holds now: the `SlotReport` of a
//!   slot without an open disk (blank, foreign, retired, ...), and mount-point detection.
//! - [`disk_health`]: the health state machine (pure) and each disk's monitor (probe results,
//!   I/O errors, corrupt replicas, traffic latencies and counters).
//! - [`latency`]: bounded latency samples, percentiles, the fail-slow outlier test.
//! - [`probe`]: the disk probe (identity check, write + fsync + read back).
//! - [`cpu_stall`]: timing the probe's I/O minus the thread's wait for a CPU (so CPU
//!   starvation is not disk slowness).
//! - [`fault`]: the test-only fault injector.
//! - [`fsutil`]: fsync of directories, atomic file writes, statvfs, disk-failure errors.
//! - [`store`]: put/get/delete/verify of chunks on the disks, on the blocking pool
//!   (`store/read.rs`, `store/write.rs`); receiving a PUT body into a pooled aligned buffer,
//!   hashed as it arrives (`store/receive.rs`, `store/pool.rs`) and written from it with
//!   `O_DIRECT` (`store/direct.rs`); the slot table (`store/table.rs`): opening the
//!   slots at start-up, releasing a removed disk, inspecting the empty slots, formatting a
//!   blank one.
//! - [`verify`]: full verification of one replica and what happens to a bad one.
//! - [`quarantine`]: moving a bad replica aside.
//! - [`report`]: the queue of bad-replica reports to the meta leader.
//! - [`pull`]: `POST /v1/chunk/pull`, the repair copy from another chunkserver.
//! - [`shared`]: the state handlers and workers share, and the run-time control from the
//!   meta leader (worker settings, scrub control, removed disks).
//! - [`workers`]: the named workers' status (`health`, `scrub`, `inventory`, `pull`).
//! - [`health`]: the disk health worker (and the slot inspection on its tick).
//! - [`scrub`]: the scrub worker (`scrub/schedule.rs`: when a pass is due);
//!   [`scrub_state`] its history on disk; [`throttle`] its token bucket and pacing.
//! - [`heartbeat`]: the worker reporting to the meta leader and taking its control.
//! - [`inventory`]: the worker reporting held chunks and deleting the unreferenced ones (GC).
//! - [`metrics`]: `GET /metrics`, Prometheus text.
//! - [`http`]: axum routes (chunk RPC, `FormatDisk`) and the cluster-secret middleware.
//! - `main.rs`: the `trireme-chunkserver --config FILE` binary.

pub mod chunk_file;
pub mod config;
pub mod cpu_stall;
pub mod disk;
pub mod disk_health;
pub mod error;
pub mod fault;
pub mod format;
pub mod fsutil;
pub mod health;
pub mod heartbeat;
pub mod http;
pub mod inventory;
pub mod latency;
pub mod metrics;
pub mod probe;
pub mod pull;
pub mod quarantine;
pub mod report;
pub mod scrub;
pub mod scrub_state;
pub mod shared;
pub mod slots;
pub mod store;
pub mod throttle;
pub mod verify;
pub mod workers;

pub use config::ChunkserverConfig;
pub use error::{ChunkserverError, StoreError};

use axum::serve::ListenerExt;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use trireme_api::config::ReadyFile;
use trireme_client::{MetaClient, Transport};

/// Serves the chunk RPC on `listener` until `shutdown` completes, then drains in-flight
/// requests, stops the workers and returns.
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
    if config.fault_injection {
        tracing::warn!("test-only fault injection is enabled");
    }
    let with_meta = !config.meta.is_empty();
    let reporter = Arc::new(report::Reporter::new(config.id, with_meta));
    let settings = store::StoreSettings {
        cluster_id: config.cluster.cluster_id.clone(),
        chunkserver: config.id,
        require_mounted_disks: config.require_mounted_disks,
        fault_injection: config.fault_injection,
    };
    let store = store::Store::open(settings, &config.disks, reporter.clone()).await;
    let store = Arc::new(store);
    let online = store.disks().iter().filter(|d| d.is_online()).count();
    let shared = Arc::new(shared::Shared::new(config.clone(), store, reporter.clone()));

    // Connections queue in the bound listener's backlog until `server` is polled below.
    if let Some(path) = &config.ready_file {
        write_ready_file(path, addr).await?;
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers: Vec<(&str, JoinHandle<()>)> = vec![
        (
            "health",
            tokio::spawn(health::run(shared.clone(), stop_rx.clone())),
        ),
        (
            "scrub",
            tokio::spawn(scrub::run(shared.clone(), stop_rx.clone())),
        ),
    ];
    if with_meta {
        let transport = Transport::new(config.cluster.clone(), Duration::from_secs(10));
        let client = MetaClient::new(transport, config.meta.clone(), Duration::from_secs(5));
        workers.extend([
            (
                "heartbeat",
                tokio::spawn(heartbeat::run(shared.clone(), addr, stop_rx.clone())),
            ),
            (
                "inventory",
                tokio::spawn(inventory::run(shared.clone(), stop_rx.clone())),
            ),
            (
                "report",
                tokio::spawn(reporter.run(client, stop_rx.clone())),
            ),
        ]);
    } else {
        tracing::warn!("no meta addresses configured; not sending heartbeats or reports");
    }

    let app = http::router(http::AppState::new(shared));
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
    for (name, task) in workers {
        if let Err(e) = task.await {
            tracing::error!(worker = name, error = %e, "worker panicked");
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
