//! Command-line arguments (clap derive). Global options (`--data-dir`, `--config`, `--json`)
//! are accepted before or after the subcommand.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "trireme",
    version,
    about = "Run and administer a Trireme object store"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Data directory of a local cluster, holding its cluster.json [default:
    /// $TRIREME_DATA_DIR, else ./trireme-data].
    #[arg(long, global = true, value_name = "DIR", display_order = 100)]
    pub data_dir: Option<PathBuf>,
    /// A cluster.json-format file describing the cluster to administer.
    #[arg(long, global = true, value_name = "FILE", display_order = 101)]
    pub config: Option<PathBuf>,
    /// Print JSON (field names as in the trireme-api structs) instead of tables.
    #[arg(long, global = true, display_order = 102)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a local cluster (meta-servers, chunkservers, a gateway) until Ctrl-C.
    Up(UpArgs),
    /// The cluster as a whole.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Chunkservers.
    #[command(subcommand)]
    Chunkserver(ChunkserverCommand),
    /// Disks of all chunkservers.
    #[command(subcommand)]
    Disk(DiskCommand),
    /// Buckets.
    #[command(subcommand)]
    Bucket(BucketCommand),
    /// S3 access keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Durability: healthy replicas per chunk, repair progress, lost objects.
    #[command(subcommand)]
    Repair(RepairCommand),
    /// Background workers (repair, scrub, GC, health checks, ...) and their settings.
    #[command(subcommand)]
    Worker(WorkerCommand),
    /// Scrub: every chunkserver re-reads and verifies its chunks at a throttled rate.
    #[command(subcommand)]
    Scrub(ScrubCommand),
}

/// Flags of `trireme up`. They shape a new cluster; a restart reuses the stored configs and
/// ignores them.
#[derive(Debug, Clone, Default, Args)]
pub struct UpArgs {
    /// S3 endpoint address [default: 127.0.0.1:9000; port 0 picks a free port].
    #[arg(long, value_name = "ADDR")]
    pub s3_addr: Option<String>,
    /// Number of meta-servers [default: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=99))]
    pub meta: Option<u64>,
    /// Number of chunkservers [default: 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=999))]
    pub chunkservers: Option<u64>,
    /// Disks (directories) per chunkserver [default: 2].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub disks: Option<u64>,
    /// Chunk size in bytes; K/M/G and KiB/MiB/GiB suffixes allowed [default: 4MiB].
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub chunk_size: Option<u64>,
    /// A chunkserver without a heartbeat for this long is down [default: the meta-server's].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunkserver_timeout_ms: Option<u64>,
    /// Chunkserver heartbeat interval [default: the chunkserver's].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub heartbeat_ms: Option<u64>,
    /// Replicas per chunk [default: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub replicas: Option<u32>,
    /// Unreferenced chunks younger than this are never collected [default: the meta-server's, 6 h].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub gc_grace_ms: Option<u64>,
    /// Interval between chunkserver inventory reports (GC) [default: the chunkserver's, 60 s].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(100..))]
    pub inventory_ms: Option<u64>,
    /// Interval between disk health probes [default: the chunkserver's, 5 s].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(50..))]
    pub health_ms: Option<u64>,
    /// Interval of the durability ledger sweep [default: the meta-server's, 10 s].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(100..))]
    pub ledger_sweep_ms: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Meta members, leader, chunkservers, disks and capacity.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum ChunkserverCommand {
    /// One row per chunkserver.
    List,
}

#[derive(Debug, Subcommand)]
pub enum DiskCommand {
    /// One row per disk.
    List,
}

#[derive(Debug, Subcommand)]
pub enum BucketCommand {
    /// Create a bucket.
    Create {
        name: String,
        /// Owner access key [default: the cluster file's access key].
        #[arg(long, value_name = "ACCESS_KEY")]
        owner: Option<String>,
    },
    /// List buckets with their owner and grants.
    List,
    /// Delete an empty bucket.
    Delete { name: String },
    /// Grant an access key permissions on a bucket (added to any it has).
    Allow {
        bucket: String,
        #[command(flatten)]
        grant: GrantArgs,
    },
    /// Take permissions on a bucket away from an access key (all of them without flags).
    Deny {
        bucket: String,
        #[command(flatten)]
        grant: GrantArgs,
    },
}

/// The key and permission flags of `bucket allow|deny`.
#[derive(Debug, Clone, Args)]
pub struct GrantArgs {
    /// The access key to grant to or take from.
    #[arg(long, value_name = "ACCESS_KEY")]
    pub key: String,
    /// Read objects and list the bucket.
    #[arg(long)]
    pub read: bool,
    /// Write and delete objects (PUT, DELETE, multipart, copy destination).
    #[arg(long)]
    pub write: bool,
    /// Owner rights: everything, including deleting the bucket.
    #[arg(long)]
    pub owner: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an access key and print its secret.
    Create {
        /// A label for the key.
        #[arg(long, value_name = "NAME", default_value = "cli")]
        name: String,
        /// The key may not create buckets (it can still use buckets it is granted).
        #[arg(long)]
        no_create_bucket: bool,
    },
    /// Import an access key pair chosen elsewhere (e.g. to keep existing clients working).
    Import {
        access_key: String,
        /// The secret key; `-` reads it from standard input (keeps it out of `ps` and
        /// shell history).
        secret_key: String,
        /// A label for the key.
        #[arg(long, value_name = "NAME", default_value = "imported")]
        name: String,
        /// The key may not create buckets.
        #[arg(long)]
        no_create_bucket: bool,
    },
    /// List access keys (without secrets).
    List,
    /// Delete an access key and revoke its grants. Buckets it owns stay, with their objects.
    Delete {
        access_key: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RepairCommand {
    /// The durability ledger (chunks by healthy replicas: total, per chunkserver, per disk),
    /// repair progress with rate and ETA, and whether the last sweep proved repair complete.
    Status {
        /// Print the status again every SECS seconds [default: 2] until a sweep proves
        /// repair complete.
        #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "2",
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        watch: Option<u64>,
    },
    /// Objects with a chunk that has no healthy replica left.
    #[command(
        after_help = "Exit codes: 0 no object is lost, 1 lost objects were found (listed), \
                      2 the list could not be made (bad usage, cluster unreachable, an error)."
    )]
    Lost {
        /// List at most N objects (1..=10000).
        #[arg(long, value_name = "N", default_value_t = 1000,
              value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkerCommand {
    /// Every worker of the cluster (the leader's and each chunkserver's), and the settings.
    List,
    /// Change a run-time setting for the whole cluster (see `worker list` for the keys).
    #[command(
        after_help = "Every value is an unsigned integer. An unknown key or a value that is not \
                      an unsigned integer is a usage error (exit code 2)."
    )]
    Set {
        /// The setting, e.g. repair.concurrency.
        key: String,
        /// Its new value.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScrubCommand {
    /// Run scrub, and start a new pass on every chunkserver now.
    Start,
    /// Stop scrub reads until resumed (a pass keeps its place).
    Pause,
    /// Continue the current pass.
    Resume,
    /// Scrub progress of every chunkserver.
    Status,
}

/// Parses a byte count: a plain number or one with a K/M/G (x1024) suffix, optionally
/// followed by `iB` or `B` (`64KiB`, `4M`, `1GB` all use powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    let n: u64 = num.parse().map_err(|_| format!("not a size: {s:?}"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} in {s:?}")),
    };
    let v = n
        .checked_mul(mult)
        .ok_or_else(|| format!("size too large: {s:?}"))?;
    if v == 0 {
        return Err("size must be positive".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("trireme").chain(args.iter().copied()))
    }

    #[test]
    fn global_options_before_or_after_the_subcommand() {
        let a = parse(&["--json", "--data-dir", "/d", "bucket", "list"]).expect("parses");
        let b = parse(&["bucket", "list", "--json", "--data-dir", "/d"]).expect("parses");
        for c in [a, b] {
            assert!(c.global.json);
            assert_eq!(c.global.data_dir, Some(PathBuf::from("/d")));
            assert!(matches!(c.command, Command::Bucket(BucketCommand::List)));
        }
    }

    #[test]
    fn bucket_create_with_owner() {
        let c = parse(&["bucket", "create", "b1", "--owner", "AK"]).expect("parses");
        match c.command {
            Command::Bucket(BucketCommand::Create { name, owner }) => {
                assert_eq!(name, "b1");
                assert_eq!(owner.as_deref(), Some("AK"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn key_create_default_name() {
        let c = parse(&["key", "create"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Key(KeyCommand::Create { ref name, no_create_bucket: false }) if name == "cli"
        ));
        let c = parse(&["key", "create", "--name", "ci", "--no-create-bucket"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Key(KeyCommand::Create { ref name, no_create_bucket: true }) if name == "ci"
        ));
    }

    #[test]
    fn key_import_and_delete() {
        let c = parse(&["key", "import", "AKID", "SECRET", "--name", "old"]).expect("parses");
        match c.command {
            Command::Key(KeyCommand::Import {
                access_key,
                secret_key,
                name,
                no_create_bucket,
            }) => {
                assert_eq!(
                    (access_key.as_str(), secret_key.as_str()),
                    ("AKID", "SECRET")
                );
                assert_eq!(name, "old");
                assert!(!no_create_bucket);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            parse(&["key", "import", "AKID"])
                .expect_err("no secret")
                .exit_code(),
            2
        );
        let c = parse(&["key", "delete", "AKID", "--yes"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Key(KeyCommand::Delete { ref access_key, yes: true }) if access_key == "AKID"
        ));
    }

    #[test]
    fn bucket_allow_and_deny() {
        let c =
            parse(&["bucket", "allow", "b", "--key", "AK", "--read", "--owner"]).expect("parses");
        match c.command {
            Command::Bucket(BucketCommand::Allow { bucket, grant }) => {
                assert_eq!((bucket.as_str(), grant.key.as_str()), ("b", "AK"));
                assert!(grant.read && !grant.write && grant.owner);
            }
            other => panic!("unexpected {other:?}"),
        }
        let c = parse(&["bucket", "deny", "b", "--key", "AK"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Bucket(BucketCommand::Deny { ref grant, .. })
                if !grant.read && !grant.write && !grant.owner
        ));
        assert_eq!(
            parse(&["bucket", "allow", "b", "--read"])
                .expect_err("no key")
                .exit_code(),
            2
        );
    }

    #[test]
    fn up_flags() {
        let c = parse(&[
            "up",
            "--data-dir",
            "x",
            "--s3-addr",
            "127.0.0.1:0",
            "--meta",
            "1",
            "--chunkservers",
            "3",
            "--disks",
            "1",
            "--chunk-size",
            "1MiB",
            "--chunkserver-timeout-ms",
            "1500",
            "--heartbeat-ms",
            "100",
            "--replicas",
            "2",
        ])
        .expect("parses");
        let Command::Up(up) = c.command else {
            panic!("not up")
        };
        assert_eq!(c.global.data_dir, Some(PathBuf::from("x")));
        assert_eq!(up.s3_addr.as_deref(), Some("127.0.0.1:0"));
        assert_eq!(
            (up.meta, up.chunkservers, up.disks),
            (Some(1), Some(3), Some(1))
        );
        assert_eq!(up.chunk_size, Some(1 << 20));
        assert_eq!(
            (up.chunkserver_timeout_ms, up.heartbeat_ms, up.replicas),
            (Some(1500), Some(100), Some(2))
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        let e = parse(&["up", "--meta", "0"]).expect_err("0 metas");
        assert_eq!(e.exit_code(), 2);
        let e = parse(&["bucket", "create"]).expect_err("missing name");
        assert_eq!(e.exit_code(), 2);
        assert_eq!(parse(&["frobnicate"]).expect_err("unknown").exit_code(), 2);
    }

    #[test]
    fn durability_commands() {
        let c = parse(&["repair", "status"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Repair(RepairCommand::Status { watch: None })
        ));
        let c = parse(&["repair", "status", "--watch"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Repair(RepairCommand::Status { watch: Some(2) })
        ));
        let c = parse(&["repair", "status", "--watch", "5", "--json"]).expect("parses");
        assert!(c.global.json);
        assert!(matches!(
            c.command,
            Command::Repair(RepairCommand::Status { watch: Some(5) })
        ));
        assert_eq!(
            parse(&["repair", "status", "--watch", "0"])
                .expect_err("0 s")
                .exit_code(),
            2
        );
        let c = parse(&["repair", "lost"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Repair(RepairCommand::Lost { limit: 1000 })
        ));
        let c = parse(&["repair", "lost", "--limit", "7"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Repair(RepairCommand::Lost { limit: 7 })
        ));
        for bad in ["0", "10001", "x"] {
            let e = parse(&["repair", "lost", "--limit", bad]).expect_err(bad);
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
        let c = parse(&["worker", "set", "repair.concurrency", "8"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Worker(WorkerCommand::Set { ref key, ref value })
                if key == "repair.concurrency" && value == "8"
        ));
        assert_eq!(
            parse(&["worker", "set", "repair.concurrency"])
                .expect_err("no value")
                .exit_code(),
            2
        );
        assert!(matches!(
            parse(&["worker", "list"]).expect("parses").command,
            Command::Worker(WorkerCommand::List)
        ));
        for (word, want) in [
            ("start", "Start"),
            ("pause", "Pause"),
            ("resume", "Resume"),
            ("status", "Status"),
        ] {
            let c = parse(&["scrub", word]).expect("parses");
            let Command::Scrub(s) = c.command else {
                panic!("not scrub")
            };
            assert_eq!(format!("{s:?}"), want);
        }
        assert_eq!(parse(&["scrub", "stop"]).expect_err("no").exit_code(), 2);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("4M"), Ok(4 << 20));
        assert_eq!(parse_size("1gb"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MiB").is_err());
    }
}
