//! Building the s3s service and serving it: our own accept loop (TCP_NODELAY on every
//! accepted socket), optional TLS, hyper HTTP/1.1 with keep-alive, and graceful shutdown.

use crate::access::BucketAccess;
use crate::auth::{KeyCache, MetaAuth};
use crate::config::GatewayConfig;
use crate::guard::Guarded;
use crate::metrics::Metrics;
use crate::pipeline::DataPath;
use crate::s3::names::{BucketNames, DomainHost};
use crate::s3::TriremeS3;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use s3s::service::{S3Service, S3ServiceBuilder};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
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
    #[error("TLS setup failed: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("listener error: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the S3 service: authentication and authorization against the metadata, our bucket
/// naming rules, and virtual-hosted-style addressing when a domain is configured.
pub fn build_service(
    config: &GatewayConfig,
    metrics: Arc<Metrics>,
) -> Result<S3Service, ServeError> {
    let meta_transport = Transport::new(config.cluster.clone(), config.meta_timeout);
    let chunk_transport = Transport::new(config.cluster.clone(), config.chunk_timeout);
    let meta = Arc::new(MetaClient::new(
        meta_transport,
        config.meta.clone(),
        config.meta_deadline,
    ));
    let data = DataPath::new(
        config,
        meta.clone(),
        ChunkClient::new(chunk_transport),
        metrics,
    );
    let s3 = TriremeS3::new(config, meta.clone(), data);
    let mut builder = S3ServiceBuilder::new(s3);
    let keys = Arc::new(KeyCache::new(meta.clone(), config.key_cache_ttl));
    builder.set_auth(MetaAuth::new(keys.clone()));
    builder.set_access(BucketAccess::new(meta, keys, config.bucket_cache_ttl));
    builder.set_validation(BucketNames);
    if let Some(domain) = &config.domain {
        builder
            .set_host(DomainHost::new(domain).ok_or_else(|| ServeError::Domain(domain.clone()))?);
    }
    Ok(builder.build())
}

/// Serves the S3 endpoint on `listener` (HTTPS when the config names a certificate), and
/// the unsigned `GET /metrics` scrape on the same listener, until
/// `shutdown` completes, then stops accepting and waits (bounded) for open connections to
/// finish their requests. Writes the config's ready file once accepting.
pub async fn run(
    config: GatewayConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let metrics = Metrics::new();
    let service = Guarded::new(
        build_service(&config, metrics.clone())?,
        metrics,
        &config.region,
        config.body_idle_timeout,
    );
    let tls = config.tls.as_ref().map(crate::tls::acceptor).transpose()?;
    let addr = listener.local_addr()?;
    if let Some(path) = &config.ready_file {
        write_ready_file(path, &addr.to_string())?;
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, "S3 gateway serving");
    serve(listener, service, tls, config.header_read_timeout, shutdown).await
}

/// The accept loop; with `tls`, each connection is a TLS session. A connection that does
/// not send a whole request head within `header_read_timeout` (from its start, or from the
/// previous response) is closed.
pub async fn serve(
    listener: TcpListener,
    service: Guarded,
    tls: Option<TlsAcceptor>,
    header_read_timeout: Option<Duration>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::warn!(%peer, error = %e, "cannot set TCP_NODELAY");
                    }
                    spawn_connection(stream, tls.as_ref(), &http, &service, &graceful);
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

/// Serves one accepted connection on its own task, watched by the graceful shutdown.
fn spawn_connection(
    stream: TcpStream,
    tls: Option<&TlsAcceptor>,
    http: &hyper::server::conn::http1::Builder,
    service: &Guarded,
    graceful: &GracefulShutdown,
) {
    let (http, service, watcher) = (http.clone(), service.clone(), graceful.watcher());
    match tls {
        None => tokio::spawn(serve_plain(stream, http, service, watcher)),
        Some(tls) => tokio::spawn(serve_tls(stream, tls.clone(), http, service, watcher)),
    };
}

/// One plain HTTP/1.1 connection.
async fn serve_plain(
    stream: TcpStream,
    http: hyper::server::conn::http1::Builder,
    service: Guarded,
    watcher: Watcher,
) {
    let peer = stream.peer_addr().ok();
    let conn = watcher.watch(http.serve_connection(TokioIo::new(stream), service));
    if let Err(e) = conn.await {
        tracing::debug!(?peer, error = %e, "connection ended with an error");
    }
}

/// One TLS connection: the handshake (bounded by [`crate::tls::HANDSHAKE_TIMEOUT`]), then
/// HTTP/1.1 over the session.
async fn serve_tls(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    http: hyper::server::conn::http1::Builder,
    service: Guarded,
    watcher: Watcher,
) {
    let peer = stream.peer_addr().ok();
    let tls =
        match tokio::time::timeout(crate::tls::HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(?peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(?peer, "TLS handshake timed out");
                return;
            }
        };
    let conn = watcher.watch(http.serve_connection(TokioIo::new(tls), service));
    if let Err(e) = conn.await {
        tracing::debug!(?peer, error = %e, "connection ended with an error");
    }
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
