//! `trireme-meta --config FILE`: runs one meta-server.

use anyhow::Context;
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use trireme_api::config::{MetaConfigFile, ReadyFile};

#[derive(Parser)]
#[command(
    name = "trireme-meta",
    about = "Trireme metadata server (Raft + RocksDB)"
)]
struct Args {
    /// TOML config file (see trireme_api::config::MetaConfigFile).
    #[arg(long)]
    config: std::path::PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let file: MetaConfigFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", args.config.display()))?;
    let config = trireme_meta::MetaConfig::try_from(&file)?;
    // Install the signal handlers before anything can see us ready: a SIGTERM right after the
    // ready file appears must stop us cleanly, not kill us with the default action.
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    let listener = tokio::net::TcpListener::bind(&file.listen)
        .await
        .with_context(|| format!("binding {}", file.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(node = file.node_id, %addr, "meta-server listening");
    if let Some(path) = &file.ready_file {
        write_ready(
            path,
            &ReadyFile {
                addr: addr.to_string(),
                pid: std::process::id(),
            },
        )?;
    }
    trireme_meta::run(config, listener, shutdown).await?;
    tracing::info!("meta-server stopped");
    Ok(())
}

fn write_ready(path: &std::path::Path, ready: &ReadyFile) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(ready)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
