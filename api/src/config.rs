//! The TOML config file of each server. `trireme up` writes them; each server's binary reads
//! one with `--config FILE` and validates it into its typed runtime config. Every server writes
//! `ready_file` (JSON [`ReadyFile`], atomically) once it is listening, so a supervisor or test
//! learns the port it bound without sleeping.

use crate::ids::{ChunkserverId, NodeId};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What a server writes to its `ready_file` once it serves requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyFile {
    /// The address it actually bound (useful with port 0).
    pub addr: String,
    pub pid: u32,
}

/// Settings every server shares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSettings {
    /// The cluster's id; internal requests from another cluster are refused.
    pub cluster_id: String,
    /// Shared secret authenticating every internal request.
    pub secret: String,
}

/// `trireme-meta --config FILE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaConfigFile {
    pub cluster: ClusterSettings,
    /// This node's Raft id, unique in the cluster.
    pub node_id: NodeId,
    /// Address to listen on for Raft and metadata RPC, e.g. "127.0.0.1:0".
    pub listen: String,
    /// RocksDB directory (log and state machine).
    pub data_dir: PathBuf,
    #[serde(default)]
    pub ready_file: Option<PathBuf>,
    /// A chunkserver without a heartbeat for this long is treated as down (ms).
    #[serde(default = "default_chunkserver_timeout_ms")]
    pub chunkserver_timeout_ms: u64,
    /// Raft heartbeat interval (ms); election timeouts are 4-5x this.
    #[serde(default = "default_raft_heartbeat_ms")]
    pub raft_heartbeat_ms: u64,
    /// Build a snapshot (and purge the log) after at least this many applied entries; with a
    /// large state, after half as many entries as the state has records.
    #[serde(default = "default_snapshot_logs")]
    pub snapshot_every_logs: u64,
    /// An unreferenced chunk replica is deleted only once it is this old (ms): a PUT must
    /// commit within this time of writing its first chunk.
    #[serde(default = "default_gc_grace_ms")]
    pub gc_grace_ms: u64,
    /// Interval of the durability ledger sweep (ms): how often the leader recounts every
    /// chunk's healthy replicas and queues repairs. State changes trigger a sweep at once.
    #[serde(default = "default_ledger_sweep_ms")]
    pub ledger_sweep_ms: u64,
}

fn default_ledger_sweep_ms() -> u64 {
    10_000
}

fn default_gc_grace_ms() -> u64 {
    6 * 3600 * 1000
}

fn default_chunkserver_timeout_ms() -> u64 {
    10_000
}
fn default_raft_heartbeat_ms() -> u64 {
    250
}
fn default_snapshot_logs() -> u64 {
    10_000
}

/// `trireme-chunkserver --config FILE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkserverConfigFile {
    pub cluster: ClusterSettings,
    pub id: ChunkserverId,
    /// Address to listen on for chunk data RPC, e.g. "127.0.0.1:0".
    pub listen: String,
    /// Meta-server RPC addresses (any member; the client finds the leader).
    pub meta: Vec<String>,
    /// Data directories, one per disk. An empty directory is formatted with a new identity.
    pub disks: Vec<PathBuf>,
    #[serde(default)]
    pub ready_file: Option<PathBuf>,
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: u64,
    /// Interval between inventory reports (garbage collection of unreferenced chunks), ms.
    #[serde(default = "default_inventory_ms")]
    pub inventory_ms: u64,
    /// Interval between disk health probes (write + fsync + read back), ms.
    #[serde(default = "default_health_ms")]
    pub health_ms: u64,
    /// A disk is failed after this many failed probes in a row (EIO, EROFS, timeout).
    #[serde(default = "default_fail_after")]
    pub disk_fail_after: u32,
    /// A probe slower than this (ms) makes the disk suspect (fail-slow), as does a probe
    /// latency far above the other disks'.
    #[serde(default = "default_slow_probe_ms")]
    pub slow_probe_ms: u64,
    /// Take a blank disk slot into service only when a filesystem of its own is mounted on
    /// it (so an unmounted slot's empty directory on the root filesystem is never formatted).
    /// Off for directory-backed clusters such as `trireme up`'s.
    #[serde(default)]
    pub require_mounted_disks: bool,
}

fn default_health_ms() -> u64 {
    5_000
}
fn default_fail_after() -> u32 {
    2
}
fn default_slow_probe_ms() -> u64 {
    2_000
}

fn default_inventory_ms() -> u64 {
    60_000
}

fn default_heartbeat_ms() -> u64 {
    1000
}

/// `trireme-gateway --config FILE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayConfigFile {
    pub cluster: ClusterSettings,
    /// Address for the S3 endpoint, e.g. "127.0.0.1:9000".
    pub listen: String,
    pub meta: Vec<String>,
    /// Region name reported by GetBucketLocation; SigV4 credential scopes must name it.
    #[serde(default = "default_region")]
    pub region: String,
    /// Base domain for virtual-hosted-style requests (`bucket.DOMAIN`), if any.
    #[serde(default)]
    pub domain: Option<String>,
    /// Chunk size in bytes.
    #[serde(default = "default_chunk_size")]
    pub chunk_size: u64,
    /// Replicas per chunk.
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    #[serde(default)]
    pub ready_file: Option<PathBuf>,
    /// PEM certificate chain: with `tls_key`, the S3 endpoint serves HTTPS instead of HTTP.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `tls_cert`.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// A chunk read whose replica has not answered within this many ms is also sent to the
    /// next replica (hedged read); the first verified answer wins.
    #[serde(default = "default_read_hedge_ms")]
    pub read_hedge_ms: u64,
    /// Objects up to this many bytes are stored inline in their metadata record (replicated
    /// by Raft) instead of in chunks; 0 stores every object in chunks. At most 1 MiB.
    #[serde(default = "default_inline_max_bytes")]
    pub inline_max_bytes: u64,
    /// A connection that has not sent a whole request head within this many ms of starting
    /// it, or of its previous response (keep-alive), is closed: slowloris clients hold no
    /// connection longer than this. 0 disables.
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// A request whose body delivers no byte for this many ms while the gateway waits for it
    /// fails with 400 RequestTimeout and its connection is closed (slow bodies). 0 disables.
    #[serde(default = "default_body_idle_timeout_ms")]
    pub body_idle_timeout_ms: u64,
}

fn default_header_read_timeout_ms() -> u64 {
    20_000
}

fn default_body_idle_timeout_ms() -> u64 {
    30_000
}

fn default_read_hedge_ms() -> u64 {
    500
}

fn default_inline_max_bytes() -> u64 {
    16 * 1024
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_chunk_size() -> u64 {
    4 * 1024 * 1024
}
fn default_replicas() -> u32 {
    3
}
