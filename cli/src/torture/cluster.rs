//! The torture cluster: 3 meta-servers (and a spare one, idle until a membership change adds
//! it), 4 chunkservers (2 disks each) and 1 or 2 gateways, each in its own network namespace
//! with a fixed address, configs written with the api config types. Dropping a [`Cluster`]
//! kills every process and removes the network.
//!
//! Layout of the run directory: `DIR/NODE/{config.toml, ready.json, log, db/ or disk-N/}` with
//! NODE `m1`..`m4`, `c1`..`c4`, `g1`..`g2`.
//! Each chunkserver's `disk-N/` is a loop-mounted file system whose image is in
//! `DIR/images/` (see `disks`).

use super::net::{Network, SUBNET_PREFIX};
use super::procs::Node;
use crate::up::configs::{write_toml, Role};
use crate::up::process::Binaries;
use anyhow::{anyhow, Context, Result};
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use trireme_api::config::{
    ChunkserverConfigFile, ClusterSettings, GatewayConfigFile, MetaConfigFile,
};

pub const METAS: u64 = 3;
/// Meta-servers beyond the initial voters, idle until a membership change adds them.
pub const SPARE_METAS: u64 = 1;
pub const CHUNKSERVERS: u64 = 4;
pub const DISKS: u64 = 2;
pub const REPLICAS: u32 = 3;
/// Small chunks, so that modest objects span several.
pub const CHUNK_SIZE: u64 = 64 * 1024;
pub const META_PORT: u16 = 7000;
pub const CHUNKSERVER_PORT: u16 = 7100;
pub const GATEWAY_PORT: u16 = 9000;

/// Where one node lives: its name, role, id, address and directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub role: Role,
    pub id: u64,
    pub ip: String,
    pub port: u16,
    pub dir: PathBuf,
}

impl NodeSpec {
    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }
}

/// Every node of a cluster with `gateways` gateways under `dir`.
pub fn layout(dir: &Path, gateways: u64) -> Vec<NodeSpec> {
    let mut out = Vec::new();
    let mut add = |role: Role, n: u64, letter: char, base: u64, port: u16| {
        for id in 1..=n {
            let name = format!("{letter}{id}");
            out.push(NodeSpec {
                dir: dir.join(&name),
                name,
                role,
                id,
                ip: format!("{SUBNET_PREFIX}.{}", base + id),
                port,
            });
        }
    };
    add(Role::Meta, METAS + SPARE_METAS, 'm', 10, META_PORT);
    add(Role::Chunkserver, CHUNKSERVERS, 'c', 20, CHUNKSERVER_PORT);
    add(Role::Gateway, gateways, 'g', 30, GATEWAY_PORT);
    out
}

fn from_json<T: DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    serde_json::from_value(v).context("building a config")
}

/// The config file of one node, as TOML text (fast timeouts so that faults show quickly).
pub fn config_toml(spec: &NodeSpec, cluster: &ClusterSettings, meta: &[String]) -> Result<String> {
    let ready = spec.dir.join("ready.json");
    let text = match spec.role {
        Role::Meta => toml::to_string(&from_json::<MetaConfigFile>(serde_json::json!({
            "cluster": cluster,
            "node_id": spec.id,
            "listen": spec.addr(),
            "data_dir": spec.dir.join("db"),
            "ready_file": ready,
            "chunkserver_timeout_ms": 3000,
            "ledger_sweep_ms": 2000,
            // Overwritten and deleted chunks are collected within a scenario or two, so the
            // disks hold what the workloads keep, not everything they ever wrote.
            "gc_grace_ms": 60_000,
        }))?),
        Role::Chunkserver => {
            let disks: Vec<PathBuf> = (0..DISKS)
                .map(|k| spec.dir.join(format!("disk-{k}")))
                .collect();
            toml::to_string(&from_json::<ChunkserverConfigFile>(serde_json::json!({
                "cluster": cluster,
                "id": spec.id,
                "listen": spec.addr(),
                "meta": meta,
                "disks": disks,
                "ready_file": ready,
                "heartbeat_ms": 300,
                "inventory_ms": 10_000,
                // Each disk is a mount of its own (see `disks`); probes every second.
                "require_mounted_disks": true,
                "health_ms": 1000,
            }))?)
        }
        Role::Gateway => toml::to_string(&from_json::<GatewayConfigFile>(serde_json::json!({
            "cluster": cluster,
            "listen": spec.addr(),
            "meta": meta,
            "chunk_size": CHUNK_SIZE,
            "replicas": REPLICAS,
            "ready_file": ready,
        }))?),
    };
    text.map_err(|e| anyhow!("encoding the config of {}: {e}", spec.name))
}

/// A running torture cluster. Dropping it kills every process and removes the network.
pub struct Cluster {
    pub dir: PathBuf,
    pub settings: ClusterSettings,
    pub nodes: Vec<Node>,
    /// The meta-servers that are members now (those of the Raft group the driver formed,
    /// changed by membership faults).
    pub meta_addrs: Vec<String>,
    /// Nodes that are not part of the cluster now (a spare meta-server, or one a membership
    /// change removed): not started, not checked, not a fault's target.
    pub idle: BTreeSet<usize>,
    net: Network,
    /// The chunkservers' loop-mounted disks; dropped after the processes are gone.
    pub disks: super::disks::Disks,
}

impl Cluster {
    /// Creates the network and every node's namespace, directories and config (nothing runs
    /// yet).
    pub fn create(dir: &Path, run: &str, gateways: u64, bins: &Binaries) -> Result<Cluster> {
        let settings = crate::up::configs::new_cluster_settings();
        let specs = layout(dir, gateways);
        let meta_addrs: Vec<String> = specs
            .iter()
            .filter(|s| s.role == Role::Meta && s.id <= METAS)
            .map(NodeSpec::addr)
            .collect();
        let mut cluster = Cluster {
            dir: dir.to_path_buf(),
            settings,
            nodes: Vec::new(),
            meta_addrs,
            idle: BTreeSet::new(),
            net: Network::create(run)?,
            disks: super::disks::Disks::create(
                dir,
                run,
                &specs
                    .iter()
                    .filter(|s| s.role == Role::Chunkserver)
                    .map(|s| (s.name.clone(), s.dir.clone()))
                    .collect::<Vec<_>>(),
                DISKS,
            )?,
        };
        for spec in &specs {
            let netns = cluster.net.add_node(&spec.name, &spec.ip)?;
            std::fs::create_dir_all(&spec.dir)
                .with_context(|| format!("creating {}", spec.dir.display()))?;
            for k in 0..DISKS {
                if spec.role == Role::Chunkserver {
                    std::fs::create_dir_all(spec.dir.join(format!("disk-{k}")))?;
                }
            }
            let node = Node::new(
                spec.name.clone(),
                spec.role,
                spec.id,
                spec.addr(),
                netns,
                bins.for_role(spec.role).to_path_buf(),
                &spec.dir,
            );
            let text = config_toml(spec, &cluster.settings, &cluster.meta_addrs)?;
            let value: toml::Table = text.parse().context("re-reading a config")?;
            write_toml(&node.config, &value)?;
            if spec.role == Role::Meta && spec.id > METAS {
                cluster.idle.insert(cluster.nodes.len());
            }
            cluster.nodes.push(node);
        }
        Ok(cluster)
    }

    /// Indexes of the nodes of one role that are part of the cluster now.
    pub fn of_role(&self, role: Role) -> Vec<usize> {
        self.in_service()
            .into_iter()
            .filter(|&i| self.nodes[i].role == role)
            .collect()
    }

    /// Indexes of every node that is part of the cluster now (not idle).
    pub fn in_service(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| !self.idle.contains(i))
            .collect()
    }

    /// Indexes of idle nodes of one role (spares).
    pub fn idle_of_role(&self, role: Role) -> Vec<usize> {
        self.idle
            .iter()
            .copied()
            .filter(|&i| self.nodes[i].role == role)
            .collect()
    }

    /// Re-derives `meta_addrs` from the meta-servers in service.
    pub fn refresh_meta_addrs(&mut self) {
        self.meta_addrs = self
            .of_role(Role::Meta)
            .into_iter()
            .map(|i| self.nodes[i].addr.clone())
            .collect();
    }

    /// The S3 endpoints (`IP:PORT`) of the gateways.
    pub fn gateway_addrs(&self) -> Vec<String> {
        self.of_role(Role::Gateway)
            .into_iter()
            .map(|i| self.nodes[i].addr.clone())
            .collect()
    }

    /// The node index of meta-server `id` (in service or not).
    pub fn meta_index(&self, id: u64) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.role == Role::Meta && n.id == id)
    }

    /// The data directory of node `i`.
    pub fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.join(&self.nodes[i].name)
    }

    /// Starts the nodes at `indexes` and waits until each is ready.
    pub async fn start(&mut self, indexes: &[usize]) -> Result<()> {
        for &i in indexes {
            self.nodes[i].start()?;
        }
        for &i in indexes {
            self.nodes[i].wait_ready().await?;
        }
        Ok(())
    }

    /// Stops every process (SIGTERM, grace, SIGKILL) and removes the network.
    pub async fn shutdown(&mut self) {
        for node in self.nodes.iter_mut().rev() {
            node.stop().await;
        }
        self.net.remove();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill_now();
        }
        for node in &self.nodes {
            super::procs::wait_netns_empty(&node.netns);
        }
        self.net.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_gives_every_node_its_own_address() {
        let nodes = layout(Path::new("/r"), 2);
        assert_eq!(nodes.len(), 10);
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            ["m1", "m2", "m3", "m4", "c1", "c2", "c3", "c4", "g1", "g2"]
        );
        assert_eq!(nodes[0].addr(), "10.77.0.11:7000");
        assert_eq!(nodes[3].addr(), "10.77.0.14:7000");
        assert_eq!(nodes[4].addr(), "10.77.0.21:7100");
        assert_eq!(nodes[9].addr(), "10.77.0.32:9000");
        assert_eq!(nodes[9].dir, PathBuf::from("/r/g2"));
        let mut ips: Vec<&str> = nodes.iter().map(|n| n.ip.as_str()).collect();
        ips.dedup();
        assert_eq!(ips.len(), 10);
        assert_eq!(layout(Path::new("/r"), 1).len(), 9);
    }

    #[test]
    fn configs_listen_on_the_node_address() {
        let cluster = ClusterSettings {
            cluster_id: "c".into(),
            secret: "s".into(),
        };
        let nodes = layout(Path::new("/r"), 1);
        let meta: Vec<String> = nodes[..3].iter().map(NodeSpec::addr).collect();
        let m: MetaConfigFile =
            toml::from_str(&config_toml(&nodes[1], &cluster, &meta).expect("meta")).expect("toml");
        assert_eq!((m.node_id, m.listen.as_str()), (2, "10.77.0.12:7000"));
        assert_eq!(m.data_dir, PathBuf::from("/r/m2/db"));
        assert_eq!(m.chunkserver_timeout_ms, 3000);
        let c: ChunkserverConfigFile =
            toml::from_str(&config_toml(&nodes[4], &cluster, &meta).expect("cs")).expect("toml");
        assert_eq!(c.listen, "10.77.0.21:7100");
        assert_eq!(c.meta, meta);
        assert_eq!(
            c.disks,
            [PathBuf::from("/r/c1/disk-0"), "/r/c1/disk-1".into()]
        );
        let g: GatewayConfigFile =
            toml::from_str(&config_toml(&nodes[8], &cluster, &meta).expect("gw")).expect("toml");
        assert_eq!(g.listen, "10.77.0.31:9000");
        assert_eq!((g.chunk_size, g.replicas), (CHUNK_SIZE, 3));
        assert_eq!(g.ready_file, Some(PathBuf::from("/r/g1/ready.json")));
    }
}
