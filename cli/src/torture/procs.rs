//! The server processes of a torture cluster: each runs inside its node's namespace
//! (`ip netns exec NS BINARY --config FILE`; `ip` execs the server, so the child's pid is the
//! server's and signals reach it directly). Children get SIGKILL if the driver dies
//! (`PR_SET_PDEATHSIG`) and on drop.

use crate::up::configs::Role;
use crate::up::process::{log_tail, read_ready};
use crate::up::wait::Poll;
use anyhow::{anyhow, Context, Result};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// How long a process may take to write its ready file.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process gets to exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// One server process of the cluster, running or not.
pub struct Node {
    /// Short name, also the namespace suffix: `m1`, `c3`, `g1`.
    pub name: String,
    pub role: Role,
    pub id: u64,
    /// `IP:PORT` the server listens on.
    pub addr: String,
    pub netns: String,
    pub binary: PathBuf,
    pub config: PathBuf,
    pub ready_file: PathBuf,
    pub log: PathBuf,
    /// Extra environment of the server process, applied at every start (e.g. libfaketime's
    /// for the clock-skew fault); empty normally.
    pub env: Vec<(String, String)>,
    child: Option<tokio::process::Child>,
    pid: Option<u32>,
    paused: bool,
}

impl Node {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        role: Role,
        id: u64,
        addr: String,
        netns: String,
        binary: PathBuf,
        dir: &Path,
    ) -> Node {
        Node {
            name,
            role,
            id,
            addr,
            netns,
            binary,
            config: dir.join("config.toml"),
            ready_file: dir.join("ready.json"),
            log: dir.join("log"),
            env: Vec::new(),
            child: None,
            pid: None,
            paused: false,
        }
    }

    /// `meta-1 (m1, 10.77.0.11:7000)`.
    pub fn label(&self) -> String {
        format!("{}-{} ({})", self.role.name(), self.id, self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server in its namespace (not waiting for it to be ready).
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Err(anyhow!("{} is already running", self.label()));
        }
        match std::fs::remove_file(&self.ready_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context("removing a stale ready file"),
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        writeln!(log, "=== trireme torture: starting {}", self.label())?;
        let stderr = log.try_clone()?;
        let mut cmd = tokio::process::Command::new("ip");
        cmd.args(["netns", "exec", &self.netns])
            .arg(&self.binary)
            .arg("--config")
            .arg(&self.config)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(true);
        // SAFETY: runs in the forked child before exec; prctl is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.label()))?;
        self.pid = child.id();
        self.child = Some(child);
        self.paused = false;
        Ok(())
    }

    /// Waits until the server wrote its ready file; fails with its log's end if it exits.
    pub async fn wait_ready(&mut self) -> Result<()> {
        let label = self.label();
        let mut poll = Poll::new(format!("{label} to become ready"), READY_TIMEOUT);
        loop {
            if read_ready(&self.ready_file).is_some() {
                return Ok(());
            }
            let child = self
                .child
                .as_mut()
                .ok_or_else(|| anyhow!("{label} is not running"))?;
            if let Some(status) = child.try_wait()? {
                self.child = None;
                let tail = log_tail(&self.log, 20).unwrap_or_default();
                return Err(anyhow!(
                    "{label} exited with {status} before it was ready; its log ends:\n{tail}"
                ));
            }
            poll.again("no ready file yet").await?;
        }
    }

    /// Sends a signal to the running server.
    pub fn signal(&mut self, sig: libc::c_int) -> Result<()> {
        let pid = self
            .pid
            .filter(|_| self.child.is_some())
            .ok_or_else(|| anyhow!("{} is not running", self.label()))?;
        // SAFETY: kill(2) on our own child, not yet reaped.
        if unsafe { libc::kill(pid as libc::pid_t, sig) } != 0 {
            return Err(anyhow!(
                "signalling {}: {}",
                self.label(),
                std::io::Error::last_os_error()
            ));
        }
        match sig {
            libc::SIGSTOP => self.paused = true,
            libc::SIGCONT => self.paused = false,
            _ => {}
        }
        Ok(())
    }

    /// SIGKILL, then reaps the process.
    pub async fn kill(&mut self) -> Result<()> {
        self.signal(libc::SIGKILL)?;
        if let Some(mut child) = self.child.take() {
            let _ = child.wait().await;
        }
        self.paused = false;
        Ok(())
    }

    /// SIGTERM (after SIGCONT if paused), a grace period, then SIGKILL.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = self.pid {
            // SAFETY: kill(2) on our own child, not yet reaped.
            unsafe {
                if self.paused {
                    libc::kill(pid as libc::pid_t, libc::SIGCONT);
                }
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
        self.paused = false;
        if tokio::time::timeout(STOP_GRACE, child.wait())
            .await
            .is_err()
        {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// SIGKILL without waiting (the cleanup path; the child is reaped on drop).
    pub fn kill_now(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
        }
    }
}

/// Pids of the processes whose network namespace is `/run/netns/NS`.
pub fn pids_in_netns(ns: &str) -> Vec<u32> {
    let Ok(target) = std::fs::metadata(format!("/run/netns/{ns}")) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::metadata(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|m| m.ino() == target.ino() && m.dev() == target.dev())
        })
        .collect()
}

/// Waits (at most 5 s) until no process is left in namespace `ns`.
pub fn wait_netns_empty(ns: &str) {
    for _ in 0..100 {
        if pids_in_netns(ns).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
