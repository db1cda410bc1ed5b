//! Two-stage config: the TOML [`ChunkserverConfigFile`] (in `trireme-api`) is validated into
//! the typed [`ChunkserverConfig`] the server runs with.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trireme_api::config::{ChunkserverConfigFile, ClusterSettings};
use trireme_api::ids::ChunkserverId;

/// Why a config file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The validated runtime config of one chunkserver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkserverConfig {
    /// Cluster id and secret; every request must carry both.
    pub cluster: ClusterSettings,
    /// This chunkserver's id, unique in the cluster.
    pub id: ChunkserverId,
    /// Address the binary binds (the library is handed a bound listener).
    pub listen: String,
    /// Meta-server addresses for heartbeats; empty runs without heartbeats (tests).
    pub meta: Vec<String>,
    /// One data directory per disk, in config order, without duplicates.
    pub disks: Vec<PathBuf>,
    /// Where to write the [`trireme_api::config::ReadyFile`] once serving.
    pub ready_file: Option<PathBuf>,
    /// Interval between heartbeats to the meta leader.
    pub heartbeat: Duration,
    /// Interval between inventory reports (garbage collection).
    pub inventory: Duration,
    /// Interval between health probes of each disk.
    pub health: Duration,
    /// A disk is failed after this many failed probes in a row.
    pub disk_fail_after: u32,
    /// A probe slower than this makes the disk suspect (fail-slow).
    pub slow_probe: Duration,
    /// Take a blank slot into service only when a filesystem of its own is mounted on it
    /// (see [`crate::slots`]); off for directory-backed clusters.
    pub require_mounted_disks: bool,
    /// Test-only fault injection (see [`crate::fault`]); the binary sets it from the
    /// `TRIREME_FAULT_INJECTION=1` environment variable, never from the config file.
    pub fault_injection: bool,
}

impl ChunkserverConfig {
    /// Reads and validates a TOML config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: ChunkserverConfigFile =
            toml::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        Self::from_file(file)
    }

    /// Validates a parsed config file.
    pub fn from_file(file: ChunkserverConfigFile) -> Result<Self, ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if file.cluster.cluster_id.is_empty() {
            return invalid("cluster.cluster_id is empty");
        }
        if file.cluster.secret.is_empty() {
            return invalid("cluster.secret is empty");
        }
        if file.listen.trim().is_empty() {
            return invalid("listen is empty");
        }
        if file.disks.is_empty() {
            return invalid("disks is empty: a chunkserver needs at least one data directory");
        }
        let mut seen = BTreeSet::new();
        for d in &file.disks {
            if d.as_os_str().is_empty() {
                return invalid("a disk path is empty");
            }
            if !seen.insert(d.clone()) {
                return Err(ConfigError::Invalid(format!(
                    "disk {} is listed twice",
                    d.display()
                )));
            }
        }
        if file.meta.iter().any(|m| m.trim().is_empty()) {
            return invalid("a meta address is empty");
        }
        if file.heartbeat_ms == 0 {
            return invalid("heartbeat_ms must be positive");
        }
        if file.health_ms == 0 {
            return invalid("health_ms must be positive");
        }
        if file.disk_fail_after == 0 {
            return invalid("disk_fail_after must be at least 1");
        }
        if file.slow_probe_ms == 0 {
            return invalid("slow_probe_ms must be positive");
        }
        Ok(ChunkserverConfig {
            cluster: file.cluster,
            id: file.id,
            listen: file.listen,
            meta: file.meta,
            disks: file.disks,
            ready_file: file.ready_file,
            heartbeat: Duration::from_millis(file.heartbeat_ms),
            inventory: Duration::from_millis(file.inventory_ms.max(100)),
            health: Duration::from_millis(file.health_ms.max(10)),
            disk_fail_after: file.disk_fail_after,
            slow_probe: Duration::from_millis(file.slow_probe_ms),
            require_mounted_disks: file.require_mounted_disks,
            fault_injection: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> ChunkserverConfigFile {
        toml::from_str(
            r#"
            id = 3
            listen = "127.0.0.1:0"
            meta = ["127.0.0.1:7000"]
            disks = ["/tmp/a", "/tmp/b"]
            [cluster]
            cluster_id = "c1"
            secret = "s"
            "#,
        )
        .expect("parse")
    }

    #[test]
    fn valid_file_with_defaults() {
        let c = ChunkserverConfig::from_file(file()).expect("valid");
        assert_eq!(c.id, 3);
        assert_eq!(c.heartbeat, Duration::from_millis(1000));
        assert_eq!(c.disks.len(), 2);
        assert_eq!(c.ready_file, None);
        assert_eq!(c.health, Duration::from_millis(5000));
        assert_eq!(c.disk_fail_after, 2);
        assert_eq!(c.slow_probe, Duration::from_millis(2000));
        assert!(!c.fault_injection);
        assert!(!c.require_mounted_disks);
        let mut f = file();
        f.require_mounted_disks = true;
        assert!(
            ChunkserverConfig::from_file(f)
                .expect("valid")
                .require_mounted_disks
        );
    }

    #[test]
    fn refuses_bad_files() {
        let mut f = file();
        f.disks.clear();
        assert!(ChunkserverConfig::from_file(f).is_err());
        let mut f = file();
        f.disks.push("/tmp/a".into());
        assert!(ChunkserverConfig::from_file(f).is_err());
        let mut f = file();
        f.cluster.secret.clear();
        assert!(ChunkserverConfig::from_file(f).is_err());
        let mut f = file();
        f.heartbeat_ms = 0;
        assert!(ChunkserverConfig::from_file(f).is_err());
        let mut f = file();
        f.disk_fail_after = 0;
        assert!(ChunkserverConfig::from_file(f).is_err());
        let mut f = file();
        f.health_ms = 0;
        assert!(ChunkserverConfig::from_file(f).is_err());
    }
}
