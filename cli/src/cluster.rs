//! Finding the cluster to administer and connecting to it.
//!
//! The cluster file (`cluster.json`, [`trireme_api::cluster_file::ClusterFile`]) is looked up
//! in this order: `--data-dir DIR` (DIR/cluster.json), `--config FILE`, the environment
//! variable `TRIREME_DATA_DIR`, and finally `./trireme-data/cluster.json`.

use crate::cli::GlobalArgs;
use crate::error::CliError;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trireme_api::cluster_file::{ClusterFile, CLUSTER_FILE_NAME, CLUSTER_FILE_VERSION};
use trireme_api::config::ClusterSettings;
use trireme_client::{MetaClient, Transport};

/// Environment variable naming a data directory, used when no flag names the cluster.
pub const DATA_DIR_ENV: &str = "TRIREME_DATA_DIR";
/// The data directory used when nothing else names one.
pub const DEFAULT_DATA_DIR: &str = "./trireme-data";
/// How long one admin call may keep retrying (leader changes, unreachable members).
pub const CALL_DEADLINE: Duration = Duration::from_secs(5);

/// Where the cluster file path came from (for error messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    DataDirFlag,
    ConfigFlag,
    Env,
    Default,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Source::DataDirFlag => "from --data-dir",
            Source::ConfigFlag => "from --config",
            Source::Env => "from $TRIREME_DATA_DIR",
            Source::Default => "the default location",
        }
    }
}

/// The cluster file path, by the precedence documented on this module.
pub fn locate(
    data_dir: Option<&Path>,
    config: Option<&Path>,
    env_data_dir: Option<&OsStr>,
) -> (PathBuf, Source) {
    if let Some(dir) = data_dir {
        return (dir.join(CLUSTER_FILE_NAME), Source::DataDirFlag);
    }
    if let Some(file) = config {
        return (file.to_path_buf(), Source::ConfigFlag);
    }
    match env_data_dir.filter(|v| !v.is_empty()) {
        Some(dir) => (Path::new(dir).join(CLUSTER_FILE_NAME), Source::Env),
        None => (
            Path::new(DEFAULT_DATA_DIR).join(CLUSTER_FILE_NAME),
            Source::Default,
        ),
    }
}

/// The data directory `trireme up` uses: `--data-dir`, else `$TRIREME_DATA_DIR`, else
/// `./trireme-data`.
pub fn up_data_dir(data_dir: Option<&Path>, env_data_dir: Option<&OsStr>) -> PathBuf {
    match (data_dir, env_data_dir.filter(|v| !v.is_empty())) {
        (Some(d), _) => d.to_path_buf(),
        (None, Some(e)) => PathBuf::from(e),
        (None, None) => PathBuf::from(DEFAULT_DATA_DIR),
    }
}

/// Reads and checks a cluster file.
pub fn load(path: &Path, source: Source) -> Result<ClusterFile, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::Usage(format!(
                "no cluster file at {} ({}); start a cluster with `trireme up` or name one with --data-dir/--config",
                path.display(),
                source.describe()
            ))
        } else {
            CliError::Usage(format!("cannot read cluster file {}: {e}", path.display()))
        }
    })?;
    let file: ClusterFile = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!("cannot parse cluster file {}: {e}", path.display()))
    })?;
    if file.version != CLUSTER_FILE_VERSION {
        return Err(CliError::Usage(format!(
            "cluster file {} has version {}, this trireme understands version {CLUSTER_FILE_VERSION}",
            path.display(),
            file.version
        )));
    }
    if file.meta.is_empty() {
        return Err(CliError::Usage(format!(
            "cluster file {} names no meta-servers",
            path.display()
        )));
    }
    Ok(file)
}

/// A cluster to administer: its file and a client for its meta-servers.
pub struct Cluster {
    pub path: PathBuf,
    pub file: ClusterFile,
    pub client: MetaClient,
}

impl Cluster {
    /// Finds, reads and connects to the cluster named by the global options.
    pub fn open(global: &GlobalArgs) -> Result<Self, CliError> {
        let env = std::env::var_os(DATA_DIR_ENV);
        let (path, source) = locate(
            global.data_dir.as_deref(),
            global.config.as_deref(),
            env.as_deref(),
        );
        let file = load(&path, source)?;
        let client = meta_client(&file);
        Ok(Cluster { path, file, client })
    }
}

/// A meta client for the cluster described by `file`, with the admin call deadline.
pub fn meta_client(file: &ClusterFile) -> MetaClient {
    let settings = ClusterSettings {
        cluster_id: file.cluster_id.clone(),
        secret: file.secret.clone(),
    };
    MetaClient::new(
        Transport::new(settings, CALL_DEADLINE),
        file.meta.clone(),
        CALL_DEADLINE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_data_dir_config_env_default() {
        let d = Some(Path::new("/flag"));
        let c = Some(Path::new("/c/cluster.json"));
        let e = Some(OsStr::new("/env"));
        assert_eq!(
            locate(d, c, e),
            (PathBuf::from("/flag/cluster.json"), Source::DataDirFlag)
        );
        assert_eq!(
            locate(None, c, e),
            (PathBuf::from("/c/cluster.json"), Source::ConfigFlag)
        );
        assert_eq!(
            locate(None, None, e),
            (PathBuf::from("/env/cluster.json"), Source::Env)
        );
        assert_eq!(
            locate(None, None, None),
            (
                PathBuf::from("./trireme-data/cluster.json"),
                Source::Default
            )
        );
        assert_eq!(locate(None, None, Some(OsStr::new(""))).1, Source::Default);
    }

    #[test]
    fn up_data_dir_precedence() {
        assert_eq!(
            up_data_dir(Some(Path::new("a")), Some(OsStr::new("b"))),
            PathBuf::from("a")
        );
        assert_eq!(up_data_dir(None, Some(OsStr::new("b"))), PathBuf::from("b"));
        assert_eq!(up_data_dir(None, None), PathBuf::from(DEFAULT_DATA_DIR));
    }

    fn sample() -> ClusterFile {
        ClusterFile {
            version: CLUSTER_FILE_VERSION,
            cluster_id: "c".into(),
            secret: "s".into(),
            endpoint: "http://127.0.0.1:9000".into(),
            region: "us-east-1".into(),
            access_key: "AK".into(),
            secret_key: "SK".into(),
            meta: vec!["127.0.0.1:1".into()],
            processes: vec![],
        }
    }

    #[test]
    fn load_reports_missing_bad_and_wrong_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.json");
        let e = load(&missing, Source::ConfigFlag).expect_err("missing");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("from --config"), "{e}");

        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{not json").expect("write");
        assert_eq!(load(&bad, Source::Env).expect_err("bad").exit_code(), 2);

        let mut f = sample();
        f.version = 99;
        let old = dir.path().join("old.json");
        std::fs::write(&old, serde_json::to_string(&f).expect("ser")).expect("write");
        assert!(load(&old, Source::Default)
            .expect_err("version")
            .to_string()
            .contains("version 99"));

        let good = dir.path().join("good.json");
        std::fs::write(&good, serde_json::to_string(&sample()).expect("ser")).expect("write");
        assert_eq!(
            load(&good, Source::DataDirFlag).expect("loads").access_key,
            "AK"
        );
    }
}
