//! Meta-servers of a local cluster that the CLI starts and stops itself, outside the
//! `trireme up` supervisor (`trireme meta add --local`, `trireme meta remove`), and the
//! `cluster.json` bookkeeping of membership changes.
//!
//! A meta-server started by `trireme meta add --local` runs in its own process group with
//! no parent-death signal, so it outlives the CLI. Its pid is recorded in `cluster.json`
//! like every other process: `trireme up` stops it with its children when it stops
//! ([`signal_unsupervised`]), the test harness kills every pid the file lists, and the next
//! `trireme up` on the directory starts it as one of its own children. (If `trireme up`
//! itself is killed with SIGKILL, such a process keeps running: stop it by its pid.)

use crate::up::configs::{self, ProcessSpec, Role};
use crate::up::process::{is_running_with, log_tail, read_ready, Binaries};
use crate::up::wait::{Poll, STARTUP_TIMEOUT};
use crate::up::write_cluster_file;
use anyhow::{anyhow, Context, Result};
use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use trireme_api::cluster_file::{ClusterFile, ProcessInfo};
use trireme_api::config::MetaConfigFile;

/// Reads `cluster.json` as it is on disk now (another command may have changed it).
pub fn read_file(path: &Path) -> Result<ClusterFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Creates `meta-N` (config and directories, settings copied from an existing meta-server),
/// starts it detached, waits until it serves and records it in `cluster.json`. `id` None
/// takes the next free id.
pub async fn start(cluster_path: &Path, id: Option<u64>) -> Result<ProcessInfo> {
    let data_dir = cluster_path
        .parent()
        .ok_or_else(|| anyhow!("{} has no directory", cluster_path.display()))?;
    let file = read_file(cluster_path)?;
    let metas: Vec<&ProcessInfo> = file.processes.iter().filter(|p| p.role == "meta").collect();
    let template = metas.first().ok_or_else(|| {
        anyhow!(
            "--local needs a cluster started by `trireme up`: {} lists no meta-server process",
            cluster_path.display()
        )
    })?;
    let mut taken: BTreeSet<u64> = metas.iter().map(|p| p.id).collect();
    let id = match id {
        Some(i) if taken.contains(&i) => {
            return Err(anyhow!(
                "meta-{i} already exists in {}",
                cluster_path.display()
            ))
        }
        Some(i) => i,
        None => {
            taken.extend(existing_meta_dirs(data_dir));
            taken.last().map_or(1, |m| m + 1)
        }
    };
    let spec = ProcessSpec::new(data_dir, Role::Meta, id, 0);
    if spec.dir.exists() {
        return Err(anyhow!(
            "{} already exists (the data of a removed node?); remove it or choose another id",
            spec.dir.display()
        ));
    }
    let text = std::fs::read_to_string(&template.config)
        .with_context(|| format!("reading {}", template.config.display()))?;
    let template: MetaConfigFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", template.config.display()))?;
    let config = MetaConfigFile {
        node_id: id,
        listen: "127.0.0.1:0".into(),
        data_dir: spec.dir.join("db"),
        ready_file: Some(spec.ready_file.clone()),
        ..template
    };
    std::fs::create_dir_all(&spec.dir)
        .with_context(|| format!("creating {}", spec.dir.display()))?;
    configs::write_toml(&spec.config, &config)?;
    let bins = Binaries::find()?;
    let (pid, addr) = spawn_detached(&bins, &spec).await?;
    configs::set_listen(Role::Meta, &spec.config, &addr)?;
    let info = ProcessInfo {
        role: Role::Meta.name().into(),
        id,
        addr,
        pid,
        config: spec.config.clone(),
        disks: vec![],
    };
    let mut file = read_file(cluster_path)?;
    file.processes.push(info.clone());
    write_cluster_file(cluster_path, &file)?;
    Ok(info)
}

fn existing_meta_dirs(data_dir: &Path) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return vec![];
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("meta-")?.parse().ok()
        })
        .collect()
}

/// Starts the server in its own process group (it outlives this CLI) and waits for its
/// ready file; returns its pid and address.
async fn spawn_detached(bins: &Binaries, spec: &ProcessSpec) -> Result<(u32, String)> {
    let bin = bins.for_role(spec.role);
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)
        .with_context(|| format!("opening {}", spec.log.display()))?;
    writeln!(
        log,
        "=== trireme meta add --local: starting {} --config {}",
        bin.display(),
        spec.config.display()
    )?;
    let stderr = log.try_clone()?;
    let mut child = std::process::Command::new(bin)
        .arg("--config")
        .arg(&spec.config)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {} for {}", bin.display(), spec.label()))?;
    let pid = child.id();
    let mut poll = Poll::new(format!("{} to become ready", spec.label()), STARTUP_TIMEOUT);
    loop {
        if let Some(ready) = read_ready(&spec.ready_file).filter(|r| r.pid == pid) {
            return Ok((pid, ready.addr));
        }
        if let Some(status) = child.try_wait()? {
            let tail = log_tail(&spec.log, 20).unwrap_or_default();
            return Err(anyhow!(
                "{} (pid {pid}) exited with {status} before it was ready; end of {}:\n{tail}",
                spec.label(),
                spec.log.display()
            ));
        }
        if let Err(e) = poll.again("no ready file yet").await {
            let _ = child.kill();
            return Err(e);
        }
    }
}

/// SIGTERM, up to `grace` to exit, then SIGKILL. Returns whether it was running.
pub async fn stop(info: &ProcessInfo, grace: Duration) -> Result<bool> {
    if !is_running_with(info.pid, &info.config) {
        return Ok(false);
    }
    signal(info.pid, libc::SIGTERM);
    if wait_gone(std::slice::from_ref(info), grace).await {
        return Ok(true);
    }
    signal(info.pid, libc::SIGKILL);
    if wait_gone(std::slice::from_ref(info), Duration::from_secs(5)).await {
        return Ok(true);
    }
    Err(anyhow!(
        "meta-{} (pid {}) did not exit after SIGKILL",
        info.id,
        info.pid
    ))
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a pid whose command line we just checked names this process's config.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

async fn wait_gone(procs: &[ProcessInfo], timeout: Duration) -> bool {
    let mut poll = Poll::new("processes to exit", timeout);
    loop {
        let left = procs
            .iter()
            .filter(|p| is_running_with(p.pid, &p.config))
            .count();
        if left == 0 {
            return true;
        }
        if poll.again(&format!("{left} still running")).await.is_err() {
            return false;
        }
    }
}

/// For `trireme up` when it stops: SIGTERM to the running processes of `cluster.json` that
/// are not its children (meta-servers added with `meta add --local`). Returns them.
pub fn signal_unsupervised(cluster_path: &Path, children: &[u32]) -> Vec<ProcessInfo> {
    let Ok(file) = read_file(cluster_path) else {
        return vec![];
    };
    let others: Vec<ProcessInfo> = file
        .processes
        .into_iter()
        .filter(|p| !children.contains(&p.pid) && is_running_with(p.pid, &p.config))
        .collect();
    for p in &others {
        signal(p.pid, libc::SIGTERM);
    }
    others
}

/// Waits up to `grace` for `procs` to exit, then SIGKILLs the ones left.
pub async fn reap_unsupervised(procs: &[ProcessInfo], grace: Duration) {
    if procs.is_empty() || wait_gone(procs, grace).await {
        return;
    }
    for p in procs.iter().filter(|p| is_running_with(p.pid, &p.config)) {
        eprintln!(
            "{}-{} (pid {}) did not stop; killing it",
            p.role, p.id, p.pid
        );
        signal(p.pid, libc::SIGKILL);
    }
    wait_gone(procs, Duration::from_secs(5)).await;
}

/// Whether `cluster.json` still lists the process (true if it cannot be read).
pub fn listed(cluster_path: &Path, role: Role, id: u64) -> bool {
    read_file(cluster_path).map_or(true, |f| {
        f.processes
            .iter()
            .any(|p| p.role == role.name() && p.id == id)
    })
}

/// Drops meta `id` from `cluster.json` (its process entry and `addr` from the meta list) and
/// from the meta lists of the chunkserver and gateway configs; returns its process entry.
pub fn forget(cluster_path: &Path, id: u64, addr: &str) -> Result<Option<ProcessInfo>> {
    let mut file = read_file(cluster_path)?;
    let pos = file
        .processes
        .iter()
        .position(|p| p.role == Role::Meta.name() && p.id == id);
    let info = pos.map(|i| file.processes.remove(i));
    file.meta.retain(|a| a != addr);
    if let Some(info) = &info {
        file.meta.retain(|a| *a != info.addr);
    }
    save_meta_list(cluster_path, file)?;
    Ok(info)
}

/// Adds `addr` to the meta lists (cluster.json and the chunkserver and gateway configs).
pub fn remember(cluster_path: &Path, addr: &str) -> Result<()> {
    let mut file = read_file(cluster_path)?;
    if file.meta.iter().any(|a| a == addr) {
        return Ok(());
    }
    file.meta.push(addr.to_string());
    save_meta_list(cluster_path, file)
}

/// Writes `cluster.json` and the `meta` list of every chunkserver and gateway config (used
/// when they start again; running processes follow leader redirects).
fn save_meta_list(cluster_path: &Path, file: ClusterFile) -> Result<()> {
    for p in file
        .processes
        .iter()
        .filter(|p| p.role != Role::Meta.name())
    {
        let text = std::fs::read_to_string(&p.config)
            .with_context(|| format!("reading {}", p.config.display()))?;
        let mut table: toml::Table = text
            .parse()
            .with_context(|| format!("parsing {}", p.config.display()))?;
        if !table.contains_key("meta") {
            continue;
        }
        let list = file.meta.iter().cloned().map(toml::Value::String).collect();
        table.insert("meta".into(), toml::Value::Array(list));
        configs::write_atomic(&p.config, toml::to_string(&table)?.as_bytes())?;
    }
    write_cluster_file(cluster_path, &file)
}

/// Undoes a failed `start`: stops the process, forgets it and deletes its new directory.
pub async fn undo_start(cluster_path: &Path, info: &ProcessInfo) -> Result<()> {
    stop(info, Duration::from_secs(10)).await?;
    forget(cluster_path, info.id, &info.addr)?;
    if let Some(dir) = info.config.parent() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::cluster_file::CLUSTER_FILE_VERSION;

    fn process(dir: &Path, role: Role, id: u64, addr: &str) -> ProcessInfo {
        let spec = ProcessSpec::new(dir, role, id, 0);
        std::fs::create_dir_all(&spec.dir).expect("mkdir");
        let text = format!("listen = \"{addr}\"\nmeta = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n");
        let text = if role == Role::Meta {
            format!("listen = \"{addr}\"\n")
        } else {
            text
        };
        std::fs::write(&spec.config, text).expect("config");
        ProcessInfo {
            role: role.name().into(),
            id,
            addr: addr.into(),
            pid: 0,
            config: spec.config,
            disks: vec![],
        }
    }

    #[test]
    fn remember_and_forget_keep_cluster_json_and_configs_in_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let path = d.join("cluster.json");
        let file = ClusterFile {
            version: CLUSTER_FILE_VERSION,
            cluster_id: "c".into(),
            secret: "s".into(),
            endpoint: "http://127.0.0.1:9000".into(),
            region: "us-east-1".into(),
            access_key: "AK".into(),
            secret_key: "SK".into(),
            meta: vec!["127.0.0.1:1".into(), "127.0.0.1:2".into()],
            processes: vec![
                process(d, Role::Meta, 1, "127.0.0.1:1"),
                process(d, Role::Meta, 2, "127.0.0.1:2"),
                process(d, Role::Chunkserver, 1, "127.0.0.1:5"),
                process(d, Role::Gateway, 1, "127.0.0.1:9000"),
            ],
            admin_token: None,
            reader_token: None,
        };
        write_cluster_file(&path, &file).expect("write");
        std::fs::create_dir_all(d.join("meta-7.removed")).expect("mkdir");
        std::fs::create_dir_all(d.join("meta-3")).expect("mkdir");
        let mut found = existing_meta_dirs(d);
        found.sort_unstable();
        assert_eq!(found, vec![1, 2, 3]);

        remember(&path, "127.0.0.1:3").expect("remember");
        remember(&path, "127.0.0.1:3").expect("idempotent");
        let f = read_file(&path).expect("read");
        assert_eq!(f.meta, vec!["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);
        let cs: toml::Table = std::fs::read_to_string(&f.processes[2].config)
            .expect("read")
            .parse()
            .expect("toml");
        assert_eq!(cs["meta"].as_array().map(Vec::len), Some(3));
        assert_eq!(
            cs["listen"].as_str(),
            Some("127.0.0.1:5"),
            "other fields kept"
        );

        let gone = forget(&path, 1, "127.0.0.1:1").expect("forget");
        assert_eq!(gone.map(|p| p.id), Some(1));
        assert!(!listed(&path, Role::Meta, 1));
        assert!(listed(&path, Role::Meta, 2));
        let f = read_file(&path).expect("read");
        assert_eq!(f.meta, vec!["127.0.0.1:2", "127.0.0.1:3"]);
        let gw = std::fs::read_to_string(&f.processes[2].config).expect("read");
        assert!(
            gw.contains("127.0.0.1:3") && !gw.contains("127.0.0.1:1\""),
            "{gw}"
        );
        let meta2 = std::fs::read_to_string(&f.processes[0].config).expect("read");
        assert!(
            !meta2.contains("meta ="),
            "meta configs have no meta list: {meta2}"
        );
        assert!(forget(&path, 9, "127.0.0.1:9").expect("unknown").is_none());
    }
}
