//! Finding the cluster to administer and connecting to it.
//!
//! The cluster file (`cluster.json`, [`trireme_api::cluster_file::ClusterFile`]) is looked up
//! in this order: `--data-dir DIR` (DIR/cluster.json), `--config FILE`, the environment
//! variable `TRIREME_DATA_DIR`, and finally `./trireme-data/cluster.json`.
//!
//! Admin commands authenticate with an operator token, never with the cluster secret:
//! `--token`, else `$TRIREME_TOKEN`, else the cluster file's `admin_token`, else its
//! `reader_token`. `--reason` travels with every request and is recorded with admin actions.

use crate::cli::GlobalArgs;
use crate::error::CliError;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trireme_api::admin::MAX_REASON_LEN;
use trireme_api::cluster_file::{ClusterFile, CLUSTER_FILE_NAME, CLUSTER_FILE_VERSION};
use trireme_api::config::ClusterSettings;
use trireme_client::{MetaClient, Transport};

/// Environment variable naming a data directory, used when no flag names the cluster.
pub const DATA_DIR_ENV: &str = "TRIREME_DATA_DIR";
/// Environment variable holding an operator token, used when `--token` is not given.
pub const TOKEN_ENV: &str = "TRIREME_TOKEN";
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
    /// Authenticated with the operator token, with the admin call deadline.
    pub client: MetaClient,
    /// The operator token the client sends.
    pub token: String,
    /// `--reason`, sent with every request.
    pub reason: Option<String>,
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
        let env_token = std::env::var(TOKEN_ENV).ok();
        let token = operator_token(global.token.as_deref(), env_token.as_deref(), &file)
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "no operator token: pass --token or set ${TOKEN_ENV} ({} holds none; \
                     `trireme up` adds them to a local cluster's file)",
                    path.display()
                ))
            })?;
        let reason = check_reason(global.reason.as_deref())?;
        let client = operator_client(&file, &token, reason.clone(), CALL_DEADLINE);
        Ok(Cluster {
            path,
            file,
            client,
            token,
            reason,
        })
    }

    /// Another client with the same credentials and another deadline (long operations).
    pub fn client_with_deadline(&self, deadline: Duration) -> MetaClient {
        operator_client(&self.file, &self.token, self.reason.clone(), deadline)
    }
}

/// The operator token to use: `--token`, `$TRIREME_TOKEN`, the file's admin token, its
/// reader token (empty values count as absent).
pub fn operator_token(flag: Option<&str>, env: Option<&str>, file: &ClusterFile) -> Option<String> {
    [
        flag,
        env,
        file.admin_token.as_deref(),
        file.reader_token.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .find(|t| !t.is_empty())
    .map(str::to_string)
}

fn check_reason(reason: Option<&str>) -> Result<Option<String>, CliError> {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if r.len() > MAX_REASON_LEN => Err(CliError::Usage(format!(
            "--reason is longer than {MAX_REASON_LEN} bytes"
        ))),
        r => Ok(r.map(str::to_string)),
    }
}

/// A meta client for the cluster described by `file`, authenticated as an operator (the
/// cluster secret is not sent).
pub fn operator_client(
    file: &ClusterFile,
    token: &str,
    reason: Option<String>,
    deadline: Duration,
) -> MetaClient {
    let settings = ClusterSettings {
        cluster_id: file.cluster_id.clone(),
        secret: String::new(),
    };
    let transport = Transport::new(settings, deadline)
        .with_operator_token(token.to_string())
        .with_reason(reason);
    MetaClient::new(transport, file.meta.clone(), deadline)
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
            admin_token: None,
            reader_token: None,
        }
    }

    #[test]
    fn token_precedence_flag_env_admin_reader() {
        let mut f = sample();
        assert_eq!(operator_token(None, None, &f), None);
        f.reader_token = Some("R".into());
        assert_eq!(operator_token(None, None, &f).as_deref(), Some("R"));
        f.admin_token = Some("A".into());
        assert_eq!(operator_token(None, None, &f).as_deref(), Some("A"));
        assert_eq!(operator_token(None, Some("E"), &f).as_deref(), Some("E"));
        assert_eq!(operator_token(None, Some(""), &f).as_deref(), Some("A"));
        assert_eq!(
            operator_token(Some("F"), Some("E"), &f).as_deref(),
            Some("F")
        );
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(check_reason(Some("  ")).expect("ok"), None);
        assert_eq!(
            check_reason(Some(" disk 3 ")).expect("ok").as_deref(),
            Some("disk 3")
        );
        let long = "x".repeat(MAX_REASON_LEN + 1);
        assert_eq!(check_reason(Some(&long)).expect_err("long").exit_code(), 2);
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
