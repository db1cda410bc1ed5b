//! `trireme-gateway --config FILE`: binds `listen`, serves S3 until SIGINT/SIGTERM.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use tokio::signal::unix::{signal, Signal, SignalKind};
use trireme_gateway::GatewayConfig;

#[derive(Parser, Debug)]
#[command(name = "trireme-gateway", version, about = "Trireme S3 gateway")]
struct Args {
    /// The gateway's TOML config file.
    #[arg(long)]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,s3s=off")),
        )
        .init();
    let args = Args::parse();
    let config = GatewayConfig::load(&args.config)?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    // Install the handlers before the ready file appears: a SIGTERM right after it must
    // stop us cleanly, not kill us with the default action.
    let term = signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let int = signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    trireme_gateway::run(config, listener, shutdown_signal(term, int)).await?;
    tracing::info!("gateway stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal(mut term: Signal, mut int: Signal) {
    tokio::select! {
        _ = int.recv() => tracing::info!("SIGINT received"),
        _ = term.recv() => tracing::info!("SIGTERM received"),
    }
}
