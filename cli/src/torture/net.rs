//! The torture cluster's network: one network namespace per node, each with a veth pair whose
//! outer end is on a bridge in the root namespace (where the driver and its clients stay).
//!
//! Names carry the run id so that `trireme torture --cleanup` can find what a crashed run
//! left behind: namespaces `trt-RUN-NODE`, links `trtRUNNODE` (veth) and `trtRUNbr` (the
//! bridge), RUN being 4 hex digits. Inside each namespace the inner end is `eth0`.

use anyhow::{anyhow, Context, Result};
use std::process::Command;

/// The subnet of every run: the bridge is .1, nodes get fixed addresses (see `cluster`).
pub const SUBNET_PREFIX: &str = "10.77.0";
/// Prefix of every namespace a run creates.
pub const NETNS_PREFIX: &str = "trt-";
/// Where each live run keeps a file `RUN` holding its driver's pid.
pub const RUNS_DIR: &str = "/run/trireme-torture";

/// The pid of the driver of run `run`, if that driver is still alive.
pub fn live_driver(run: &str) -> Option<u32> {
    let text = std::fs::read_to_string(format!("{RUNS_DIR}/{run}")).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    // A recycled pid is not our driver: its command line must name `torture`.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    cmdline
        .split(|b| *b == 0)
        .any(|arg| arg == b"torture")
        .then_some(pid)
}

/// Another run whose driver is alive: (run, pid).
pub fn other_live_run() -> Option<(String, u32)> {
    let entries = std::fs::read_dir(RUNS_DIR).ok()?;
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find_map(|run| live_driver(&run).map(|pid| (run, pid)))
}

/// The run id in a namespace name `trt-RUN-NODE`.
fn run_of_netns(ns: &str) -> Option<&str> {
    ns.strip_prefix(NETNS_PREFIX)?.split('-').next()
}

/// Runs a command to completion; fails with its stderr.
pub fn sh(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        return Err(anyhow!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The namespace of node `node` (e.g. `m1`) of run `run`.
pub fn netns_name(run: &str, node: &str) -> String {
    format!("{NETNS_PREFIX}{run}-{node}")
}

/// The root-side veth of a node (at most 15 bytes: `trt` + 4 + up to 8).
pub fn veth_name(run: &str, node: &str) -> String {
    format!("trt{run}{node}")
}

pub fn bridge_name(run: &str) -> String {
    format!("trt{run}br")
}

/// Whether a link name looks like one of ours: `trt` + 4 hex digits + something.
pub fn is_our_link(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("trt") else {
        return false;
    };
    rest.len() > 4 && rest.is_char_boundary(4) && rest[..4].chars().all(|c| c.is_ascii_hexdigit())
}

/// The network of one run; dropping it removes everything it created.
pub struct Network {
    pub run: String,
    namespaces: Vec<String>,
    bridge: Option<String>,
}

impl Network {
    /// Creates the bridge (10.77.0.1/24) of run `run`.
    pub fn create(run: &str) -> Result<Network> {
        let mut net = Network {
            run: run.to_string(),
            namespaces: Vec::new(),
            bridge: None,
        };
        std::fs::create_dir_all(RUNS_DIR).with_context(|| format!("creating {RUNS_DIR}"))?;
        std::fs::write(format!("{RUNS_DIR}/{run}"), std::process::id().to_string())
            .with_context(|| format!("writing {RUNS_DIR}/{run}"))?;
        let br = bridge_name(run);
        sh("ip", &["link", "add", &br, "type", "bridge"])?;
        net.bridge = Some(br.clone());
        let addr = format!("{SUBNET_PREFIX}.1/24");
        sh("ip", &["addr", "add", &addr, "dev", &br])?;
        sh("ip", &["link", "set", &br, "up"])?;
        Ok(net)
    }

    /// Creates node `node`'s namespace with `addr` on its `eth0`; returns the namespace name.
    pub fn add_node(&mut self, node: &str, addr: &str) -> Result<String> {
        let ns = netns_name(&self.run, node);
        let veth = veth_name(&self.run, node);
        sh("ip", &["netns", "add", &ns])?;
        self.namespaces.push(ns.clone());
        sh(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        )?;
        let br = bridge_name(&self.run);
        sh("ip", &["link", "set", &veth, "master", &br, "up"])?;
        let cidr = format!("{addr}/24");
        sh("ip", &["-n", &ns, "addr", "add", &cidr, "dev", "eth0"])?;
        sh("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
        sh("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Removes every namespace and link of this run (processes must be gone first).
    pub fn remove(&mut self) {
        for ns in self.namespaces.drain(..) {
            let _ = sh("ip", &["netns", "del", &ns]);
        }
        if let Some(br) = self.bridge.take() {
            let _ = sh("ip", &["link", "del", &br]);
        }
        let _ = std::fs::remove_file(format!("{RUNS_DIR}/{}", self.run));
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Checks that we can create namespaces: root, and `ip` and `nft` on the PATH.
pub fn preflight() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(
            "trireme torture needs root (network namespaces, veth pairs, nftables): \
                    run it with sudo"
                .into(),
        );
    }
    for (prog, pkg) in [("ip", "iproute2"), ("nft", "nftables")] {
        if sh(prog, &["-V"]).is_err() && sh(prog, &["--version"]).is_err() {
            return Err(format!(
                "`{prog}` is missing: install the `{pkg}` package (scripts/install-deps.sh does)"
            ));
        }
    }
    Ok(())
}

/// Removes what earlier runs whose driver is gone left: processes inside their namespaces
/// (SIGKILL), the namespaces, then their links. Returns what it removed, for the log.
pub fn cleanup_leftovers() -> Vec<String> {
    let mut removed = Vec::new();
    let list = sh("ip", &["netns", "list"]).unwrap_or_default();
    for ns in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(run) = run_of_netns(ns) else {
            continue;
        };
        if live_driver(run).is_some() {
            continue;
        }
        for pid in super::procs::pids_in_netns(ns) {
            // SAFETY: kill(2) on a pid found in our own namespace.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            removed.push(format!("process {pid} in {ns}"));
        }
        super::procs::wait_netns_empty(ns);
        if sh("ip", &["netns", "del", ns]).is_ok() {
            removed.push(format!("namespace {ns}"));
        }
    }
    let links = sh("ip", &["-o", "link", "show"]).unwrap_or_default();
    for line in links.lines() {
        // "12: trtab12m1@if2: <...>"
        let Some(name) = line.split(": ").nth(1) else {
            continue;
        };
        let name = name.split('@').next().unwrap_or(name);
        let live = name.get(3..7).is_some_and(|run| live_driver(run).is_some());
        if is_our_link(name) && !live && sh("ip", &["link", "del", name]).is_ok() {
            removed.push(format!("link {name}"));
        }
    }
    if let Ok(entries) = std::fs::read_dir(RUNS_DIR) {
        for run in entries.filter_map(|e| e.ok()?.file_name().into_string().ok()) {
            if live_driver(&run).is_none() {
                let _ = std::fs::remove_file(format!("{RUNS_DIR}/{run}"));
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_and_are_recognised() {
        assert_eq!(netns_name("ab12", "m1"), "trt-ab12-m1");
        assert_eq!(veth_name("ab12", "c4"), "trtab12c4");
        assert!(veth_name("ffff", "g2").len() <= 15);
        assert!(bridge_name("ab12").len() <= 15);
        assert!(is_our_link("trtab12br"));
        assert!(is_our_link("trtab12m3"));
        assert!(!is_our_link("trtab"));
        assert!(!is_our_link("trtxyzwm1"));
        assert!(!is_our_link("eth0"));
        assert_eq!(run_of_netns("trt-ab12-m1"), Some("ab12"));
        assert_eq!(run_of_netns("other"), None);
    }
}
