//! `trireme torture`: a Jepsen-style fault-torture run. It starts a cluster whose nodes each
//! live in their own network namespace (so partitions and packet loss can be made with
//! nftables between them), runs recorded client workloads, injects one named fault per
//! scenario, heals, waits for health, reads every key once more, and checks each history
//! with [`trireme_torture::check`]. It prints each scenario's report, a table of them all and,
//! as its last line, a one-line summary; it exits 1 on any anomaly (and on undecided keys
//! with `--strict`). `trireme torture check FILE` re-checks a saved history.
//!
//! Needs root. Everything it creates (namespaces, veth pairs, the bridge, nft tables,
//! processes, the chunkservers' loop-mounted disks) is removed at the end, on failure and on Ctrl-C; `--cleanup` removes what a
//! killed run left.
//!
//! # Layout
//! - [`args`]: flags and the run plan; [`fault`]: faults, targets and the named scenarios;
//!   [`nft`]: nftables rule text and its application in a namespace.
//! - [`net`]: namespaces, veth pairs, the bridge, leftovers; [`procs`]: server processes in
//!   their namespaces; [`cluster`]: layout, configs, the cluster guard; [`health`]: Raft
//!   init, the leader, "healthy".
//! - [`client`]: recorded S3 operations (the benchmark's SigV4 client); [`multipart`]:
//!   recorded multipart uploads; [`workload`]: the register, list, large-object and multipart
//!   workers and the final reads.
//! - [`scenario`]: one scenario from start to report; [`report`]: the table and summary.
//! - Fault bodies: [`proxy`] (latency through a userspace TCP proxy), [`shaping`] (bandwidth
//!   caps with `tc tbf`), [`skew`] (wall-clock skew with libfaketime).
//! - [`disks`]: the chunkservers' loop-mounted XFS and ext4 disks and their leftovers;
//!   [`diskfault`]: disk death, full and read-only disks ([`diskcorrupt`]: corrupt chunk
//!   files); [`diskcheck`]: after a disk fault, the wait until the data is whole again.

pub mod args;
pub mod client;
pub mod cluster;
pub mod diskcheck;
pub mod diskcorrupt;
pub mod diskfault;
pub mod disks;
pub mod fault;
pub mod health;
pub mod membership;
pub mod multipart;
pub mod net;
pub mod nft;
pub mod procs;
pub mod proxy;
pub mod report;
pub mod scenario;
pub mod shaping;
pub mod skew;
pub mod workload;

pub use args::TortureArgs;

use crate::error::CliError;
use crate::up::process::{Binaries, Signals};
use args::{Plan, TortureCommand};
use cluster::Cluster;
use rand::rngs::StdRng;
use rand::SeedableRng;
use scenario::ScenarioResult;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trireme_torture::{check, CheckConfig};

/// Runs `trireme torture`.
pub async fn run(args: TortureArgs) -> Result<(), CliError> {
    if let Some(TortureCommand::Check(c)) = &args.command {
        return check_file(&c.history, c.strict);
    }
    if args.list {
        for s in fault::SCENARIOS {
            let short = if fault::SHORT.contains(&s.name) {
                " (--short)"
            } else {
                ""
            };
            println!("{:<24} {}{short}", s.name, s.about);
        }
        return Ok(());
    }
    net::preflight().map_err(CliError::Usage)?;
    if args.cleanup {
        let mut removed = net::cleanup_leftovers();
        removed.extend(disks::cleanup_leftovers());
        for r in &removed {
            println!("removed {r}");
        }
        println!("{} leftovers removed", removed.len());
        return Ok(());
    }
    let plan = args.plan().map_err(CliError::Usage)?;
    let bins = Binaries::find().map_err(|e| CliError::Usage(format!("{e:#}")))?;
    if let Some((run, pid)) = net::other_live_run() {
        return Err(CliError::Usage(format!(
            "another torture run ({run}, pid {pid}) is active; runs share the subnet \
             {}.0/24, so wait for it to finish",
            net::SUBNET_PREFIX
        )));
    }
    let mut leftovers = net::cleanup_leftovers();
    leftovers.extend(disks::cleanup_leftovers());
    if !leftovers.is_empty() {
        eprintln!("removed {} leftovers of an earlier run", leftovers.len());
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let run_id = format!("{:04x}", rand::random::<u16>());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("torture-out").join(&run_id));
    std::fs::create_dir_all(&out)
        .map_err(|e| CliError::Failed(format!("creating {}: {e}", out.display())))?;
    let out = out.canonicalize().unwrap_or(out);
    eprintln!(
        "torture run {run_id}: seed {seed}, output in {}",
        out.display()
    );
    let mut signals = Signals::new().map_err(|e| CliError::Failed(format!("{e:#}")))?;
    let mut results = Vec::new();
    let outcome = tokio::select! {
        r = run_plan(&plan, &args, &bins, &run_id, seed, &out, &mut results) => Some(r),
        _ = signals.recv() => None,
    };
    // The cluster guard inside run_plan has removed processes and network by now.
    let failure = match outcome {
        None => Some(CliError::Failed("interrupted; cluster removed".into())),
        Some(Err(e)) => Some(CliError::Failed(format!("{e:#}"))),
        Some(Ok(())) => None,
    };
    finish(&results, failure, args.strict, args.keep_data, &out)
}

async fn run_plan(
    plan: &Plan,
    args: &TortureArgs,
    bins: &Binaries,
    run_id: &str,
    seed: u64,
    out: &Path,
    results: &mut Vec<ScenarioResult>,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut cluster = Cluster::create(&out.join("cluster"), run_id, args.gateways, bins)?;
    eprintln!(
        "starting the cluster (3 meta-servers, 4 chunkservers, {} gateway(s))",
        args.gateways
    );
    let creds = health::bootstrap(&mut cluster).await?;
    let started = Instant::now();
    let mut index = 0;
    loop {
        for name in &plan.scenarios {
            let s = fault::scenario(name).ok_or_else(|| anyhow::anyhow!("no scenario {name}"))?;
            index += 1;
            let r = scenario::run(
                &mut cluster,
                &creds,
                s,
                index,
                plan.hold,
                &mut rng,
                out,
                args.inject_anomaly,
            )
            .await?;
            println!("\n== {} ({}, fault on {})", r.name, s.about, r.target);
            println!("{}", r.report);
            if let Some(figures) = diskcheck::take_figures(&cluster) {
                println!("{figures}");
            }
            results.push(r);
        }
        match plan.soak {
            Some(limit) if started.elapsed() < limit => continue,
            _ => break,
        }
    }
    cluster.shutdown().await;
    Ok(())
}

/// Prints the table and the summary (last), and turns the verdict into the exit status.
fn finish(
    results: &[ScenarioResult],
    failure: Option<CliError>,
    strict: bool,
    keep_data: bool,
    out: &Path,
) -> Result<(), CliError> {
    if !results.is_empty() {
        println!("\n{}", report::table(results));
    }
    let line = report::summary(results);
    println!("{line}");
    if let Some(e) = failure {
        return Err(e);
    }
    let anomalies: usize = results.iter().map(|r| r.report.anomalies.len()).sum();
    let undecided: usize = results.iter().map(|r| r.report.undecided.len()).sum();
    if anomalies > 0 || (strict && undecided > 0) {
        return Err(CliError::Problem(format!(
            "{line} (histories and reports in {})",
            out.display()
        )));
    }
    if !keep_data {
        let _ = std::fs::remove_dir_all(out.join("cluster"));
    }
    Ok(())
}

/// `trireme torture check FILE`.
fn check_file(path: &Path, strict: bool) -> Result<(), CliError> {
    let history =
        trireme_torture::jsonl::load_file(path).map_err(|e| CliError::Usage(e.to_string()))?;
    let report = check(&history, &CheckConfig::default());
    println!("{report}");
    let line = report.summary();
    println!("{line}");
    if !report.is_clean() || (strict && !report.undecided.is_empty()) {
        return Err(CliError::Problem(line));
    }
    Ok(())
}
