//! One scenario from start to verdict: a fresh bucket and history, the workloads, the fault
//! (injected, held, healed), the wait until the cluster is healthy again, a little more
//! load, the final quiescent reads, then the checkers.

use super::client::Clients;
use super::cluster::Cluster;
use super::fault::{self, Scenario};
use super::{health, workload};
use crate::bench::sigv4::Credentials;
use crate::up::wait::Poll;
use anyhow::{anyhow, Context, Result};
use rand::rngs::StdRng;
use rand::Rng;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use trireme_torture::stats::{self, Latency};
use trireme_torture::{check, CheckConfig, History, OpClass, Outcome, ReadValue, Report};

/// Load before the fault.
const WARMUP: Duration = Duration::from_secs(3);
/// Load after the cluster is healthy again.
const AFTERMATH: Duration = Duration::from_secs(3);
/// How long the cluster may take to be healthy after a heal.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// What one scenario found.
pub struct ScenarioResult {
    pub name: &'static str,
    pub target: String,
    pub report: Report,
    /// p99 latencies of put and get invoked while the fault was in place.
    pub put_during: Option<Latency>,
    pub get_during: Option<Latency>,
    pub fault_secs: f64,
    /// From the heal until the cluster was healthy.
    pub recovery: Duration,
}

/// Runs scenario `s` (number `index` of the run) on `cluster`; files go to `out/NAME/`.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    cluster: &mut Cluster,
    creds: &Credentials,
    s: &Scenario,
    index: usize,
    hold: Duration,
    rng: &mut StdRng,
    out: &Path,
    inject_anomaly: bool,
) -> Result<ScenarioResult> {
    let dir = out.join(format!("{index:02}-{}", s.name));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let recorder = trireme_torture::Recorder::create_file(&dir.join("history.jsonl"))
        .context("creating the history file")?;
    let bucket = format!("torture-{index:02}-{}", s.name);
    let clients = Arc::new(Clients::new(
        &cluster.gateway_addrs(),
        creds,
        &bucket,
        recorder.clone(),
    ));
    let mut poll = Poll::new(format!("bucket {bucket}"), Duration::from_secs(60));
    while let Err(e) = clients.create_bucket().await {
        poll.again(&e.to_string()).await?;
    }
    health::wait_healthy(cluster, &clients, RECOVERY_TIMEOUT).await?;
    eprintln!("scenario {}: {}", s.name, s.about);
    let workers = workload::start(&clients, rng.gen());
    tokio::time::sleep(WARMUP).await;
    let fault_start = recorder.now();
    let hit = fault::run(s.fault, cluster, &clients, rng, hold).await;
    let fault_end = recorder.now();
    if hit.is_err() {
        fault::heal_all(cluster).await;
    }
    let recovered = health::wait_healthy(cluster, &clients, RECOVERY_TIMEOUT).await;
    if let Ok(r) = &recovered {
        eprintln!("  healthy {:.1}s after the heal", r.as_secs_f64());
        tokio::time::sleep(AFTERMATH).await;
    }
    workers.stop().await;
    let target = hit?;
    let recovery = recovered.map_err(|e| anyhow!("after {}: {e:#}", s.name))?;
    workload::final_reads(&clients, 5).await;
    let mut history = recorder.finish().context("closing the history")?;
    if inject_anomaly {
        history = tamper(&history)?;
        let f = std::fs::File::create(dir.join("history-tampered.jsonl"))?;
        trireme_torture::jsonl::write(&history, std::io::BufWriter::new(f))?;
    }
    let report = check(&history, &CheckConfig::default());
    std::fs::write(
        dir.join("report.txt"),
        format!("{report}\n{}\n", report.summary()),
    )?;
    Ok(ScenarioResult {
        name: s.name,
        target,
        put_during: stats::latency(&history, OpClass::Put, fault_start, fault_end),
        get_during: stats::latency(&history, OpClass::Get, fault_start, fault_end),
        fault_secs: (fault_end - fault_start) as f64 / 1e9,
        report,
        recovery,
    })
}

/// The history with one acknowledged read changed to return a value nobody wrote.
pub fn tamper(history: &History) -> Result<History> {
    let mut ops = history.ops().to_vec();
    let read = ops
        .iter_mut()
        .rev()
        .find(|op| op.read().is_some())
        .ok_or_else(|| anyhow!("--inject-anomaly: the history has no acknowledged read"))?;
    read.outcome = Outcome::read(Some(ReadValue {
        value: u64::MAX - 1,
        hash: "0".repeat(64),
        size: 1,
    }));
    History::from_ops(ops).map_err(|e| anyhow!("rebuilding the tampered history: {e}"))
}
