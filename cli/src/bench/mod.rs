//! `trireme bench`: an S3 benchmark that is part of the product, and `--limits DIR`, the
//! machine's own ceilings to judge its results by.
//!
//! It talks only S3 (no meta-server, no operator token): by default to the local cluster
//! named by `cluster.json`, or to any endpoint given with `--endpoint`. The client is its own
//! (hyper 1, a keep-alive pool, SigV4 with a cached signing key, zero-copy bodies sliced from
//! one seeded random buffer), so that the numbers measure the server and the client's CPU per
//! request is printed to prove it.
//!
//! # Layout
//! - [`args`]: the flags; [`parse`]: durations, error rates, mixes; [`config`]: checked
//!   settings and the target (flags, `$AWS_*`, or the cluster file).
//! - [`sigv4`]: the request signer (tests against the AWS suite in `sigv4_tests.rs`);
//!   [`s3`]: the HTTP client and errors; [`s3_ops`]: PUT/multipart/GET/HEAD/DELETE/LIST and
//!   bucket calls; [`body`]: zero-copy request bodies; [`xml`]: reading S3 responses.
//! - [`data`]: the seeded PRNG, the data buffer, keys and byte checks.
//! - [`runner`]: phases and workers; [`mixed`]: the live object set of the mixed workload;
//!   [`workload`]: set-up, prepare, run, clean-up; [`progress`]: the line on stderr.
//! - [`hist`]: the latency histogram; [`stats`]: per-worker recorders and client CPU;
//!   [`op`]: operation types.
//! - [`servers`]: the local cluster's CPU and data-disk reads during a phase.
//! - [`limits`], [`limits_disk`], [`limits_cpu`]: the ceilings; [`ceilings`]: results as
//!   shares of them.
//! - [`report`]: the report and its JSON; [`report_text`]: its human form.

pub mod args;
pub mod body;
pub mod ceilings;
pub mod config;
pub mod data;
pub mod hist;
pub mod limits;
pub mod limits_cpu;
pub mod limits_disk;
pub mod mixed;
pub mod op;
pub mod parse;
pub mod progress;
pub mod report;
pub mod report_text;
pub mod runner;
pub mod s3;
pub mod s3_ops;
pub mod servers;
pub mod sigv4;
pub mod stats;
pub mod workload;
pub mod xml;

pub use args::BenchArgs;

use crate::cli::GlobalArgs;
use crate::error::CliError;
use crate::output::{emit, print_json};
use config::Config;
use data::Data;
use report::Report;
use std::time::Instant;

/// Runs `trireme bench` to the end: the ceilings (with `--limits`), the workload, the report.
pub async fn run(global: &GlobalArgs, args: BenchArgs) -> Result<(), CliError> {
    let cfg = Config::from_args(global, args)?;
    // The CLI runs on a current-thread runtime; the benchmark wants every core, so it gets a
    // multi-threaded runtime of its own on a blocking thread.
    tokio::task::spawn_blocking(move || run_blocking(cfg))
        .await
        .map_err(|e| CliError::Failed(format!("the benchmark stopped: {e}")))?
}

fn run_blocking(cfg: Config) -> Result<(), CliError> {
    let start = Instant::now();
    let chatty = cfg.progress;
    let say = move |m: &str| {
        if chatty {
            eprintln!("{m}");
        }
    };
    let limits = match &cfg.limits {
        Some(l) => Some(limits::measure(l, &say)?),
        None => None,
    };
    let phases = if cfg.workload.is_some() {
        let data = Data::new(cfg.seed, cfg.size, &cfg.key_prefix, cfg.prefixes);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(workload::run(cfg.clone(), data))?
    } else {
        Vec::new()
    };
    let total_ops: u64 = phases
        .iter()
        .map(|p| p.stats.total_ops() + p.stats.total_errors())
        .sum();
    let total_errors: u64 = phases.iter().map(|p| p.stats.total_errors()).sum();
    let error_rate = if total_ops == 0 {
        0.0
    } else {
        total_errors as f64 / total_ops as f64
    };
    let ratios = limits
        .as_ref()
        .map(|c| ceilings::ratios(&cfg, &phases, c))
        .unwrap_or_default();
    let report = Report {
        settings: report::settings(&cfg),
        phases: phases.iter().map(report::phase_report).collect(),
        wall_s: start.elapsed().as_secs_f64(),
        total_ops,
        total_errors,
        error_rate,
        max_error_rate: cfg.max_error_rate,
        limits,
        ratios,
    };
    if cfg.json {
        print_json(&report)?;
    } else {
        emit(&report_text::render(&report))?;
    }
    if error_rate > cfg.max_error_rate {
        return Err(CliError::Failed(format!(
            "{total_errors} of {total_ops} operations failed ({:.2}%, more than --max-error-rate {:.2}%)",
            error_rate * 100.0,
            cfg.max_error_rate * 100.0
        )));
    }
    Ok(())
}
