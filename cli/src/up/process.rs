//! Child processes of `trireme up`: finding the server binaries, starting a process with its
//! output appended to its log, waiting for its ready file, noticing unexpected exits, and
//! stopping everything (SIGTERM, a grace period, SIGKILL). Also the SIGINT/SIGTERM listener.
//!
//! Children run in their own process group (a terminal's Ctrl-C reaches only `trireme up`,
//! which then stops them in order) and get SIGTERM from the kernel if `trireme up` dies
//! (`PR_SET_PDEATHSIG`), so a killed supervisor leaves no orphans behind.

use crate::up::configs::{ProcessSpec, Role};
use crate::up::wait::Poll;
use anyhow::{anyhow, Context, Result};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};
use trireme_api::config::ReadyFile;

/// Environment variable naming the directory holding the server binaries.
pub const BIN_DIR_ENV: &str = "TRIREME_BIN_DIR";
/// How long children get to exit after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// Lines of a log shown when a process fails to start.
const LOG_TAIL_LINES: usize = 20;

/// Paths of the three server binaries.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub meta: PathBuf,
    pub chunkserver: PathBuf,
    pub gateway: PathBuf,
}

impl Binaries {
    /// Looks in `$TRIREME_BIN_DIR` if set, else next to the running executable.
    pub fn find() -> Result<Self> {
        let env = std::env::var_os(BIN_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        Self::find_in(env, exe_dir)
    }

    pub fn find_in(env_dir: Option<PathBuf>, exe_dir: Option<PathBuf>) -> Result<Self> {
        let (dir, from) = match (env_dir, exe_dir) {
            (Some(d), _) => (d, format!("${BIN_DIR_ENV}")),
            (None, Some(d)) => (d, "the directory of this executable".to_string()),
            (None, None) => {
                return Err(anyhow!(
                    "cannot locate the server binaries: set ${BIN_DIR_ENV}"
                ))
            }
        };
        let find = |role: Role| -> Result<PathBuf> {
            let p = dir.join(role.binary());
            if p.is_file() {
                Ok(p)
            } else {
                Err(anyhow!(
                    "server binary {} not found in {} ({from}); build it with `cargo build --workspace --bins` \
                     or point ${BIN_DIR_ENV} at the directory holding it",
                    role.binary(),
                    dir.display()
                ))
            }
        };
        Ok(Binaries {
            meta: find(Role::Meta)?,
            chunkserver: find(Role::Chunkserver)?,
            gateway: find(Role::Gateway)?,
        })
    }

    pub fn for_role(&self, role: Role) -> &Path {
        match role {
            Role::Meta => &self.meta,
            Role::Chunkserver => &self.chunkserver,
            Role::Gateway => &self.gateway,
        }
    }
}

/// A started child.
struct Running {
    spec: ProcessSpec,
    child: tokio::process::Child,
    pid: u32,
    exited: Option<ExitStatus>,
}

/// The children of one `trireme up`.
pub struct Supervisor {
    bins: Binaries,
    children: Vec<Running>,
}

impl Supervisor {
    pub fn new(bins: Binaries) -> Self {
        Supervisor {
            bins,
            children: Vec::new(),
        }
    }

    /// Starts a process (after removing a stale ready file); returns its index.
    pub fn start(&mut self, spec: &ProcessSpec) -> Result<usize> {
        match std::fs::remove_file(&spec.ready_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("removing {}", spec.ready_file.display()))
            }
        }
        let bin = self.bins.for_role(spec.role);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("opening {}", spec.log.display()))?;
        writeln!(
            log,
            "=== trireme up: starting {} --config {}",
            bin.display(),
            spec.config.display()
        )
        .with_context(|| format!("writing {}", spec.log.display()))?;
        let stderr = log
            .try_clone()
            .with_context(|| format!("opening {}", spec.log.display()))?;
        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("--config")
            .arg(&spec.config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(true);
        let parent = std::process::id();
        // SAFETY: the closure runs in the forked child before exec and only makes
        // async-signal-safe system calls (prctl, getppid), touching no shared state.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::other(
                        "trireme up exited while starting a child",
                    ));
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {} for {}", bin.display(), spec.label()))?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("{} exited at once", spec.label()))?;
        self.children.push(Running {
            spec: spec.clone(),
            child,
            pid,
            exited: None,
        });
        Ok(self.children.len() - 1)
    }

    pub fn pid(&self, index: usize) -> Option<u32> {
        self.children.get(index).map(|r| r.pid)
    }

    /// Waits for a started process's ready file; fails (with the end of its log) if the
    /// process exits first or the deadline passes.
    pub async fn wait_ready(&mut self, index: usize, timeout: Duration) -> Result<ReadyFile> {
        let label = self
            .children
            .get(index)
            .map(|r| r.spec.label())
            .unwrap_or_default();
        let mut poll = Poll::new(format!("{label} to become ready"), timeout);
        loop {
            let run = self
                .children
                .get_mut(index)
                .ok_or_else(|| anyhow!("no child #{index}"))?;
            if let Some(ready) = read_ready(&run.spec.ready_file) {
                return Ok(ready);
            }
            if let Some(status) = run.child.try_wait().context("checking a child")? {
                run.exited = Some(status);
                return Err(anyhow!(
                    "{} ({}, pid {}) exited with {status} before it was ready{}",
                    label,
                    run.spec.role.binary(),
                    run.pid,
                    log_tail_message(&run.spec.log)
                ));
            }
            let not_yet = format!("no {} yet", run.spec.ready_file.display());
            if let Err(e) = poll.again(&not_yet).await {
                let log = self
                    .children
                    .get(index)
                    .map(|r| log_tail_message(&r.spec.log))
                    .unwrap_or_default();
                return Err(anyhow!("{e}{log}"));
            }
        }
    }

    /// Children that exited since the last check: role, id and a one-line warning.
    pub fn check_exits(&mut self) -> Vec<(Role, u64, String)> {
        let mut out = Vec::new();
        for run in self.children.iter_mut().filter(|r| r.exited.is_none()) {
            if let Ok(Some(status)) = run.child.try_wait() {
                run.exited = Some(status);
                let warning = format!(
                    "warning: {} (pid {}) exited unexpectedly ({status}); log: {}",
                    run.spec.label(),
                    run.pid,
                    run.spec.log.display()
                );
                out.push((run.spec.role, run.spec.id, warning));
            }
        }
        out
    }

    /// The pids of every child started.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(|r| r.pid).collect()
    }

    /// SIGTERM to every running child, up to `grace` for them to exit, then SIGKILL.
    pub async fn shutdown(&mut self, grace: Duration) {
        let running: Vec<&Running> = self
            .children
            .iter()
            .filter(|r| r.exited.is_none())
            .collect();
        if running.is_empty() {
            return;
        }
        eprintln!("stopping {} processes...", running.len());
        for run in self.children.iter().rev().filter(|r| r.exited.is_none()) {
            // SAFETY: kill(2) with a pid we spawned and have not reaped yet.
            unsafe {
                libc::kill(run.pid as libc::pid_t, libc::SIGTERM);
            }
        }
        let mut poll = Poll::new("children to exit", grace);
        loop {
            let mut left = 0;
            for run in self.children.iter_mut().filter(|r| r.exited.is_none()) {
                match run.child.try_wait() {
                    Ok(Some(status)) => run.exited = Some(status),
                    _ => left += 1,
                }
            }
            if left == 0 || poll.again(&format!("{left} still running")).await.is_err() {
                break;
            }
        }
        for run in self.children.iter_mut().filter(|r| r.exited.is_none()) {
            eprintln!(
                "{} (pid {}) did not stop in {}s; killing it",
                run.spec.label(),
                run.pid,
                grace.as_secs()
            );
            let _ = run.child.start_kill();
            if let Ok(Ok(status)) =
                tokio::time::timeout(Duration::from_secs(5), run.child.wait()).await
            {
                run.exited = Some(status);
            }
        }
    }
}

/// The ready file, if it exists and parses.
pub fn read_ready(path: &Path) -> Option<ReadyFile> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The last `n` lines of a log (reading at most its last 64 KiB).
pub fn log_tail(path: &Path, n: usize) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let start = len.saturating_sub(64 * 1024);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    Ok(lines[lines.len().saturating_sub(n)..].join("\n"))
}

fn log_tail_message(path: &Path) -> String {
    match log_tail(path, LOG_TAIL_LINES) {
        Ok(t) if !t.trim().is_empty() => {
            let indented: Vec<String> = t.lines().map(|l| format!("  | {l}")).collect();
            format!(
                "; last lines of {}:\n{}",
                path.display(),
                indented.join("\n")
            )
        }
        _ => format!("; its log {} is empty", path.display()),
    }
}

/// Whether `pid` is a live process started with `config` on its command line.
pub fn is_running_with(pid: u32, config: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let want = config.as_os_str().as_encoded_bytes();
    cmdline.split(|b| *b == 0).any(|arg| arg == want)
}

/// SIGINT or SIGTERM to `trireme up`.
pub struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    pub fn new() -> Result<Self> {
        Ok(Signals {
            int: signal(SignalKind::interrupt()).context("installing a SIGINT handler")?,
            term: signal(SignalKind::terminate()).context("installing a SIGTERM handler")?,
        })
    }

    /// Resolves at the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_bins(dir: &Path, script: &str) {
        for role in [Role::Meta, Role::Chunkserver, Role::Gateway] {
            let p = dir.join(role.binary());
            std::fs::write(&p, script).expect("write script");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }

    #[test]
    fn finds_binaries_or_names_the_missing_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = Binaries::find_in(Some(dir.path().into()), None).expect_err("none there");
        assert!(e.to_string().contains("trireme-meta"), "{e}");
        fake_bins(dir.path(), "#!/bin/sh\n");
        std::fs::remove_file(dir.path().join("trireme-gateway")).expect("rm");
        let e = Binaries::find_in(None, Some(dir.path().into())).expect_err("gateway missing");
        assert!(e.to_string().contains("trireme-gateway"), "{e}");
        fake_bins(dir.path(), "#!/bin/sh\n");
        let b =
            Binaries::find_in(Some(dir.path().into()), Some("/nonexistent".into())).expect("found");
        assert_eq!(
            b.for_role(Role::Chunkserver),
            dir.path().join("trireme-chunkserver")
        );
    }

    #[test]
    fn tail_of_a_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("log");
        let text: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&p, text).expect("write");
        assert_eq!(log_tail(&p, 2).expect("tail"), "line 29\nline 30");
        assert_eq!(log_tail(&p, 100).expect("tail").lines().count(), 30);
    }

    #[tokio::test]
    async fn ready_file_exit_and_shutdown() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The fake server writes its ready file (named in line 1 of its config) and sleeps;
        // with "fail" in its config it prints a message and exits instead.
        let script = "#!/bin/sh\nready=$(head -n1 \"$2\")\nif grep -q fail \"$2\"; then echo boom; exit 3; fi\n\
                      echo '{\"addr\":\"127.0.0.1:1\",\"pid\":'$$'}' > \"$ready\"\n\
                      while true; do sleep 1; done\n";
        fake_bins(dir.path(), script);
        let bins = Binaries::find_in(Some(dir.path().into()), None).expect("bins");
        let mut sup = Supervisor::new(bins);

        let good = ProcessSpec::new(dir.path(), Role::Meta, 1, 0);
        std::fs::create_dir_all(&good.dir).expect("mkdir");
        std::fs::write(&good.config, format!("{}\n", good.ready_file.display())).expect("config");
        std::fs::write(&good.ready_file, "stale").expect("stale ready file");
        let i = sup.start(&good).expect("start");
        let ready = sup
            .wait_ready(i, Duration::from_secs(20))
            .await
            .expect("ready");
        assert_eq!(Some(ready.pid), sup.pid(i));
        assert!(is_running_with(ready.pid, &good.config));

        let bad = ProcessSpec::new(dir.path(), Role::Chunkserver, 1, 0);
        std::fs::create_dir_all(&bad.dir).expect("mkdir");
        std::fs::write(&bad.config, format!("{}\nfail\n", bad.ready_file.display()))
            .expect("config");
        let j = sup.start(&bad).expect("start");
        let e = sup
            .wait_ready(j, Duration::from_secs(20))
            .await
            .expect_err("exits");
        let msg = format!("{e:#}");
        assert!(
            msg.contains("chunkserver-1") && msg.contains("boom"),
            "{msg}"
        );
        assert!(sup.check_exits().is_empty(), "already reported");

        sup.shutdown(Duration::from_secs(10)).await;
        assert!(!is_running_with(ready.pid, &good.config));
    }
}
