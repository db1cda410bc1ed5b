//! The admin commands, one file per family, and the dispatcher from parsed arguments.

pub mod bucket;
pub mod chunkserver;
pub mod cluster;
pub mod disk;
pub mod grant;
pub mod key;
pub mod lost;
pub mod repair;
pub mod scrub;
pub mod worker;

use crate::cli::{
    BucketCommand, ChunkserverCommand, Cli, ClusterCommand, Command, DiskCommand, KeyCommand,
    RepairCommand, ScrubCommand, WorkerCommand,
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
    let cluster = Cluster::open(&global)?;
    let json = global.json;
    match cli.command {
        Command::Up(_) => Ok(()),
        Command::Cluster(ClusterCommand::Status) => cluster::status(&cluster, json).await,
        Command::Chunkserver(ChunkserverCommand::List) => chunkserver::list(&cluster, json).await,
        Command::Disk(DiskCommand::List) => disk::list(&cluster, json).await,
        Command::Bucket(BucketCommand::Create { name, owner }) => {
            bucket::create(&cluster, &name, owner.as_deref(), json).await
        }
        Command::Bucket(BucketCommand::List) => bucket::list(&cluster, json).await,
        Command::Bucket(BucketCommand::Delete { name }) => {
            bucket::delete(&cluster, &name, json).await
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
    }
}
