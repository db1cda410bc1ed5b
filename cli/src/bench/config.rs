//! [`Config`]: the flags of `trireme bench` checked and completed with their defaults, and
//! the target (endpoint and credentials) taken from the flags, the environment or the local
//! cluster's `cluster.json`.

use super::args::{BenchArgs, Workload};
use super::parse::Mix;
use super::s3::Endpoint;
use super::s3_ops::Multipart;
use super::sigv4::Credentials;
use crate::cli::GlobalArgs;
use crate::cluster::{load, locate, DATA_DIR_ENV};
use crate::error::CliError;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// S3 requires every part but the last to be at least this large.
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// S3 allows at most this many parts per upload.
pub const MAX_PARTS: u64 = 10_000;
/// Measured phase length when neither --duration nor --objects is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(30);

/// Where the requests go and what they are signed with.
#[derive(Clone, Debug)]
pub struct Target {
    pub endpoint: Endpoint,
    pub creds: Credentials,
    /// Where the endpoint came from, for the report ("--endpoint", "cluster.json at ...").
    pub source: String,
    /// The directory of the cluster file, when the endpoint came from one: its node
    /// directories name the server processes whose CPU the report shows.
    pub cluster_dir: Option<PathBuf>,
}

/// The machine ceilings to measure.
#[derive(Clone, Debug)]
pub struct LimitsConfig {
    pub dir: PathBuf,
    pub size: u64,
    pub time: Duration,
}

/// A checked benchmark configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// None: only the ceilings are measured.
    pub workload: Option<Workload>,
    pub target: Option<Target>,
    pub bucket: String,
    pub size: u64,
    pub concurrency: u64,
    /// None: until `objects` operations are done.
    pub duration: Option<Duration>,
    pub objects: Option<u64>,
    /// Objects written before a reading workload (0 for put or with --no-prepare).
    pub prepare: u64,
    /// Objects that exist when the measured phase starts (prepared or left by an earlier run).
    pub existing: u64,
    pub mix: Mix,
    pub seed: u64,
    pub prefixes: u64,
    pub key_prefix: String,
    pub verify: bool,
    pub cleanup: bool,
    pub multipart: Multipart,
    pub sign_payload: bool,
    pub list_max_keys: u64,
    pub timeout: Duration,
    pub max_error_rate: f64,
    pub progress: bool,
    pub json: bool,
    pub limits: Option<LimitsConfig>,
    pub replicas: u64,
}

/// Objects a reading workload prepares by default: 1 GiB worth, at least one per worker,
/// at most 1000.
pub fn default_prepare(size: u64, concurrency: u64) -> u64 {
    ((1u64 << 30) / size.max(1)).clamp(1, 1000).max(concurrency)
}

/// Looks up an environment variable (a parameter so that tests do not depend on theirs).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, empty values counting as absent.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_args(global: &GlobalArgs, a: BenchArgs) -> Result<Config, CliError> {
        Config::from_args_with(global, a, &process_env)
    }

    pub fn from_args_with(
        global: &GlobalArgs,
        a: BenchArgs,
        env: EnvLookup<'_>,
    ) -> Result<Config, CliError> {
        let workload = match (a.workload, &a.limits) {
            (Some(w), _) => Some(w),
            (None, Some(_)) => None,
            (None, None) => Some(Workload::Put),
        };
        if a.part_size < MIN_PART_SIZE {
            return Err(CliError::Usage(format!(
                "--part-size must be at least 5MiB (S3 refuses smaller parts but the last), not {}",
                a.part_size
            )));
        }
        if a.size > a.multipart_threshold && a.size.div_ceil(a.part_size) > MAX_PARTS {
            return Err(CliError::Usage(format!(
                "--size {} in parts of {} makes more than {MAX_PARTS} parts; raise --part-size",
                a.size, a.part_size
            )));
        }
        if a.key_prefix.is_empty() {
            return Err(CliError::Usage("--key-prefix must not be empty".into()));
        }
        let duration = match (a.duration, a.objects) {
            (None, None) => Some(DEFAULT_DURATION),
            (d, _) => d,
        };
        let prepare_count = match (workload, a.prepare_objects, a.objects) {
            (Some(Workload::Put) | None, _, _) => 0,
            (_, Some(n), _) => n,
            (Some(Workload::Delete), None, Some(n)) => n,
            _ => default_prepare(a.size, a.concurrency),
        };
        let target = match workload {
            Some(_) => Some(target(global, &a, env)?),
            None => None,
        };
        Ok(Config {
            workload,
            target,
            bucket: a.bucket,
            size: a.size,
            concurrency: a.concurrency,
            duration,
            objects: a.objects,
            prepare: if a.no_prepare { 0 } else { prepare_count },
            existing: prepare_count,
            mix: a.mix,
            seed: a.seed,
            prefixes: a.prefixes,
            key_prefix: a.key_prefix,
            verify: a.verify,
            cleanup: a.cleanup,
            multipart: Multipart {
                threshold: a.multipart_threshold,
                part_size: a.part_size,
                concurrency: a.part_concurrency as usize,
            },
            sign_payload: a.sign_payload,
            list_max_keys: a.list_max_keys,
            timeout: a.timeout,
            max_error_rate: a.max_error_rate,
            progress: !a.no_progress,
            json: global.json,
            limits: a.limits.map(|dir| LimitsConfig {
                dir,
                size: a.limits_size,
                time: a.limits_time,
            }),
            replicas: a.replicas,
        })
    }
}

/// The endpoint and credentials: with --endpoint, the flags and the AWS environment
/// variables; without, the local cluster's file (each field overridable by its flag).
fn target(global: &GlobalArgs, a: &BenchArgs, env: EnvLookup<'_>) -> Result<Target, CliError> {
    if let Some(url) = &a.endpoint {
        let endpoint = Endpoint::parse(url).map_err(CliError::Usage)?;
        let access_key = a.access_key.clone().or_else(|| env("AWS_ACCESS_KEY_ID"));
        let secret_key = a
            .secret_key
            .clone()
            .or_else(|| env("AWS_SECRET_ACCESS_KEY"));
        let (Some(access_key), Some(secret_key)) = (access_key, secret_key) else {
            return Err(CliError::Usage(
                "--endpoint needs --access-key and --secret-key (or $AWS_ACCESS_KEY_ID and \
                 $AWS_SECRET_ACCESS_KEY)"
                    .into(),
            ));
        };
        let region = a
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        return Ok(Target {
            endpoint,
            creds: creds(access_key, secret_key, region),
            source: "--endpoint".into(),
            cluster_dir: None,
        });
    }
    let env_dir = env(DATA_DIR_ENV).map(std::ffi::OsString::from);
    let (path, source) = locate(
        global.data_dir.as_deref(),
        global.config.as_deref(),
        env_dir.as_deref(),
    );
    let file = load(&path, source).map_err(|e| {
        CliError::Usage(format!(
            "{e} (or benchmark any S3 endpoint with --endpoint, --access-key and --secret-key)"
        ))
    })?;
    let endpoint = Endpoint::parse(&file.endpoint)
        .map_err(|e| CliError::Usage(format!("cluster file {}: endpoint {e}", path.display())))?;
    Ok(Target {
        endpoint,
        creds: creds(
            a.access_key.clone().unwrap_or(file.access_key),
            a.secret_key.clone().unwrap_or(file.secret_key),
            a.region.clone().unwrap_or(file.region),
        ),
        source: format!("cluster file {}", path.display()),
        cluster_dir: path.parent().map(Path::to_path_buf),
    })
}

fn creds(access_key: String, secret_key: String, region: String) -> Credentials {
    Credentials {
        access_key,
        secret_key,
        region,
        service: "s3".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Config, CliError> {
        let cli = Cli::try_parse_from(std::iter::once("trireme").chain(args.iter().copied()))
            .map_err(|e| CliError::Usage(e.to_string()))?;
        match cli.command {
            Command::Bench(b) => Config::from_args_with(&cli.global, b, &|_| None),
            _ => Err(CliError::Usage("not bench".into())),
        }
    }

    #[test]
    fn defaults_and_endpoint_flags() {
        let c = parse(&[
            "bench",
            "--endpoint",
            "http://127.0.0.1:1",
            "--access-key",
            "a",
            "--secret-key",
            "s",
            "--json",
        ])
        .expect("parses");
        assert_eq!(c.workload, Some(Workload::Put));
        assert_eq!((c.size, c.concurrency, c.prepare), (4096, 16, 0));
        assert_eq!(c.duration, Some(DEFAULT_DURATION));
        assert_eq!(c.bucket, "trireme-bench");
        assert!(c.json && c.progress);
        let t = c.target.expect("target");
        assert_eq!(t.endpoint.host, "127.0.0.1:1");
        assert_eq!(t.creds.service, "s3");
        assert_eq!(
            (c.multipart.threshold, c.multipart.part_size),
            (64 << 20, 16 << 20)
        );
    }

    #[test]
    fn reading_workloads_prepare_objects() {
        let base = [
            "--endpoint",
            "h:1",
            "--access-key",
            "a",
            "--secret-key",
            "s",
        ];
        let with = |extra: &[&str]| {
            let mut v = vec!["bench"];
            v.extend_from_slice(extra);
            v.extend_from_slice(&base);
            parse(&v).expect("parses")
        };
        assert_eq!(with(&["get"]).prepare, 1000);
        assert_eq!(with(&["get", "--size", "64MiB"]).prepare, 16);
        assert_eq!(with(&["get", "--size", "1GiB", "-c", "4"]).prepare, 4);
        assert_eq!(with(&["get", "--prepare-objects", "7"]).prepare, 7);
        let d = with(&["delete", "--objects", "500"]);
        assert_eq!((d.prepare, d.objects, d.duration), (500, Some(500), None));
        let n = with(&["head", "--no-prepare"]);
        assert_eq!((n.prepare, n.existing), (0, 1000));
    }

    #[test]
    fn usage_errors() {
        let base = [
            "--endpoint",
            "h:1",
            "--access-key",
            "a",
            "--secret-key",
            "s",
        ];
        let bad = |extra: &[&str]| {
            let mut v = vec!["bench"];
            v.extend_from_slice(extra);
            v.extend_from_slice(&base);
            parse(&v).expect_err("refused").exit_code()
        };
        assert_eq!(bad(&["--part-size", "4MiB"]), 2);
        assert_eq!(bad(&["--size", "64GiB", "--part-size", "5MiB"]), 2);
        assert_eq!(bad(&["--mix", "copy=1"]), 2);
        assert_eq!(bad(&["--concurrency", "0"]), 2);
        let e = parse(&["bench", "--endpoint", "h:1"]).expect_err("no keys");
        assert!(e.to_string().contains("--access-key"), "{e}");
        let e = parse(&["bench", "--endpoint", "https://h"]).expect_err("tls");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn limits_alone_needs_no_target() {
        let c =
            parse(&["bench", "--limits", "/tmp", "--data-dir", "/nonexistent"]).expect("parses");
        assert_eq!(c.workload, None);
        assert!(c.target.is_none());
        let l = c.limits.expect("limits");
        assert_eq!((l.size, l.time), (1 << 30, Duration::from_secs(3)));
        // A workload needs a cluster file (or --endpoint).
        let e = parse(&["bench", "put", "--data-dir", "/nonexistent"]).expect_err("no file");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--endpoint"), "{e}");
    }
}
