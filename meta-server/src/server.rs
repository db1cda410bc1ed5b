//! `run`: open storage, start Raft, serve HTTP until shutdown, then stop Raft cleanly.

use crate::config::MetaConfig;
use crate::network::Network;
use crate::node::MetaNode;
use crate::store;
use axum::serve::ListenerExt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use trireme_client::Transport;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("storage: {0}")]
    Store(#[from] store::StoreError),
    #[error("config: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("raft: {0}")]
    Raft(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs one meta-server on `listener` until `shutdown` completes.
pub async fn run(
    config: MetaConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    std::fs::create_dir_all(&config.data_dir)?;
    let (_db, log, sm) = store::open(&config.data_dir)?;
    let reader = sm.reader();
    let transport = Transport::new(config.cluster.clone(), Duration::from_secs(10));
    let raft_config = Arc::new(config.raft_config()?);
    let raft = openraft::Raft::new(
        config.node_id,
        raft_config,
        Network::new(transport),
        log,
        sm,
    )
    .await
    .map_err(|e| ServerError::Raft(e.to_string()))?;
    let node = Arc::new(MetaNode::new(config, raft.clone(), reader));

    let watcher = {
        let node = node.clone();
        tokio::spawn(async move { node.watch_leadership().await })
    };
    let mut workers = crate::durability::spawn_workers(node.clone());
    workers.push(tokio::spawn(crate::snapshots::run(node.clone())));
    let app = crate::http::router(node.clone());
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    watcher.abort();
    for w in workers {
        w.abort();
    }
    if let Err(e) = raft.shutdown().await {
        tracing::warn!("raft shutdown: {e}");
    }
    served?;
    Ok(())
}
