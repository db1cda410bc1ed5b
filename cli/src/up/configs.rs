//! The files `trireme up` writes: the data-directory layout, each process's TOML config (the
//! formats of [`trireme_api::config`]), and atomic writes.
//!
//! Layout of a data directory:
//! ```text
//! DIR/cluster.json
//! DIR/meta-N/{config.toml, ready.json, log, db/}
//! DIR/chunkserver-N/{config.toml, ready.json, log, disk-0/, disk-1/, ...}
//! DIR/gateway-1/{config.toml, ready.json, log}
//! ```

use crate::cli::UpArgs;
use anyhow::{anyhow, Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use trireme_api::cluster_file::ProcessInfo;
use trireme_api::config::{
    ChunkserverConfigFile, ClusterSettings, GatewayConfigFile, MetaConfigFile,
};

pub const DEFAULT_S3_ADDR: &str = "127.0.0.1:9000";
pub const DEFAULT_REGION: &str = "us-east-1";

/// The kind of a child process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Meta,
    Chunkserver,
    Gateway,
}

impl Role {
    /// The name used in `cluster.json` and directory names.
    pub fn name(self) -> &'static str {
        match self {
            Role::Meta => "meta",
            Role::Chunkserver => "chunkserver",
            Role::Gateway => "gateway",
        }
    }

    /// How start-up messages name `n` of them.
    pub fn count(self, n: usize) -> String {
        let noun = match self {
            Role::Meta => "meta-server",
            Role::Chunkserver => "chunkserver",
            Role::Gateway => "gateway",
        };
        format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
    }

    /// The server binary's file name.
    pub fn binary(self) -> &'static str {
        match self {
            Role::Meta => "trireme-meta",
            Role::Chunkserver => "trireme-chunkserver",
            Role::Gateway => "trireme-gateway",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Meta, Role::Chunkserver, Role::Gateway]
            .into_iter()
            .find(|r| r.name() == s)
    }
}

/// The shape of a new cluster: `trireme up` flags with defaults applied. Timeouts left unset
/// take the servers' own defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub s3_addr: String,
    pub metas: u64,
    pub chunkservers: u64,
    pub disks: u64,
    pub chunk_size: Option<u64>,
    pub chunkserver_timeout_ms: Option<u64>,
    pub heartbeat_ms: Option<u64>,
    pub replicas: u32,
    pub gc_grace_ms: Option<u64>,
    pub inventory_ms: Option<u64>,
    pub health_ms: Option<u64>,
    pub ledger_sweep_ms: Option<u64>,
}

impl Settings {
    pub fn from_args(a: &UpArgs) -> Result<Self> {
        let s = Settings {
            s3_addr: a
                .s3_addr
                .clone()
                .unwrap_or_else(|| DEFAULT_S3_ADDR.to_string()),
            metas: a.meta.unwrap_or(3),
            chunkservers: a.chunkservers.unwrap_or(4),
            disks: a.disks.unwrap_or(2),
            chunk_size: a.chunk_size,
            chunkserver_timeout_ms: a.chunkserver_timeout_ms,
            heartbeat_ms: a.heartbeat_ms,
            replicas: a.replicas.unwrap_or(3),
            gc_grace_ms: a.gc_grace_ms,
            inventory_ms: a.inventory_ms,
            health_ms: a.health_ms,
            ledger_sweep_ms: a.ledger_sweep_ms,
        };
        if u64::from(s.replicas) > s.chunkservers {
            return Err(anyhow!(
                "--replicas {} needs at least as many chunkservers (--chunkservers {})",
                s.replicas,
                s.chunkservers
            ));
        }
        if s.s3_addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(anyhow!(
                "--s3-addr {:?} is not an IP:PORT address",
                s.s3_addr
            ));
        }
        Ok(s)
    }
}

/// One child process: where its files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSpec {
    pub role: Role,
    pub id: u64,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub ready_file: PathBuf,
    pub log: PathBuf,
    /// Chunkservers: their disk directories.
    pub disks: Vec<PathBuf>,
}

impl ProcessSpec {
    /// The standard layout for a new process under `data_dir`.
    pub fn new(data_dir: &Path, role: Role, id: u64, disks: u64) -> Self {
        let dir = data_dir.join(format!("{}-{id}", role.name()));
        let disks = (0..disks).map(|k| dir.join(format!("disk-{k}"))).collect();
        ProcessSpec {
            role,
            id,
            config: dir.join("config.toml"),
            ready_file: dir.join("ready.json"),
            log: dir.join("log"),
            disks,
            dir,
        }
    }

    /// The spec of a process recorded in `cluster.json`; the ready file comes from its config.
    pub fn from_info(info: &ProcessInfo) -> Result<Self> {
        let role = Role::parse(&info.role)
            .ok_or_else(|| anyhow!("unknown process role {:?}", info.role))?;
        let table = read_toml_table(&info.config)?;
        let ready_file = table
            .get("ready_file")
            .and_then(|v| v.as_str())
            .map(PathBuf::from)
            .ok_or_else(|| anyhow!("{} has no ready_file", info.config.display()))?;
        let dir = info
            .config
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(ProcessSpec {
            role,
            id: info.id,
            config: info.config.clone(),
            ready_file,
            log: dir.join("log"),
            disks: info.disks.clone(),
            dir,
        })
    }

    /// `meta-2`, `chunkserver-4`, `gateway-1`.
    pub fn label(&self) -> String {
        format!("{}-{}", self.role.name(), self.id)
    }
}

/// A new random cluster id (64 bits) and secret (256 bits), as hex.
pub fn new_cluster_settings() -> ClusterSettings {
    ClusterSettings {
        cluster_id: hex::encode(rand::random::<[u8; 8]>()),
        secret: hex::encode(rand::random::<[u8; 32]>()),
    }
}

/// Builds a config from JSON so that fields left out take the serde defaults of the api
/// structs (the servers' own defaults).
fn from_json<T: DeserializeOwned>(mut v: serde_json::Value) -> Result<T> {
    if let serde_json::Value::Object(map) = &mut v {
        map.retain(|_, value| !value.is_null());
    }
    serde_json::from_value(v).context("building a config file")
}

pub fn meta_config(
    spec: &ProcessSpec,
    cluster: &ClusterSettings,
    s: &Settings,
) -> Result<MetaConfigFile> {
    from_json(serde_json::json!({
        "cluster": cluster,
        "node_id": spec.id,
        "listen": "127.0.0.1:0",
        "data_dir": spec.dir.join("db"),
        "ready_file": spec.ready_file,
        "chunkserver_timeout_ms": s.chunkserver_timeout_ms,
        "gc_grace_ms": s.gc_grace_ms,
        "ledger_sweep_ms": s.ledger_sweep_ms,
    }))
}

pub fn chunkserver_config(
    spec: &ProcessSpec,
    cluster: &ClusterSettings,
    meta: &[String],
    s: &Settings,
) -> Result<ChunkserverConfigFile> {
    from_json(serde_json::json!({
        "cluster": cluster,
        "id": spec.id,
        "listen": "127.0.0.1:0",
        "meta": meta,
        "disks": spec.disks,
        "ready_file": spec.ready_file,
        "heartbeat_ms": s.heartbeat_ms,
        "inventory_ms": s.inventory_ms,
        "health_ms": s.health_ms,
    }))
}

pub fn gateway_config(
    spec: &ProcessSpec,
    cluster: &ClusterSettings,
    meta: &[String],
    s: &Settings,
) -> Result<GatewayConfigFile> {
    from_json(serde_json::json!({
        "cluster": cluster,
        "listen": s.s3_addr,
        "meta": meta,
        "region": DEFAULT_REGION,
        "chunk_size": s.chunk_size,
        "replicas": s.replicas,
        "ready_file": spec.ready_file,
    }))
}

/// Writes a config as TOML, atomically.
pub fn write_toml<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = toml::to_string(value).with_context(|| format!("encoding {}", path.display()))?;
    write_atomic(path, text.as_bytes())
}

fn read_toml_table(path: &Path) -> Result<toml::Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.parse::<toml::Table>()
        .with_context(|| format!("parsing {}", path.display()))
}

/// Rewrites a config's `listen` with the address the process actually bound, so that a
/// restart binds the same port. Other fields are kept as they are.
pub fn set_listen(role: Role, path: &Path, addr: &str) -> Result<()> {
    match role {
        Role::Meta => relisten::<MetaConfigFile>(path, addr, |c| &mut c.listen),
        Role::Chunkserver => relisten::<ChunkserverConfigFile>(path, addr, |c| &mut c.listen),
        Role::Gateway => relisten::<GatewayConfigFile>(path, addr, |c| &mut c.listen),
    }
}

fn relisten<T: Serialize + DeserializeOwned>(
    path: &Path,
    addr: &str,
    listen: fn(&mut T) -> &mut String,
) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut config: T =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if listen(&mut config) == addr {
        return Ok(());
    }
    *listen(&mut config) = addr.to_string();
    write_toml(path, &config)
}

/// Writes `bytes` to `path` via a temporary file, fsync and rename, then fsyncs the directory.
/// The file is readable by its owner only: configs and `cluster.json` hold the secret.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_args(&UpArgs::default()).expect("defaults are valid")
    }

    #[test]
    fn defaults() {
        let s = settings();
        assert_eq!((s.metas, s.chunkservers, s.disks, s.replicas), (3, 4, 2, 3));
        assert_eq!(s.s3_addr, DEFAULT_S3_ADDR);
        let bad = UpArgs {
            replicas: Some(3),
            chunkservers: Some(2),
            ..Default::default()
        };
        assert!(Settings::from_args(&bad).is_err());
        let bad = UpArgs {
            s3_addr: Some("localhost".into()),
            ..Default::default()
        };
        assert!(Settings::from_args(&bad).is_err());
    }

    #[test]
    fn layout() {
        let p = ProcessSpec::new(Path::new("/d"), Role::Chunkserver, 3, 2);
        assert_eq!(p.config, PathBuf::from("/d/chunkserver-3/config.toml"));
        assert_eq!(p.ready_file, PathBuf::from("/d/chunkserver-3/ready.json"));
        assert_eq!(p.log, PathBuf::from("/d/chunkserver-3/log"));
        assert_eq!(
            p.disks,
            vec![
                PathBuf::from("/d/chunkserver-3/disk-0"),
                PathBuf::from("/d/chunkserver-3/disk-1")
            ]
        );
        assert_eq!(p.label(), "chunkserver-3");
        assert!(ProcessSpec::new(Path::new("/d"), Role::Meta, 1, 0)
            .disks
            .is_empty());
        assert_eq!(Role::parse("gateway"), Some(Role::Gateway));
        assert_eq!(Role::parse("x"), None);
        assert_eq!(Role::Gateway.count(1), "1 gateway");
        assert_eq!(Role::Meta.count(3), "3 meta-servers");
    }

    #[test]
    fn configs_round_trip_through_toml_and_keep_server_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cluster = new_cluster_settings();
        assert_eq!(cluster.cluster_id.len(), 16);
        assert_eq!(cluster.secret.len(), 64);
        let mut s = settings();
        s.heartbeat_ms = Some(100);

        let m = ProcessSpec::new(dir.path(), Role::Meta, 2, 0);
        let mc = meta_config(&m, &cluster, &s).expect("meta config");
        assert_eq!(mc.node_id, 2);
        assert_eq!(mc.data_dir, dir.path().join("meta-2/db"));
        assert_eq!(mc.chunkserver_timeout_ms, 10_000, "server default kept");
        std::fs::create_dir_all(&m.dir).expect("mkdir");
        write_toml(&m.config, &mc).expect("write");
        set_listen(Role::Meta, &m.config, "127.0.0.1:4567").expect("set listen");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&m.config).expect("stat").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "configs hold the secret");
        let back: MetaConfigFile =
            toml::from_str(&std::fs::read_to_string(&m.config).expect("read")).expect("parse");
        assert_eq!(back.listen, "127.0.0.1:4567");
        assert_eq!(
            MetaConfigFile {
                listen: mc.listen.clone(),
                ..back
            },
            mc
        );

        let c = ProcessSpec::new(dir.path(), Role::Chunkserver, 1, 2);
        let meta = vec!["127.0.0.1:1".to_string()];
        let cc = chunkserver_config(&c, &cluster, &meta, &s).expect("cs config");
        assert_eq!(
            (cc.heartbeat_ms, cc.disks.len(), cc.meta.clone()),
            (100, 2, meta.clone())
        );

        let g = ProcessSpec::new(dir.path(), Role::Gateway, 1, 0);
        let gc = gateway_config(&g, &cluster, &meta, &s).expect("gw config");
        assert_eq!(
            (gc.listen.as_str(), gc.replicas, gc.chunk_size),
            (DEFAULT_S3_ADDR, 3, 4 << 20)
        );
        assert_eq!(gc.region, DEFAULT_REGION);
    }

    #[test]
    fn spec_from_cluster_file_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = ProcessSpec::new(dir.path(), Role::Gateway, 1, 0);
        std::fs::create_dir_all(&spec.dir).expect("mkdir");
        let gc = gateway_config(&spec, &new_cluster_settings(), &[], &settings()).expect("config");
        write_toml(&spec.config, &gc).expect("write");
        let info = ProcessInfo {
            role: "gateway".into(),
            id: 1,
            addr: "127.0.0.1:9000".into(),
            pid: 1,
            config: spec.config.clone(),
            disks: vec![],
        };
        assert_eq!(ProcessSpec::from_info(&info).expect("spec"), spec);
    }
}
