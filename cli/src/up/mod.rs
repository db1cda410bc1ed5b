//! `trireme up`: run a local cluster as child processes under one data directory.
//!
//! The first run on an empty directory creates the cluster ([`init`]); a run on a directory
//! holding `cluster.json` starts the same processes again on the same ports ([`restart`]).
//! Either way it then prints the S3 endpoint and credentials and supervises the children
//! until SIGINT/SIGTERM, when it stops them all.

pub mod configs;
pub mod init;
pub mod local_meta;
pub mod process;
pub mod restart;
pub mod tokens;
pub mod wait;

use crate::cli::UpArgs;
use crate::error::CliError;
use anyhow::{anyhow, Context, Result};
use configs::{ProcessSpec, Settings};
use process::{Binaries, Signals, Supervisor, STOP_GRACE};
use std::path::Path;
use std::time::Duration;
use trireme_api::cluster_file::{ClusterFile, ProcessInfo, CLUSTER_FILE_NAME};

/// Runs `trireme up` in `dir` until a signal.
pub async fn run(args: &UpArgs, dir: &Path) -> Result<(), CliError> {
    let usage = |e: anyhow::Error| CliError::Usage(format!("{e:#}"));
    let failed = |e: anyhow::Error| CliError::Failed(format!("{e:#}"));
    let settings = Settings::from_args(args).map_err(usage)?;
    let bins = Binaries::find().map_err(usage)?;
    if dir.to_str().is_none() {
        return Err(CliError::Usage(format!(
            "the data directory {} is not valid UTF-8",
            dir.display()
        )));
    }
    let dir = std::fs::create_dir_all(dir)
        .and_then(|()| dir.canonicalize())
        .map_err(|e| {
            CliError::Failed(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
    let mut signals = Signals::new().map_err(failed)?;
    let mut sup = Supervisor::new(bins);
    let outcome = tokio::select! {
        r = start(&mut sup, &dir, &settings, shapes_cluster(args)) => Some(r),
        _ = signals.recv() => None,
    };
    let file = match outcome {
        Some(Ok(file)) => file,
        Some(Err(e)) => {
            sup.shutdown(STOP_GRACE).await;
            return Err(failed(e));
        }
        None => {
            eprintln!("interrupted during start-up");
            sup.shutdown(STOP_GRACE).await;
            return Ok(());
        }
    };
    // Keep supervising even if nobody reads stdout any more.
    let _ = crate::output::emit(&banner(&file, &dir));
    let path = dir.join(CLUSTER_FILE_NAME);
    watch(&mut sup, &mut signals, &path).await;
    // Meta-servers added by `trireme meta add --local` are not our children; stop them too.
    let others = local_meta::signal_unsupervised(&path, &sup.pids());
    sup.shutdown(STOP_GRACE).await;
    local_meta::reap_unsupervised(&others, STOP_GRACE).await;
    eprintln!("stopped");
    Ok(())
}

/// Whether any flag that shapes a new cluster was given.
fn shapes_cluster(a: &UpArgs) -> bool {
    a.s3_addr.is_some()
        || a.meta.is_some()
        || a.chunkservers.is_some()
        || a.disks.is_some()
        || a.chunk_size.is_some()
        || a.chunkserver_timeout_ms.is_some()
        || a.heartbeat_ms.is_some()
        || a.replicas.is_some()
        || a.gc_grace_ms.is_some()
        || a.inventory_ms.is_some()
        || a.health_ms.is_some()
        || a.ledger_sweep_ms.is_some()
}

async fn start(
    sup: &mut Supervisor,
    dir: &Path,
    settings: &Settings,
    flags_given: bool,
) -> Result<ClusterFile> {
    let path = dir.join(CLUSTER_FILE_NAME);
    if path.exists() {
        eprintln!("restarting the cluster in {}", dir.display());
        if flags_given {
            eprintln!("note: the cluster's stored configs are reused; flags shaping a new cluster are ignored");
        }
        return restart::restart(sup, dir, &path).await;
    }
    let not_empty = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .next()
        .is_some();
    if not_empty {
        return Err(anyhow!(
            "{} is not empty but holds no {CLUSTER_FILE_NAME} (an interrupted first start?); \
             remove it or choose another --data-dir",
            dir.display()
        ));
    }
    eprintln!("creating a new cluster in {}", dir.display());
    init::first_start(sup, dir, settings).await
}

/// Warns about children that exit, until SIGINT/SIGTERM. One that `cluster.json` no longer
/// lists was removed from the cluster (`trireme meta remove`) and stopped on purpose.
async fn watch(sup: &mut Supervisor, signals: &mut Signals, cluster_path: &Path) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = signals.recv() => return,
            _ = tick.tick() => {
                for (role, id, warning) in sup.check_exits() {
                    if local_meta::listed(cluster_path, role, id) {
                        eprintln!("{warning}");
                    } else {
                        eprintln!("{}-{id} stopped: it was removed from the cluster", role.name());
                    }
                }
            }
        }
    }
}

/// A process that started and is ready.
#[derive(Clone, Debug)]
pub struct Started {
    pub spec: ProcessSpec,
    pub addr: String,
    pub pid: u32,
}

impl Started {
    pub fn info(&self) -> ProcessInfo {
        ProcessInfo {
            role: self.spec.role.name().to_string(),
            id: self.spec.id,
            addr: self.addr.clone(),
            pid: self.pid,
            config: self.spec.config.clone(),
            disks: self.spec.disks.clone(),
        }
    }
}

/// Starts every process of a group, waits until each is ready and pins its config to the
/// address it bound (so that a restart binds the same port).
pub async fn start_group(sup: &mut Supervisor, specs: &[ProcessSpec]) -> Result<Vec<Started>> {
    if let Some(first) = specs.first() {
        eprintln!("starting {}...", first.role.count(specs.len()));
    }
    let mut indexes = Vec::with_capacity(specs.len());
    for spec in specs {
        indexes.push(sup.start(spec)?);
    }
    let mut out = Vec::with_capacity(specs.len());
    for (spec, index) in specs.iter().zip(indexes) {
        let ready = sup.wait_ready(index, wait::STARTUP_TIMEOUT).await?;
        configs::set_listen(spec.role, &spec.config, &ready.addr)?;
        let pid = sup.pid(index).unwrap_or(ready.pid);
        out.push(Started {
            spec: spec.clone(),
            addr: ready.addr,
            pid,
        });
    }
    Ok(out)
}

/// Writes `cluster.json` atomically.
pub fn write_cluster_file(path: &Path, file: &ClusterFile) -> Result<()> {
    let text = serde_json::to_string_pretty(file).context("encoding cluster.json")?;
    configs::write_atomic(path, format!("{text}\n").as_bytes())
}

/// What `trireme up` prints once the cluster serves.
pub fn banner(f: &ClusterFile, dir: &Path) -> String {
    let ep = &f.endpoint;
    let dir = dir.display();
    format!(
        "\nTrireme is up.\n\n\
         \x20 S3 endpoint   {ep}\n\
         \x20 region        {region}\n\
         \x20 access key    {ak}\n\
         \x20 secret key    {sk}\n\
         \x20 data dir      {dir}\n\n\
         Try it with the AWS CLI:\n\
         \x20 export AWS_ACCESS_KEY_ID={ak} AWS_SECRET_ACCESS_KEY={sk} AWS_DEFAULT_REGION={region}\n\
         \x20 aws --endpoint-url {ep} s3 mb s3://demo\n\
         \x20 aws --endpoint-url {ep} s3 cp ./some-file s3://demo/\n\
         \x20 aws --endpoint-url {ep} s3 ls s3://demo\n\n\
         Operator tokens (admin, reader): admin_token and reader_token in {dir}/cluster.json\n\
         \x20 (the CLI uses the admin token; another with --token or $TRIREME_TOKEN)\n\n\
         Admin: trireme --data-dir {dir} cluster status\n\
         Audit: trireme --data-dir {dir} audit\n\n\
         Ctrl-C to stop.\n",
        region = f.region,
        ak = f.access_key,
        sk = f.secret_key,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::cluster_file::CLUSTER_FILE_VERSION;

    #[test]
    fn banner_names_endpoint_and_keys() {
        let f = ClusterFile {
            version: CLUSTER_FILE_VERSION,
            cluster_id: "c".into(),
            secret: "s".into(),
            endpoint: "http://127.0.0.1:9000".into(),
            region: "us-east-1".into(),
            access_key: "AKX".into(),
            secret_key: "SKY".into(),
            meta: vec![],
            processes: vec![],
            admin_token: Some("trt_a".into()),
            reader_token: Some("trt_r".into()),
        };
        let b = banner(&f, Path::new("/data"));
        assert!(b.contains("  S3 endpoint   http://127.0.0.1:9000\n"), "{b}");
        assert!(
            b.contains("AWS_ACCESS_KEY_ID=AKX AWS_SECRET_ACCESS_KEY=SKY"),
            "{b}"
        );
        assert!(
            b.contains("aws --endpoint-url http://127.0.0.1:9000 s3 mb s3://demo"),
            "{b}"
        );
        assert!(b.contains("trireme --data-dir /data cluster status"), "{b}");
        assert!(
            b.contains("admin_token and reader_token in /data/cluster.json"),
            "{b}"
        );
        assert!(b.contains("trireme --data-dir /data audit"), "{b}");
        assert!(b.ends_with("Ctrl-C to stop.\n"), "{b}");
    }
}
