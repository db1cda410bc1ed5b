//! `trireme-chunkserver --config FILE`: binds `listen`, serves until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use std::io::IsTerminal;
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;
use trireme_chunkserver::{run, ChunkserverConfig};

/// Trireme chunkserver: stores verified chunk replicas on local disks.
#[derive(Debug, Parser)]
#[command(name = "trireme-chunkserver", version)]
struct Args {
    /// The chunkserver's TOML config file.
    #[arg(long)]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    let mut config = ChunkserverConfig::load(&args.config)?;
    // Test-only: see `trireme_chunkserver::fault`.
    config.fault_injection = trireme_chunkserver::fault::enabled_by_env();
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot bind {}", config.listen))?;
    // Install the handlers before serving: a signal that arrives once the ready file exists
    // must stop the server cleanly, not kill it with the default action.
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    };
    run(config, listener, shutdown).await?;
    Ok(())
}
