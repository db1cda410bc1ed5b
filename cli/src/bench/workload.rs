//! A benchmark run against the endpoint: check it answers and make the bucket, prepare the
//! objects a reading workload needs, run the measured phase, clean up if asked.

use super::args::Workload;
use super::config::Config;
use super::data::Data;
use super::mixed::LiveSet;
use super::op::Op;
use super::runner::{run_phase, PhaseResult, Plan, Shared, Source};
use super::s3::{S3Client, S3Error};
use super::servers::Probe;
use crate::error::CliError;
use std::sync::Arc;

/// Maps a set-up failure to the CLI's errors; all exit 2 (the run could not start):
/// unreachable, refused credentials (any 403: HEAD answers carry no error code), a request
/// the endpoint calls bad (e.g. an invalid bucket name), or an unavailable endpoint.
fn setup_error(endpoint: &str, what: &str, e: S3Error) -> CliError {
    let msg = crate::error::one_line(&e.to_string());
    match e.status() {
        None => CliError::Unreachable(format!("cannot reach the S3 endpoint {endpoint}: {msg}")),
        Some(403) => CliError::Unreachable(format!(
            "{what}: the S3 endpoint {endpoint} refused our credentials or access to the \
             bucket: {msg}"
        )),
        Some(s) if (400..500).contains(&s) => {
            CliError::Usage(format!("{what} at {endpoint}: {msg}"))
        }
        Some(_) => CliError::Unreachable(format!(
            "{what}: the S3 endpoint {endpoint} is unavailable: {msg}"
        )),
    }
}

/// Runs the workload of `cfg` with `data`; returns its phases in order (none without a
/// workload).
pub async fn run(cfg: Config, data: Data) -> Result<Vec<PhaseResult>, CliError> {
    let (Some(workload), Some(target)) = (cfg.workload, cfg.target.clone()) else {
        return Ok(Vec::new());
    };
    let connections = (cfg.concurrency * cfg.multipart.concurrency as u64 + 4) as usize;
    let client = S3Client::new(
        target.endpoint.clone(),
        target.creds.clone(),
        cfg.sign_payload,
        connections,
    );
    let base = target.endpoint.base.clone();
    let bucket = cfg.bucket.clone();
    let exists = tokio::time::timeout(cfg.timeout, client.bucket_exists(&bucket))
        .await
        .unwrap_or(Err(S3Error::Timeout(cfg.timeout)))
        .map_err(|e| setup_error(&base, &format!("HeadBucket {bucket}"), e))?;
    if !exists {
        client
            .create_bucket(&bucket, &target.creds.region)
            .await
            .map_err(|e| setup_error(&base, &format!("CreateBucket {bucket}"), e))?;
    }
    // The data disk: the cluster's own, else the one `--limits` measured.
    let disk_dir = target
        .cluster_dir
        .clone()
        .or_else(|| cfg.limits.as_ref().map(|l| l.dir.clone()));
    let servers = Probe::discover(target.cluster_dir.as_deref(), disk_dir.as_deref());
    let sh = Arc::new(Shared {
        cfg,
        client,
        data,
        servers,
    });
    let cfg = &sh.cfg;
    let mut phases = Vec::new();
    if cfg.prepare > 0 {
        let plan = Plan::new("prepare", Source::put(0, Some(cfg.prepare)), None, None);
        phases.push(run_phase(&sh, plan).await);
    }
    let source = match workload {
        Workload::Put => Source::put(0, None),
        Workload::Get => Source::Read {
            op: Op::Get,
            objects: cfg.existing,
        },
        Workload::Head => Source::Read {
            op: Op::Head,
            objects: cfg.existing,
        },
        Workload::Delete => Source::delete(cfg.existing),
        Workload::List => Source::List,
        Workload::Mixed => Source::Mixed(LiveSet::new(cfg.existing)),
    };
    let plan = Plan::new("run", source, cfg.duration, cfg.objects);
    phases.push(run_phase(&sh, plan).await);
    if cfg.cleanup {
        // Objects this run wrote (prepared, put, or put by the mix) are below this.
        let written = phases.iter().map(|p| p.high_water).max().unwrap_or(0);
        if written > 0 {
            let plan = Plan::new("cleanup", Source::delete(written), None, None);
            phases.push(run_phase(&sh, plan).await);
        }
        if !exists {
            // Best effort: a bucket holding other objects stays.
            let _ = sh.client.delete_bucket(&bucket).await;
        }
    }
    Ok(phases)
}
