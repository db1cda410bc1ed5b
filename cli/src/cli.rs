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
    /// Operator token to authenticate with [default: $TRIREME_TOKEN, else the admin token of
    /// the cluster file, else its reader token].
    #[arg(long, global = true, value_name = "TOKEN", display_order = 103)]
    pub token: Option<String>,
    /// Why you are doing this: recorded with every admin action in the audit log
    /// (`trireme audit`).
    #[arg(long, global = true, value_name = "TEXT", display_order = 104)]
    pub reason: Option<String>,
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
    /// What-if plans: what an operation would take, before doing it.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Objects: where each chunk of an object is, and how healthy its replicas are.
    #[command(subcommand)]
    Object(ObjectCommand),
    /// The meta-server Raft group: members, adding and removing nodes, the leader.
    #[command(subcommand)]
    Meta(MetaCommand),
    /// Operator tokens (admin or reader) for the CLI and scripts.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit log: every admin action with who, when, what, why and the result.
    Audit(AuditArgs),
    /// Benchmark an S3 endpoint (the local cluster by default): PUT, GET, HEAD, DELETE, LIST
    /// or a mix; with --limits, also this machine's ceilings.
    Bench(crate::bench::BenchArgs),
    /// Fault torture (Jepsen-style): a cluster in network namespaces, recorded workloads,
    /// faults, and consistency checks of the histories; `check FILE` re-checks a history.
    Torture(crate::torture::TortureArgs),
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
    /// Meta members, leader, chunkservers, disks, capacity, the durability ledger, repair,
    /// scrub, and warnings in plain words.
    #[command(
        after_help = "Exit codes: 0 the status was printed (whatever it says), 1 a part \
                      of it could not be fetched, 2 bad usage or the cluster is unreachable. \
                      With --check: 0 healthy (no warning), 1 there are warnings (listed), 2 \
                      the status could not be made."
    )]
    Status {
        /// Exit 1 when there is any warning (for scripts and monitoring).
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChunkserverCommand {
    /// One row per chunkserver.
    List,
    /// One chunkserver: states, disks with their health, scrub, workers, and what is at risk
    /// if it failed now (chunks by healthy replicas, objects that would lose data).
    Show {
        /// The chunkserver id.
        id: u64,
        /// List at most N objects that would lose data (0..=10000).
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(0..=10_000))]
        limit: u32,
    },
    /// Drain every disk of a chunkserver (no new replicas; its chunks copied to others).
    Drain {
        id: u64,
        /// Follow until every chunk has its replicas on other chunkservers.
        #[arg(long)]
        watch: bool,
    },
    /// Cancel a chunkserver drain.
    Undrain { id: u64 },
    /// Take every disk of a drained chunkserver out of service, behind the same gate as
    /// `disk remove` (refused while any chunk would drop below its wanted replicas).
    Decommission {
        id: u64,
        /// For a dead chunkserver: allow chunks below their wanted replicas, never a last copy.
        #[arg(long)]
        force: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DiskCommand {
    /// One row per disk.
    List,
    /// Stop new replicas on a disk and copy its chunks elsewhere (placement rules). The drain
    /// is kept by the cluster: leave and re-attach with `disk swap status ID --watch`.
    Drain {
        /// Disk id (see `trireme disk list`).
        id: String,
        /// Why (kept in the logs).
        #[arg(long)]
        reason: Option<String>,
        /// Follow the progress until the disk is safe to remove.
        #[arg(long)]
        watch: bool,
    },
    /// Cancel a drain: the disk takes new replicas again.
    Undrain {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Take a disk out of service so it can be pulled. Refused, naming the objects at risk,
    /// while any chunk on it lacks its wanted healthy replicas elsewhere.
    Remove {
        id: String,
        /// For a disk that is already dead: allow chunks to drop below their wanted replicas
        /// (never to lose their last one).
        #[arg(long)]
        force: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        reason: Option<String>,
    },
    /// The guided disk swap: drain, verify the copies elsewhere, remove behind the gate, say
    /// which disk to pull, wait for a blank disk in its slot, format it with a new identity
    /// and refill it, with progress. Resumable: re-run it after Ctrl-C or a lost terminal.
    /// `trireme disk swap status ID [--watch]` shows where a swap stands.
    Swap(SwapArgs),
    /// For a disk that already failed: wait until the cluster has re-replicated what it held,
    /// remove it (confirming the loss), then format and refill the blank disk put in its slot.
    Replace {
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Do not wait for the repair, the new disk or the refill: do what can be done now.
        #[arg(long)]
        no_wait: bool,
        /// Also for a disk that is not failed; remove even if some chunks are below their
        /// wanted replicas (never a last copy).
        #[arg(long)]
        force: bool,
    },
    /// One disk: states, health (errors, latency percentiles, probes, last scrub), capacity,
    /// chunk count, and what is at risk if it failed now.
    Show {
        /// The disk: its id, CHUNKSERVER/INDEX (INDEX from 0, in the chunkserver's configured
        /// order: disk-0, disk-1, ... for `trireme up`), or its path.
        disk: String,
        /// List at most N objects that would lose data (0..=10000).
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(0..=10_000))]
        limit: u32,
    },
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SwapArgs {
    /// The disk to swap (see `trireme disk list`).
    #[arg(required = true)]
    pub id: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Do not wait for the drain, the new disk or the refill: do what can be done now.
    #[arg(long)]
    pub no_wait: bool,
    #[command(subcommand)]
    pub command: Option<SwapCommand>,
}

#[derive(Debug, Subcommand)]
pub enum SwapCommand {
    /// Where a swap stands: the drain (chunks, bytes, rate, ETA), the gate, the slot, and
    /// the new disk's refill; by the old disk's id or the new one's.
    Status {
        id: String,
        /// Re-print every 2 s while draining or refilling.
        #[arg(long)]
        watch: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// What removing a disk would take: copies, room elsewhere, placement, time at the current
    /// repair throttle. Changes nothing.
    DiskRemove { id: String },
    /// What decommissioning a chunkserver would take. Changes nothing.
    ChunkserverRemove { id: u64 },
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
    Delete {
        name: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
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

#[derive(Debug, Subcommand)]
pub enum ObjectCommand {
    /// Size, ETag, checksums, and each chunk in order with its replicas: chunkserver, disk,
    /// whether each counts as healthy, and when the disk was last scrubbed.
    #[command(
        after_help = "Exit codes: 0 explained, 1 the object does not exist or the \
                      request failed, 2 bad usage or the cluster is unreachable. With --check: \
                      0 every chunk has its wanted healthy replicas, 1 some chunk has fewer \
                      (explained above), 2 the object could not be explained."
    )]
    Explain {
        /// s3://BUCKET/KEY (or BUCKET/KEY).
        object: String,
        /// Exit 1 when a chunk has fewer healthy replicas than it should.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MetaCommand {
    /// Voters, learners, the leader and term, and each member's matched log index and lag.
    Members,
    /// Add a meta-server: first as a learner; once it has caught up, as a voter.
    #[command(
        after_help = "Without --local, start the new meta-server yourself first (an empty data \
                      directory, this cluster's id and secret) and name its id and address. \
                      Run again on a learner to promote it."
    )]
    Add {
        /// The new node's Raft id [with --local: the next free id].
        id: Option<u64>,
        /// Its RPC address, HOST:PORT [with --local: the port it binds].
        addr: Option<String>,
        /// Create and start a new meta-server process in the data directory of a cluster run
        /// by `trireme up`, then add it.
        #[arg(long)]
        local: bool,
        /// Leave it a learner (it receives the log but does not vote).
        #[arg(long)]
        learner_only: bool,
        /// How long it may take to catch up before promotion, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 300,
              value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
    },
    /// Remove a member; if it is the leader, leadership moves to another voter first.
    /// Refused when it would leave no voter or no reachable majority.
    Remove {
        id: u64,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Make another voter the leader (writes pause for about one election timeout).
    TransferLeader { id: u64 },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an operator token and print it (shown only once).
    Create {
        /// admin (every command) or reader (status and listings only).
        #[arg(long, value_name = "ROLE")]
        role: trireme_api::admin::Role,
        /// A unique name: the audit log's "who".
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// List operator tokens (names, roles, ids; never the tokens).
    List,
    /// Revoke a token: requests carrying it are refused from then on.
    Revoke {
        name: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// Flags of `trireme audit`.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Show the N most recent entries (1..=10000).
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
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
#[path = "cli_tests.rs"]
mod tests;
