//! The faults, and the named scenarios built from them. A [`Fault`] is injected, held for a
//! while, then healed by [`run`]; each step is marked in the history.
//!
//! Extension point: a new fault is a new [`Fault`] variant with its arm in [`run`] and a
//! [`Scenario`] naming it. Not yet here: clock skew (`faketime`), bandwidth caps (`tc tbf`),
//! disk death (`xfs_io -x -c shutdown` on a loop-mounted XFS), full and read-only disks,
//! corrupted or truncated chunk files, meta membership changes, latency through a proxy.

use super::client::Clients;
use super::cluster::Cluster;
use super::health;
use super::nft::{self, Rule};
use crate::up::configs::Role;
use anyhow::{anyhow, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::time::Duration;

/// Which process a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Any process of any role.
    Random,
    /// The meta-server leading the Raft group when the fault starts.
    MetaLeader,
    /// A random process of this role.
    AnyOf(Role),
}

/// One kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL, restart once the hold is over.
    Kill(Target),
    /// SIGSTOP, SIGCONT once the hold is over.
    Pause(Target),
    /// nftables rules in the target's namespace for the hold.
    Network(Target, Rule),
    /// The same rule in every node's namespace.
    NetworkAll(Rule),
    /// SIGTERM and restart every process in turn, waiting for health in between; the
    /// restarts are spread over the hold.
    RollingRestart,
}

/// A named scenario: one fault under the workloads.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub fault: Fault,
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "kill-random",
        about: "SIGKILL a random process, restart it",
        fault: Fault::Kill(Target::Random),
    },
    Scenario {
        name: "kill-leader",
        about: "SIGKILL the meta leader, restart it",
        fault: Fault::Kill(Target::MetaLeader),
    },
    Scenario {
        name: "pause-leader",
        about: "SIGSTOP the meta leader, SIGCONT it",
        fault: Fault::Pause(Target::MetaLeader),
    },
    Scenario {
        name: "pause-chunkserver",
        about: "SIGSTOP a chunkserver, SIGCONT it",
        fault: Fault::Pause(Target::AnyOf(Role::Chunkserver)),
    },
    Scenario {
        name: "partition-leader",
        about: "cut the meta leader off (both directions)",
        fault: Fault::Network(Target::MetaLeader, Rule::Isolate),
    },
    Scenario {
        name: "partition-node",
        about: "cut a random node off (both directions)",
        fault: Fault::Network(Target::Random, Rule::Isolate),
    },
    Scenario {
        name: "one-way-leader",
        about: "drop what the meta leader sends",
        fault: Fault::Network(Target::MetaLeader, Rule::DropOutgoing),
    },
    Scenario {
        name: "one-way-chunkserver",
        about: "drop what a chunkserver sends",
        fault: Fault::Network(Target::AnyOf(Role::Chunkserver), Rule::DropOutgoing),
    },
    Scenario {
        name: "packet-loss",
        about: "drop 10% of packets on every node",
        fault: Fault::NetworkAll(Rule::Loss(10)),
    },
    Scenario {
        name: "rolling-restart",
        about: "restart every process in turn",
        fault: Fault::RollingRestart,
    },
];

/// What `--short` runs.
pub const SHORT: &[&str] = &[
    "kill-leader",
    "pause-chunkserver",
    "partition-leader",
    "one-way-leader",
    "packet-loss",
    "rolling-restart",
];

pub fn scenario(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// The node index a target names now.
async fn resolve(cluster: &Cluster, target: Target, rng: &mut StdRng) -> Result<usize> {
    let pick = |v: Vec<usize>, rng: &mut StdRng| {
        v.choose(rng)
            .copied()
            .ok_or_else(|| anyhow!("no node to hit"))
    };
    match target {
        Target::Random => pick((0..cluster.nodes.len()).collect(), rng),
        Target::AnyOf(role) => pick(cluster.of_role(role), rng),
        Target::MetaLeader => {
            let id = health::wait_leader(cluster, Duration::from_secs(30)).await?;
            cluster
                .meta_index(id)
                .ok_or_else(|| anyhow!("the leader {id} is not one of our meta-servers"))
        }
    }
}

fn mark(clients: &Clients, label: String) {
    eprintln!("  {label}");
    let _ = clients.recorder.mark(label);
}

/// Injects `fault`, holds it for `hold`, heals it. Returns what it hit.
pub async fn run(
    fault: Fault,
    cluster: &mut Cluster,
    clients: &Clients,
    rng: &mut StdRng,
    hold: Duration,
) -> Result<String> {
    match fault {
        Fault::Kill(t) => {
            let i = resolve(cluster, t, rng).await?;
            let who = cluster.nodes[i].label();
            cluster.nodes[i].kill().await?;
            mark(clients, format!("fault: SIGKILL {who}"));
            tokio::time::sleep(hold).await;
            cluster.nodes[i].start()?;
            cluster.nodes[i].wait_ready().await?;
            mark(clients, format!("heal: {who} restarted"));
            Ok(who)
        }
        Fault::Pause(t) => {
            let i = resolve(cluster, t, rng).await?;
            let who = cluster.nodes[i].label();
            cluster.nodes[i].signal(libc::SIGSTOP)?;
            mark(clients, format!("fault: SIGSTOP {who}"));
            tokio::time::sleep(hold).await;
            cluster.nodes[i].signal(libc::SIGCONT)?;
            mark(clients, format!("heal: SIGCONT {who}"));
            Ok(who)
        }
        Fault::Network(t, rule) => {
            let i = resolve(cluster, t, rng).await?;
            let who = cluster.nodes[i].label();
            let ns = cluster.nodes[i].netns.clone();
            nft::apply(&ns, rule)?;
            mark(clients, format!("fault: {rule:?} on {who}"));
            tokio::time::sleep(hold).await;
            nft::clear(&ns);
            mark(clients, format!("heal: rules removed from {who}"));
            Ok(who)
        }
        Fault::NetworkAll(rule) => {
            let namespaces: Vec<String> = cluster.nodes.iter().map(|n| n.netns.clone()).collect();
            for ns in &namespaces {
                nft::apply(ns, rule)?;
            }
            mark(clients, format!("fault: {rule:?} on every node"));
            tokio::time::sleep(hold).await;
            for ns in &namespaces {
                nft::clear(ns);
            }
            mark(clients, "heal: rules removed from every node".into());
            Ok("every node".into())
        }
        Fault::RollingRestart => {
            // The restarts are spread over the hold: each process then serves a while.
            let dwell = hold / cluster.nodes.len().max(1) as u32;
            for i in 0..cluster.nodes.len() {
                if i > 0 {
                    tokio::time::sleep(dwell).await;
                }
                let who = cluster.nodes[i].label();
                mark(clients, format!("fault: restarting {who}"));
                cluster.nodes[i].stop().await;
                cluster.nodes[i].start()?;
                cluster.nodes[i].wait_ready().await?;
                health::wait_healthy(cluster, clients, Duration::from_secs(60)).await?;
            }
            mark(clients, "heal: every process restarted".into());
            Ok("every process".into())
        }
    }
}

/// Removes every fault left in place and restarts stopped processes (the path of a fault
/// that failed half-way).
pub async fn heal_all(cluster: &mut Cluster) {
    for node in &mut cluster.nodes {
        nft::clear(&node.netns);
        if node.is_running() {
            let _ = node.signal(libc::SIGCONT);
        } else if let Err(e) = node.start() {
            eprintln!("  cannot restart {}: {e:#}", node.label());
        } else if let Err(e) = node.wait_ready().await {
            eprintln!("  {e:#}");
        }
    }
}
