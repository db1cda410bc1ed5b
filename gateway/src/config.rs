//! The gateway's runtime config: [`GatewayConfigFile`] (the TOML format in trireme-api)
//! validated into typed units.

use crate::tls::TlsFiles;
use std::path::PathBuf;
use std::time::Duration;
use trireme_api::config::{ClusterSettings, GatewayConfigFile};

/// Smallest chunk size accepted (64 KiB): smaller chunks only add metadata and RPCs.
pub const MIN_CHUNK_SIZE: u64 = 64 * 1024;
/// Largest chunk size accepted (256 MiB): two chunks per request are held in memory.
pub const MAX_CHUNK_SIZE: u64 = 256 * 1024 * 1024;
/// Largest `inline_max_bytes` (a Raft entry carries the bytes).
pub use trireme_api::object::MAX_INLINE_BYTES;
/// Largest object a single PUT may carry (5 GiB, as in Amazon S3).
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// Validated gateway settings.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// Cluster id and internal secret, sent on every internal request.
    pub cluster: ClusterSettings,
    /// Address the S3 endpoint listens on (used by the binary only; `run` takes a listener).
    pub listen: String,
    /// Meta-server RPC addresses.
    pub meta: Vec<String>,
    /// Region reported by GetBucketLocation and HeadBucket.
    pub region: String,
    /// Base domain for virtual-hosted-style requests.
    pub domain: Option<String>,
    /// Bytes per chunk.
    pub chunk_size: u64,
    /// Replicas written per chunk, each on a distinct chunkserver.
    pub replicas: u32,
    /// Where to write the ready file once serving.
    pub ready_file: Option<PathBuf>,
    /// Upper bound on one metadata call including leader retries.
    pub meta_deadline: Duration,
    /// Per-request timeout of a metadata RPC.
    pub meta_timeout: Duration,
    /// Per-request timeout of a chunk transfer.
    pub chunk_timeout: Duration,
    /// How long a secret key looked up from the metadata is reused.
    pub key_cache_ttl: Duration,
    /// Largest single PUT accepted.
    pub max_put_size: u64,
    /// Attempts to place one chunk's replicas before failing the PUT.
    pub write_attempts: u32,
    /// How long a replica that failed a read is tried last.
    pub replica_penalty: Duration,
    /// How long a chunkserver that failed a write is left out of new placements.
    pub write_penalty: Duration,
    /// Serve HTTPS with this certificate and key; plain HTTP when absent.
    pub tls: Option<TlsFiles>,
    /// How long a bucket's owner and grants are reused by the authorization check.
    pub bucket_cache_ttl: Duration,
    /// A chunk read not answered within this is also sent to the next replica (hedged
    /// read); None disables hedging (`read_hedge_ms = 0`).
    pub read_hedge: Option<Duration>,
    /// Objects up to this size are stored inline in their metadata record (0: never).
    pub inline_max_bytes: u64,
    /// A connection must send a whole request head within this (from its start or the
    /// previous response); None disables.
    pub header_read_timeout: Option<Duration>,
    /// A request body that sends nothing for this long while awaited fails with
    /// RequestTimeout; None disables.
    pub body_idle_timeout: Option<Duration>,
}

impl GatewayConfig {
    /// Reads and validates a TOML config file.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: GatewayConfigFile =
            toml::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        Self::from_file(file)
    }

    /// Validates a parsed config file.
    pub fn from_file(file: GatewayConfigFile) -> Result<Self, ConfigError> {
        if file.meta.is_empty() {
            return Err(ConfigError::Invalid(
                "`meta` must name at least one meta-server".into(),
            ));
        }
        if file.cluster.cluster_id.is_empty() || file.cluster.secret.is_empty() {
            return Err(ConfigError::Invalid(
                "`cluster.cluster_id` and `cluster.secret` must be set".into(),
            ));
        }
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&file.chunk_size) {
            return Err(ConfigError::Invalid(format!(
                "`chunk_size` {} is outside {MIN_CHUNK_SIZE}..={MAX_CHUNK_SIZE}",
                file.chunk_size
            )));
        }
        if file.replicas == 0 || file.replicas > 16 {
            return Err(ConfigError::Invalid(format!(
                "`replicas` {} is outside 1..=16",
                file.replicas
            )));
        }
        if file.inline_max_bytes > MAX_INLINE_BYTES {
            return Err(ConfigError::Invalid(format!(
                "`inline_max_bytes` {} is above {MAX_INLINE_BYTES}",
                file.inline_max_bytes
            )));
        }
        if file.region.is_empty() {
            return Err(ConfigError::Invalid("`region` must not be empty".into()));
        }
        let tls = match (file.tls_cert, file.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "`tls_cert` and `tls_key` must be set together".into(),
                ))
            }
        };
        let domain = file.domain.filter(|d| !d.is_empty());
        if let Some(d) = &domain {
            if s3s::host::SingleDomain::new(d).is_err() {
                return Err(ConfigError::Invalid(format!(
                    "`domain` {d:?} is not a valid domain name"
                )));
            }
        }
        Ok(GatewayConfig {
            cluster: file.cluster,
            listen: file.listen,
            meta: file.meta,
            region: file.region,
            domain,
            chunk_size: file.chunk_size,
            replicas: file.replicas,
            ready_file: file.ready_file,
            meta_deadline: Duration::from_secs(10),
            meta_timeout: Duration::from_secs(5),
            chunk_timeout: Duration::from_secs(60),
            key_cache_ttl: Duration::from_secs(10),
            max_put_size: MAX_PUT_SIZE,
            write_attempts: 5,
            replica_penalty: Duration::from_secs(30),
            write_penalty: Duration::from_secs(10),
            tls,
            bucket_cache_ttl: crate::access::BUCKET_TTL,
            read_hedge: (file.read_hedge_ms > 0).then(|| Duration::from_millis(file.read_hedge_ms)),
            inline_max_bytes: file.inline_max_bytes,
            header_read_timeout: millis(file.header_read_timeout_ms),
            body_idle_timeout: millis(file.body_idle_timeout_ms),
        })
    }
}

/// `ms` milliseconds, None for 0.
fn millis(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> GatewayConfigFile {
        toml::from_str(
            r#"
            listen = "127.0.0.1:0"
            meta = ["127.0.0.1:1"]
            [cluster]
            cluster_id = "c"
            secret = "s"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn defaults_validate() {
        let c = GatewayConfig::from_file(file()).unwrap();
        assert_eq!(c.chunk_size, 4 * 1024 * 1024);
        assert_eq!(c.replicas, 3);
        assert_eq!(c.region, "us-east-1");
        assert!(c.domain.is_none());
        assert_eq!(c.read_hedge, Some(Duration::from_millis(500)));
        assert_eq!(c.header_read_timeout, Some(Duration::from_secs(20)));
        assert_eq!(c.body_idle_timeout, Some(Duration::from_secs(30)));
    }

    #[test]
    fn zero_timeouts_disable_them() {
        let mut f = file();
        f.header_read_timeout_ms = 0;
        f.body_idle_timeout_ms = 0;
        let c = GatewayConfig::from_file(f).unwrap();
        assert_eq!((c.header_read_timeout, c.body_idle_timeout), (None, None));
    }

    #[test]
    fn zero_hedge_delay_disables_hedging() {
        let mut f = file();
        f.read_hedge_ms = 0;
        assert_eq!(GatewayConfig::from_file(f).unwrap().read_hedge, None);
        let mut f = file();
        f.read_hedge_ms = 40;
        assert_eq!(
            GatewayConfig::from_file(f).unwrap().read_hedge,
            Some(Duration::from_millis(40))
        );
    }

    #[test]
    fn rejects_bad_values() {
        let mut f = file();
        f.chunk_size = 10;
        assert!(GatewayConfig::from_file(f).is_err());
        let mut f = file();
        f.replicas = 0;
        assert!(GatewayConfig::from_file(f).is_err());
        let mut f = file();
        f.meta.clear();
        assert!(GatewayConfig::from_file(f).is_err());
        let mut f = file();
        f.domain = Some("bad domain".into());
        assert!(GatewayConfig::from_file(f).is_err());
        let mut f = file();
        f.domain = Some(String::new());
        assert!(GatewayConfig::from_file(f).unwrap().domain.is_none());
    }

    #[test]
    fn tls_needs_both_files() {
        assert!(GatewayConfig::from_file(file()).unwrap().tls.is_none());
        let mut f = file();
        f.tls_cert = Some("c.pem".into());
        assert!(GatewayConfig::from_file(f).is_err());
        let mut f = file();
        f.tls_key = Some("k.pem".into());
        assert!(GatewayConfig::from_file(f).is_err());
        let mut f = file();
        f.tls_cert = Some("c.pem".into());
        f.tls_key = Some("k.pem".into());
        let tls = GatewayConfig::from_file(f).unwrap().tls.unwrap();
        assert_eq!(tls.cert, PathBuf::from("c.pem"));
        assert_eq!(tls.key, PathBuf::from("k.pem"));
    }
}
