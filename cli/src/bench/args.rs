//! The flags of `trireme bench` (clap derive). Parsing of sizes, durations, mixes and
//! error rates lives in [`super::parse`]; validation and defaults in [`super::config`].

use super::parse::{parse_duration, parse_error_rate, parse_mix, Mix};
use crate::cli::parse_size;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// What the measured phase does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// PUT new objects (multipart above --multipart-threshold).
    Put,
    /// GET prepared objects, chosen at random.
    Get,
    /// HEAD prepared objects, chosen at random.
    Head,
    /// DELETE prepared objects, each once.
    Delete,
    /// ListObjectsV2 pages over the benchmark's keys.
    List,
    /// The operations of --mix (get, put, head, delete, list) at their weights.
    Mixed,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Put => "put",
            Workload::Get => "get",
            Workload::Head => "head",
            Workload::Delete => "delete",
            Workload::List => "list",
            Workload::Mixed => "mixed",
        }
    }
}

/// `trireme bench [WORKLOAD]`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Without --endpoint, the endpoint and credentials are those of the local cluster \
(cluster.json found through --data-dir, $TRIREME_DATA_DIR or ./trireme-data), so \
`trireme bench` works right after `trireme up`. With --endpoint, keys default to \
$AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY and the region to $AWS_REGION, else us-east-1.

Examples:
  trireme bench put --size 4KiB --concurrency 16 --duration 30s
  trireme bench get --size 64MiB --concurrency 16 --verify
  trireme bench mixed --mix get=60,put=25,head=10,delete=5
  trireme bench put --size 64MiB --limits /var/lib/trireme
  trireme bench --limits /var/lib/trireme           (the machine's ceilings only)

Exit codes: 0 the run completed (errors, if any, are reported), 1 more than \
--max-error-rate of the operations failed, 2 bad usage or the endpoint is unreachable \
or refuses the credentials.")]
pub struct BenchArgs {
    /// The workload [default: put; none with --limits: print only the ceilings].
    #[arg(value_enum)]
    pub workload: Option<Workload>,

    /// S3 endpoint URL, e.g. http://127.0.0.1:9000 [default: the local cluster's].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Access key id [default: the local cluster's, or $AWS_ACCESS_KEY_ID with --endpoint].
    #[arg(long, value_name = "KEY")]
    pub access_key: Option<String>,
    /// Secret key [default: the local cluster's, or $AWS_SECRET_ACCESS_KEY with --endpoint].
    #[arg(long, value_name = "SECRET")]
    pub secret_key: Option<String>,
    /// Region in the signature scope [default: the local cluster's, or $AWS_REGION, else
    /// us-east-1].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Bucket to use, created if missing.
    #[arg(long, value_name = "NAME", default_value = "trireme-bench")]
    pub bucket: String,

    /// Object size (KiB/MiB/GiB: powers of 1024).
    #[arg(long, value_name = "BYTES", default_value = "4KiB", value_parser = parse_size)]
    pub size: u64,
    /// Operations in flight at once (one connection each).
    #[arg(long, short = 'c', value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub concurrency: u64,
    /// How long the measured phase runs [default: 30s, or until --objects operations].
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop the measured phase after this many operations (PUT: objects written).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub objects: Option<u64>,
    /// Objects that get, head, delete, list and mixed PUT first [default: --objects for
    /// delete, else 1 GiB worth, between --concurrency and 1000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub prepare_objects: Option<u64>,
    /// Use the objects already there (from a run with the same --seed, --size, --key-prefix
    /// and --prefixes) instead of writing them first.
    #[arg(long)]
    pub no_prepare: bool,
    /// Operation weights of the mixed workload.
    #[arg(long, value_name = "OP=W,...", default_value = "get=60,put=25,head=10,delete=5",
          value_parser = parse_mix)]
    pub mix: Mix,
    /// Seed of the keys and of the data: the same seed writes the same keys with the same
    /// bytes every run.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Number of key prefixes the objects are spread over.
    #[arg(long, value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub prefixes: u64,
    /// Prefix of every key the benchmark writes (LIST lists under it).
    #[arg(long, value_name = "PREFIX", default_value = "bench/")]
    pub key_prefix: String,
    /// GET: check every byte of every body against the bytes written for its key (the
    /// length is always checked).
    #[arg(long)]
    pub verify: bool,
    /// At the end, delete the objects this run wrote (prepared and PUT; with mixed, its whole
    /// key range) and the bucket if this run created it.
    #[arg(long)]
    pub cleanup: bool,

    /// Objects larger than this are uploaded in parts (multipart upload).
    #[arg(long, value_name = "BYTES", default_value = "64MiB", value_parser = parse_size)]
    pub multipart_threshold: u64,
    /// Part size of multipart uploads (at least 5 MiB, as S3 requires of all parts but the
    /// last).
    #[arg(long, value_name = "BYTES", default_value = "16MiB", value_parser = parse_size)]
    pub part_size: u64,
    /// Parts of one object uploaded at once.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub part_concurrency: u64,
    /// Sign the SHA-256 of every body instead of sending UNSIGNED-PAYLOAD (costs client CPU).
    #[arg(long)]
    pub sign_payload: bool,
    /// Keys per LIST page.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub list_max_keys: u64,
    /// One operation (a whole multipart upload counts as one) taking longer than this fails.
    #[arg(long, value_name = "TIME", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Exit 1 when more than this share of the operations failed ("1%", "0.5%" or "0.01").
    #[arg(long, value_name = "RATE", default_value = "1%", value_parser = parse_error_rate)]
    pub max_error_rate: f64,
    /// No progress line on stderr.
    #[arg(long)]
    pub no_progress: bool,

    /// Also measure this machine's ceilings in DIR (on the disk holding the data
    /// directories) and print every result as a share of its ceiling.
    #[arg(long, value_name = "DIR")]
    pub limits: Option<PathBuf>,
    /// Bytes written and read back by the sequential disk ceilings.
    #[arg(long, value_name = "BYTES", default_value = "1GiB", value_parser = parse_size)]
    pub limits_size: u64,
    /// How long each timed ceiling (fsync rates, loopback TCP) runs.
    #[arg(long, value_name = "TIME", default_value = "3s", value_parser = parse_duration)]
    pub limits_time: Duration,
    /// Replicas per object on the server, for the PUT ceiling (disk write / replicas).
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..=16))]
    pub replicas: u64,
}
