//! The admin commands, one file per family, and the dispatcher from parsed arguments.

pub mod audit;
pub mod bucket;
pub mod chunkserver;
pub mod cluster;
pub mod disk;
pub mod drain;
pub mod drain_cs;
pub mod explain;
pub mod grant;
pub mod health;
pub mod key;
pub mod lost;
pub mod meta;
pub mod meta_add;
pub mod repair;
pub mod scrub;
pub mod show;
pub mod swap;
pub mod token;
pub mod worker;

use crate::cli::{
    BucketCommand, ChunkserverCommand, Cli, ClusterCommand, Command, DiskCommand, KeyCommand,
    ObjectCommand, PlanCommand, RepairCommand, ScrubCommand, SwapArgs, SwapCommand, WorkerCommand,
};
use crate::cluster::{up_data_dir, Cluster, DATA_DIR_ENV};
use crate::error::CliError;
use trireme_api::durability::ScrubAction;

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let global = cli.global;
    if let Command::Up(args) = cli.command {
        if global.config.is_some() {
            return Err(CliError::Usage(
                "`trireme up` takes --data-dir, not --config".into(),
            ));
        }
        let env = std::env::var_os(DATA_DIR_ENV);
        let dir = up_data_dir(global.data_dir.as_deref(), env.as_deref());
        return crate::up::run(&args, &dir).await;
    }
    // The benchmark talks only S3: no meta-server, no operator token.
    if let Command::Bench(args) = cli.command {
        return crate::bench::run(&global, args).await;
    }
    if let Command::Torture(args) = cli.command {
        return crate::torture::run(args).await;
    }
    let cluster = Cluster::open(&global)?;
    let json = global.json;
    match cli.command {
        Command::Up(_) => Ok(()),
        Command::Cluster(ClusterCommand::Status { check }) => {
            cluster::status(&cluster, json, check).await
        }
        Command::Chunkserver(ChunkserverCommand::List) => chunkserver::list(&cluster, json).await,
        Command::Disk(DiskCommand::List) => disk::list(&cluster, json).await,
        Command::Disk(DiskCommand::Drain { id, reason, watch }) => {
            drain::drain(&cluster, &id, false, reason, watch, json).await
        }
        Command::Disk(DiskCommand::Undrain { id, reason }) => {
            drain::drain(&cluster, &id, true, reason, false, json).await
        }
        Command::Disk(DiskCommand::Remove {
            id,
            force,
            yes,
            reason,
        }) => drain::remove(&cluster, &id, force, yes, reason, json).await,
        Command::Disk(DiskCommand::Swap(SwapArgs {
            command: Some(SwapCommand::Status { id, watch }),
            ..
        })) => swap::show_status(&cluster, &id, watch, json).await,
        Command::Disk(DiskCommand::Swap(SwapArgs {
            id,
            yes,
            no_wait,
            command: None,
        })) => {
            let opts = swap::Options {
                yes,
                no_wait,
                force: false,
                json,
                reason: cluster.reason.clone(),
            };
            let id = id.unwrap_or_default();
            swap::run(&cluster, &id, swap::Mode::Swap, opts).await
        }
        Command::Disk(DiskCommand::Replace {
            id,
            yes,
            no_wait,
            force,
        }) => {
            let opts = swap::Options {
                yes,
                no_wait,
                force,
                json,
                reason: cluster.reason.clone(),
            };
            swap::run(&cluster, &id, swap::Mode::Replace, opts).await
        }
        Command::Chunkserver(ChunkserverCommand::Drain { id, watch }) => {
            drain_cs::drain(&cluster, id, false, watch, json).await
        }
        Command::Chunkserver(ChunkserverCommand::Undrain { id }) => {
            drain_cs::drain(&cluster, id, true, false, json).await
        }
        Command::Chunkserver(ChunkserverCommand::Decommission { id, force, yes }) => {
            drain_cs::decommission(&cluster, id, force, yes, json).await
        }
        Command::Plan(PlanCommand::ChunkserverRemove { id }) => {
            drain_cs::plan(&cluster, id, json).await
        }
        Command::Plan(PlanCommand::DiskRemove { id }) => {
            drain::plan_remove(&cluster, &id, json).await
        }
        Command::Bucket(BucketCommand::Create { name, owner }) => {
            bucket::create(&cluster, &name, owner.as_deref(), json).await
        }
        Command::Bucket(BucketCommand::List) => bucket::list(&cluster, json).await,
        Command::Bucket(BucketCommand::Delete { name, yes }) => {
            bucket::delete(&cluster, &name, yes, json).await
        }
        Command::Bucket(BucketCommand::Allow { bucket, grant }) => {
            grant::allow(&cluster, &bucket, &grant, json).await
        }
        Command::Bucket(BucketCommand::Deny { bucket, grant }) => {
            grant::deny(&cluster, &bucket, &grant, json).await
        }
        Command::Key(KeyCommand::Create {
            name,
            no_create_bucket,
        }) => key::create(&cluster, &name, !no_create_bucket, json).await,
        Command::Key(KeyCommand::Import {
            access_key,
            secret_key,
            name,
            no_create_bucket,
        }) => {
            let secret = key::secret_arg(&secret_key)?;
            key::import(
                &cluster,
                &access_key,
                &secret,
                &name,
                !no_create_bucket,
                json,
            )
            .await
        }
        Command::Key(KeyCommand::List) => key::list(&cluster, json).await,
        Command::Key(KeyCommand::Delete { access_key, yes }) => {
            key::delete(&cluster, &access_key, yes, json).await
        }
        Command::Repair(RepairCommand::Status { watch }) => {
            repair::status(&cluster, json, watch).await
        }
        Command::Repair(RepairCommand::Lost { limit }) => lost::lost(&cluster, limit, json).await,
        Command::Worker(WorkerCommand::List) => worker::list(&cluster, json).await,
        Command::Worker(WorkerCommand::Set { key, value }) => {
            worker::set(&cluster, &key, &value, json).await
        }
        Command::Scrub(ScrubCommand::Start) => {
            scrub::control(&cluster, ScrubAction::Start, json).await
        }
        Command::Scrub(ScrubCommand::Pause) => {
            scrub::control(&cluster, ScrubAction::Pause, json).await
        }
        Command::Scrub(ScrubCommand::Resume) => {
            scrub::control(&cluster, ScrubAction::Resume, json).await
        }
        Command::Scrub(ScrubCommand::Status) => scrub::status(&cluster, json).await,
        Command::Object(ObjectCommand::Explain { object, check }) => {
            explain::explain(&cluster, &object, json, check).await
        }
        Command::Chunkserver(ChunkserverCommand::Show { id, limit }) => {
            show::chunkserver(&cluster, id, limit, json).await
        }
        Command::Disk(DiskCommand::Show { disk, limit }) => {
            show::disk(&cluster, &disk, limit, json).await
        }
        Command::Meta(command) => meta::run(&cluster, command, json).await,
        Command::Token(crate::cli::TokenCommand::Create { role, name }) => {
            token::create(&cluster, role, &name, json).await
        }
        Command::Token(crate::cli::TokenCommand::List) => token::list(&cluster, json).await,
        Command::Token(crate::cli::TokenCommand::Revoke { name, yes }) => {
            token::revoke(&cluster, &name, yes, json).await
        }
        Command::Audit(args) => audit::list(&cluster, args.limit, json).await,
        Command::Bench(_) | Command::Torture(_) => Ok(()),
    }
}
