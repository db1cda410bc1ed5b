//! Building the s3s service and serving it: our own accept loop (TCP_NODELAY on every
//! accepted socket), hyper HTTP/1.1 with keep-alive, and graceful shutdown.

use crate::auth::MetaAuth;
use crate::config::GatewayConfig;
use crate::pipeline::DataPath;
use crate::s3::names::{BucketNames, DomainHost};
use crate::s3::TriremeS3;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use s3s::service::{S3Service, S3ServiceBuilder};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use trireme_api::config::ReadyFile;
use trireme_client::{ChunkClient, MetaClient, Transport};

/// How long shutdown waits for open requests to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("invalid domain {0:?}")]
    Domain(String),
    #[error("cannot write the ready file {path}: {source}")]
    ReadyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("listener error: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the S3 service: auth against the metadata, our bucket naming rules, and
/// virtual-hosted-style addressing when a domain is configured.
pub fn build_service(config: &GatewayConfig) -> Result<S3Service, ServeError> {
    let meta_transport = Transport::new(config.cluster.clone(), config.meta_timeout);
    let chunk_transport = Transport::new(config.cluster.clone(), config.chunk_timeout);
    let meta = Arc::new(MetaClient::new(
        meta_transport,
        config.meta.clone(),
        config.meta_deadline,
    ));
    let data = DataPath::new(config, meta.clone(), ChunkClient::new(chunk_transport));
    let s3 = TriremeS3::new(config, meta.clone(), data);
    let mut builder = S3ServiceBuilder::new(s3);
    builder.set_auth(MetaAuth::new(meta, config.key_cache_ttl));
    builder.set_validation(BucketNames);
    if let Some(domain) = &config.domain {
        builder
            .set_host(DomainHost::new(domain).ok_or_else(|| ServeError::Domain(domain.clone()))?);
    }
    Ok(builder.build())
}

/// Serves the S3 endpoint on `listener` until `shutdown` completes, then stops accepting
/// and waits (bounded) for open connections to finish their requests. Writes the config's
/// ready file once accepting.
pub async fn run(
    config: GatewayConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let service = build_service(&config)?;
    let addr = listener.local_addr()?;
    if let Some(path) = &config.ready_file {
        write_ready_file(path, &addr.to_string())?;
    }
    tracing::info!(%addr, "S3 gateway serving");
    serve(listener, service, shutdown).await
}

/// The accept loop.
pub async fn serve(
    listener: TcpListener,
    service: S3Service,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::warn!(%peer, error = %e, "cannot set TCP_NODELAY");
                    }
                    let conn = http.serve_connection(TokioIo::new(stream), service.clone());
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(
        connections = graceful.count(),
        "shutting down, draining connections"
    );
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    Ok(())
}

/// Writes the ready file atomically (tmp + rename).
pub fn write_ready_file(path: &Path, addr: &str) -> Result<(), ServeError> {
    let err = |source| ServeError::ReadyFile {
        path: path.display().to_string(),
        source,
    };
    let ready = ReadyFile {
        addr: addr.to_string(),
        pid: std::process::id(),
    };
    let json = serde_json::to_vec(&ready).map_err(|e| err(std::io::Error::other(e)))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, json).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}
