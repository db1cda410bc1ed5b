//! # trireme-cli: the `trireme` admin CLI and `trireme up`
//!
//! `trireme up` runs a whole local cluster (meta-servers, chunkservers, a gateway) as child
//! processes under one data directory and writes `cluster.json`; the admin commands read that
//! file, talk to the meta-servers through [`trireme_client::MetaClient`] and print aligned
//! tables for people or JSON (`--json`) for scripts. This crate depends only on the contract
//! crate and the clients, never on a server crate.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 bad usage, the cluster is unreachable,
//! or our credentials do not allow the command ("permission denied: needs an admin token").
//! Check commands (`repair lost`, `cluster status --check`, `object explain --check`) exit 1
//! when they find a problem and 2 when they cannot run.
//! Destructive commands print what they will do and ask first (see [`confirm`]).
//!
//! Credentials: the admin commands send an operator token (admin or reader role), never the
//! cluster secret; `--reason` is recorded with every admin action (`trireme audit`).
//!
//! # Layout
//! - [`cli`]: the clap argument structs (global options, subcommands, `up` flags).
//! - [`error`]: [`error::CliError`] and its exit codes; mapping of client errors.
//! - [`cluster`]: finding the cluster file (`--data-dir`, `--config`, `TRIREME_DATA_DIR`,
//!   `./trireme-data`), choosing the operator token (`--token`, `TRIREME_TOKEN`, the file's)
//!   and building the [`trireme_client::MetaClient`].
//! - [`confirm`]: the confirmation of destructive commands (`--yes`; refused without a
//!   terminal).
//! - [`commands`]: one file per admin command family (`cluster`, `chunkserver`, `disk`,
//!   `bucket`, `key`, `repair` status, `lost` objects, `worker`, `scrub`, `token`, `audit`,
//!   `meta` members and transfer-leader, `meta_add`: meta add and remove; `explain`: object
//!   explain; `show`: chunkserver and disk show; `health`: the durability, repair and scrub
//!   lines and the warnings of `cluster status`) and the dispatcher.
//! - [`table`]: aligned text tables.
//! - [`output`]: JSON printing and human formatting (bytes, times, disk states).
//! - [`up`]: `trireme up`: config generation ([`up::configs`]), child processes and signals
//!   ([`up::process`]), deadline-bounded condition polls ([`up::wait`]), the first start
//!   ([`up::init`]) and the restart of an existing cluster ([`up::restart`]); meta-servers
//!   the CLI starts and stops itself and the `cluster.json` side of membership changes
//!   ([`up::local_meta`]).
//! - [`bench`]: `trireme bench`, the S3 benchmark (its own hyper client and SigV4 signer,
//!   workloads, latency histograms, report) and `--limits`, the machine's ceilings.
//! - [`torture`]: `trireme torture`, the fault-torture driver (a cluster in network
//!   namespaces, recorded workloads, faults, the checks of `trireme-torture`).

pub mod bench;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod confirm;
pub mod error;
pub mod output;
pub mod table;
pub mod torture;
pub mod up;

use clap::Parser;
use std::process::ExitCode;

/// Parses the command line, runs the command on a single-threaded runtime and turns the
/// result into an exit code. Usage errors are reported by clap (exit code 2).
pub fn run_main() -> ExitCode {
    let args = cli::Cli::parse();
    // A current-thread runtime: `up` spawns its children from the main thread so that their
    // parent-death signal (see `up::process`) is tied to this process's lifetime.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("trireme: error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}{e}", e.prefix());
            ExitCode::from(e.exit_code())
        }
    }
}
