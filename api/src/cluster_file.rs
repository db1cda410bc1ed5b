//! `cluster.json`: written by `trireme up` into its data directory, read by the CLI, scripts
//! and tests to find the cluster. Versioned.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub const CLUSTER_FILE_NAME: &str = "cluster.json";
pub const CLUSTER_FILE_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterFile {
    pub version: u32,
    pub cluster_id: String,
    /// Internal cluster secret: the servers' credential. The CLI does not use it for admin
    /// commands (it sends an operator token, see [`crate::admin`]).
    pub secret: String,
    /// S3 endpoint URL, e.g. `http://127.0.0.1:9000`.
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// Meta-server RPC addresses.
    pub meta: Vec<String>,
    pub processes: Vec<ProcessInfo>,
    /// Operator token with the `admin` role, created with the cluster: the CLI's default
    /// credential. Absent in files written before operator tokens existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    /// Operator token with the `reader` role (status and listings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader_token: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// "meta", "chunkserver" or "gateway".
    pub role: String,
    pub id: u64,
    pub addr: String,
    pub pid: u32,
    /// The config file the process was started with (restart it with `--config`).
    pub config: PathBuf,
    /// Chunkservers: their disk directories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<PathBuf>,
}
