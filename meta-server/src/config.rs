//! The meta-server's runtime config, validated from [`trireme_api::config::MetaConfigFile`].

use std::path::PathBuf;
use std::time::Duration;
use trireme_api::config::{ClusterSettings, MetaConfigFile};

#[derive(Clone, Debug)]
pub struct MetaConfig {
    pub cluster: ClusterSettings,
    pub node_id: u64,
    pub data_dir: PathBuf,
    pub chunkserver_timeout: Duration,
    pub raft_heartbeat: Duration,
    pub snapshot_every_logs: u64,
    /// Unreferenced chunk replicas younger than this are never deleted.
    pub gc_grace: Duration,
    /// Interval of the durability ledger sweep.
    pub ledger_sweep: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl TryFrom<&MetaConfigFile> for MetaConfig {
    type Error = ConfigError;

    fn try_from(f: &MetaConfigFile) -> Result<Self, ConfigError> {
        if f.cluster.secret.len() < 16 {
            return Err(ConfigError::Invalid(
                "cluster.secret must be at least 16 characters".into(),
            ));
        }
        if f.cluster.cluster_id.is_empty() {
            return Err(ConfigError::Invalid("cluster.cluster_id is empty".into()));
        }
        if f.raft_heartbeat_ms == 0 || f.raft_heartbeat_ms > 10_000 {
            return Err(ConfigError::Invalid(
                "raft_heartbeat_ms must be 1..=10000".into(),
            ));
        }
        if f.chunkserver_timeout_ms < 100 {
            return Err(ConfigError::Invalid(
                "chunkserver_timeout_ms must be at least 100".into(),
            ));
        }
        Ok(MetaConfig {
            cluster: f.cluster.clone(),
            node_id: f.node_id,
            data_dir: f.data_dir.clone(),
            chunkserver_timeout: Duration::from_millis(f.chunkserver_timeout_ms),
            raft_heartbeat: Duration::from_millis(f.raft_heartbeat_ms),
            snapshot_every_logs: f.snapshot_every_logs.max(10),
            gc_grace: Duration::from_millis(f.gc_grace_ms),
            ledger_sweep: Duration::from_millis(f.ledger_sweep_ms.max(100)),
        })
    }
}

impl MetaConfig {
    /// The openraft config derived from ours: elections after 4-5 missed heartbeats.
    ///
    /// openraft 0.9 derives its leader lease from `election_timeout_max`: a follower neither
    /// votes nor campaigns until the lease since it last heard from the leader has run out,
    /// and then waits an election timeout more. A leader's loss is therefore noticed after
    /// `max + [min, max]`: with 4-8 heartbeats (1-2 s at the default 250 ms) that was 3-4 s
    /// of unavailability in the torture runs; 4-5 makes it 2.25-2.5 s, with the same shortest
    /// timeout (so no more needless elections on a busy host) and a narrower random spread
    /// (split votes stay rare with 3 or 5 voters and are settled by the next round).
    pub fn raft_config(&self) -> Result<openraft::Config, ConfigError> {
        let hb = self.raft_heartbeat.as_millis() as u64;
        let config = openraft::Config {
            cluster_name: self.cluster.cluster_id.clone(),
            heartbeat_interval: hb,
            election_timeout_min: hb * 4,
            election_timeout_max: hb * 5,
            install_snapshot_timeout: 10_000,
            // The `snapshot` worker (snapshots.rs) triggers builds, scaled to the state's size.
            snapshot_policy: openraft::SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: (self.snapshot_every_logs / 2).min(1000),
            ..Default::default()
        };
        config
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }
}
