//! The faults, and the named scenarios built from them. A [`Fault`] is injected, held for a
//! while, then healed by [`run`]; each step is marked in the history.
//!
//! Extension point: a new fault is a new [`Fault`] variant with its arm in [`run`] and a
//! [`Scenario`] naming it. The bodies live in their own files: `membership` (meta membership
//! cycle), `proxy` (latency), `shaping` (bandwidth), `skew` (wall clock), `diskfault`,
//! `diskcorrupt` and `diskcheck` (disk death, full, read-only, damaged chunk files).

use super::client::Clients;
use super::cluster::Cluster;
use super::diskfault::DiskFault;
use super::health;
use super::membership;
use super::nft::{self, Rule};
use super::proxy::{self, Delay};
use super::shaping::{self, Cap};
use super::skew;
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
    /// A meta membership cycle: a spare meta-server joins, the leader leaves; the heal
    /// reverses it (see `membership`).
    MembershipCycle,
    /// Every TCP segment into the target delayed by a userspace proxy in its namespace
    /// (only connections opened after the fault starts; see `proxy`).
    Latency(Target, Delay),
    /// The target's bandwidth capped both ways with `tc tbf` (see `shaping`).
    Bandwidth(Target, Cap),
    /// The target restarted with its wall clock this many seconds off (libfaketime; see
    /// `skew`), restarted with the true clock at the heal.
    ClockSkew(Target, i32),
    /// A fault of one chunkserver disk (a loop-mounted file system; see `diskfault`), whose
    /// recovery also waits until the data is whole again.
    Disk(DiskFault),
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
    Scenario {
        name: "meta-membership",
        about: "add a spare meta-server, remove the leader; then the reverse",
        fault: Fault::MembershipCycle,
    },
    Scenario {
        name: "latency-chunkserver",
        about: "delay traffic into a chunkserver 50 +- 20 ms (proxy)",
        fault: Fault::Latency(Target::AnyOf(Role::Chunkserver), LATENCY),
    },
    Scenario {
        name: "latency-leader",
        about: "delay traffic into the meta leader 50 +- 20 ms (proxy)",
        fault: Fault::Latency(Target::MetaLeader, LATENCY),
    },
    Scenario {
        name: "bandwidth-cap",
        about: "cap a chunkserver at 8 Mbit/s each way (tc tbf)",
        fault: Fault::Bandwidth(Target::AnyOf(Role::Chunkserver), BANDWIDTH),
    },
    Scenario {
        name: "bandwidth-gateway",
        about: "cap a gateway at 8 Mbit/s each way (tc tbf)",
        fault: Fault::Bandwidth(Target::AnyOf(Role::Gateway), BANDWIDTH),
    },
    Scenario {
        name: "clock-skew-leader",
        about: "restart the meta leader with its clock 120 s ahead",
        fault: Fault::ClockSkew(Target::MetaLeader, 120),
    },
    Scenario {
        name: "clock-skew-chunkserver",
        about: "restart a chunkserver with its clock 90 s behind",
        fault: Fault::ClockSkew(Target::AnyOf(Role::Chunkserver), -90),
    },
    Scenario {
        name: "clock-skew-gateway",
        about: "restart a gateway with its clock 5 min ahead (SigV4 allows 15)",
        fault: Fault::ClockSkew(Target::AnyOf(Role::Gateway), 300),
    },
    Scenario {
        name: "disk-death",
        about: "shut down a chunkserver's XFS disk, replace it with a blank one",
        fault: Fault::Disk(DiskFault::Death),
    },
    Scenario {
        name: "disk-full",
        about: "fill a chunkserver disk to the last byte, then empty it",
        fault: Fault::Disk(DiskFault::Full),
    },
    Scenario {
        name: "disk-readonly",
        about: "an ext4 error makes a disk read-only; fsck it and restart",
        fault: Fault::Disk(DiskFault::ReadOnly),
    },
    Scenario {
        name: "corrupt-chunks",
        about: "flip bytes in and truncate chunk files; scrub and repair",
        fault: Fault::Disk(DiskFault::Corrupt),
    },
];

/// The latency scenarios' delay per forwarded segment.
const LATENCY: Delay = Delay {
    base: Duration::from_millis(50),
    jitter: Duration::from_millis(20),
};

/// The bandwidth scenarios' cap: 8 Mbit/s, a 32 KiB bucket, 200 ms of queue.
const BANDWIDTH: Cap = Cap {
    kbit: 8_000,
    burst_bytes: 32 * 1024,
    latency_ms: 200,
};

/// What `--short` runs.
pub const SHORT: &[&str] = &[
    "kill-leader",
    "pause-chunkserver",
    "partition-leader",
    "one-way-leader",
    "packet-loss",
    "rolling-restart",
    "meta-membership",
    "latency-chunkserver",
    "disk-death",
    "corrupt-chunks",
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
        Target::Random => pick(cluster.in_service(), rng),
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
            let nodes = cluster.in_service();
            let dwell = hold / nodes.len().max(1) as u32;
            for (n, i) in nodes.into_iter().enumerate() {
                if n > 0 {
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
        Fault::MembershipCycle => membership::cycle(cluster, clients, hold).await,
        Fault::Latency(t, delay) => {
            let i = resolve(cluster, t, rng).await?;
            let who = cluster.nodes[i].label();
            let service = cluster.nodes[i].addr.parse()?;
            let mut p = proxy::Proxy::start(&cluster.nodes[i].netns, service, delay)?;
            mark(clients, format!("fault: {delay:?} on traffic into {who}"));
            tokio::time::sleep(hold).await;
            let relayed = p.relayed();
            p.stop();
            let relayed = format!("{relayed} connections relayed");
            mark(clients, format!("heal: proxy removed ({relayed})"));
            Ok(who)
        }
        Fault::Bandwidth(t, cap) => {
            let i = resolve(cluster, t, rng).await?;
            let (who, node) = (cluster.nodes[i].label(), &cluster.nodes[i]);
            shaping::apply(&node.netns, &node.name, cap)?;
            mark(clients, format!("fault: {cap:?} on {who}"));
            tokio::time::sleep(hold).await;
            let stats = shaping::stats(&node.netns, &node.name);
            shaping::clear(&node.netns, &node.name);
            mark(clients, format!("heal: cap removed from {who} ({stats})"));
            Ok(who)
        }
        Fault::ClockSkew(t, secs) => {
            let lib = skew::libfaketime()?;
            let i = resolve(cluster, t, rng).await?;
            let who = cluster.nodes[i].label();
            let lead = t == Target::MetaLeader;
            let seen = skew::inject(cluster, i, &lib, secs, lead).await?;
            let seen = format!("its log: {seen:+.1}s");
            mark(clients, format!("fault: {who} clock {secs:+}s ({seen})"));
            tokio::time::sleep(hold).await;
            skew::restart(&mut cluster.nodes[i], Vec::new()).await?;
            mark(clients, format!("heal: {who} restarted, true clock"));
            Ok(who)
        }
        Fault::Disk(d) => super::diskfault::run(d, cluster, clients, rng, hold).await,
    }
}

/// Removes every fault left in place and restarts stopped processes (the path of a fault
/// that failed half-way).
pub async fn heal_all(cluster: &mut Cluster) {
    for (i, node) in cluster.nodes.iter_mut().enumerate() {
        nft::clear(&node.netns);
        if cluster.idle.contains(&i) {
            continue;
        }
        if node.is_running() {
            let _ = node.signal(libc::SIGCONT);
        } else if let Err(e) = node.start() {
            eprintln!("  cannot restart {}: {e:#}", node.label());
        } else if let Err(e) = node.wait_ready().await {
            eprintln!("  {e:#}");
        }
    }
}
