//! Phases (prepare, the measured run, clean-up): `concurrency` workers, each taking the next
//! operation from the phase's [`Source`], timing it and recording it in its own recorder,
//! until the deadline, the operation budget or the source runs out.

use super::config::Config;
use super::data::{splitmix64, Data, Xoshiro};
use super::mixed::LiveSet;
use super::op::Op;
use super::progress::Progress;
use super::s3::{S3Client, S3Error};
use super::servers::{usage, Probe, Usage};
use super::stats::{process_cpu, Live, Recorder};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// What every worker shares.
pub struct Shared {
    pub cfg: Config,
    pub client: S3Client,
    pub data: Data,
    /// The local cluster's processes and data disk, watched during each phase.
    pub servers: Probe,
}

/// Where a phase's operations come from.
pub enum Source {
    /// PUT objects `next..end` in order (no end: until the deadline or budget).
    Put { next: AtomicU64, end: Option<u64> },
    /// DELETE objects `next..end` in order.
    Delete { next: AtomicU64, end: u64 },
    /// GET or HEAD random objects among `0..objects`.
    Read { op: Op, objects: u64 },
    /// ListObjectsV2 pages under the key prefix.
    List,
    /// The --mix weights over a live set of objects.
    Mixed(LiveSet),
}

impl Source {
    pub fn put(from: u64, end: Option<u64>) -> Source {
        Source::Put {
            next: AtomicU64::new(from),
            end,
        }
    }

    pub fn delete(end: u64) -> Source {
        Source::Delete {
            next: AtomicU64::new(0),
            end,
        }
    }

    /// The operation the source starts with (the mixed workload: GET).
    pub fn first_op(&self) -> Op {
        match self {
            Source::Put { .. } => Op::Put,
            Source::Delete { .. } => Op::Delete,
            Source::Read { op, .. } => *op,
            Source::List => Op::List,
            Source::Mixed(_) => Op::Get,
        }
    }

    /// Every object index this source may have written is below this.
    pub fn high_water(&self) -> u64 {
        match self {
            Source::Put { next, end } => {
                let n = next.load(Ordering::Relaxed);
                end.map_or(n, |e| n.min(e))
            }
            Source::Mixed(set) => set.high_water(),
            _ => 0,
        }
    }
}

/// One phase: what it does and when it stops.
pub struct Plan {
    pub name: &'static str,
    pub source: Source,
    pub deadline: Option<Duration>,
    pub budget: Option<u64>,
    started: AtomicU64,
}

impl Plan {
    pub fn new(
        name: &'static str,
        source: Source,
        deadline: Option<Duration>,
        budget: Option<u64>,
    ) -> Plan {
        Plan {
            name,
            source,
            deadline,
            budget,
            started: AtomicU64::new(0),
        }
    }
}

/// What a phase measured.
pub struct PhaseResult {
    pub name: &'static str,
    pub wall: Duration,
    pub stats: Recorder,
    /// Client CPU (user + system) spent during the phase.
    pub cpu: Duration,
    /// HTTP requests sent during the phase.
    pub requests: u64,
    /// Object indexes below this may have been written.
    pub high_water: u64,
    /// What the local cluster's servers spent during the phase (none for other endpoints).
    pub servers: Option<Usage>,
}

#[derive(Clone, Copy)]
struct Task {
    op: Op,
    index: u64,
}

/// Runs a phase to its end.
pub async fn run_phase(sh: &Arc<Shared>, plan: Plan) -> PhaseResult {
    let plan = Arc::new(plan);
    let live = Arc::new(Live::default());
    let cpu0 = process_cpu();
    let servers0 = (!sh.servers.is_empty()).then(|| sh.servers.sample());
    let req0 = sh.client.requests();
    let start = Instant::now();
    let progress = sh.cfg.progress.then(|| {
        let workload = sh.cfg.workload.map_or("", |w| w.name());
        Progress::start(
            format!("{workload} {}", plan.name),
            Arc::clone(&live),
            start,
            plan.deadline,
            plan.budget,
        )
    });
    let mut workers = JoinSet::new();
    for id in 0..sh.cfg.concurrency {
        workers.spawn(worker(
            Arc::clone(sh),
            Arc::clone(&plan),
            Arc::clone(&live),
            id,
            start,
        ));
    }
    let mut stats = Recorder::default();
    while let Some(done) = workers.join_next().await {
        match done {
            Ok(rec) => stats.merge(&rec),
            // Only a panic ends a worker early; count it against the phase's first operation.
            Err(e) => stats.err(
                &live,
                plan.source.first_op(),
                format!("a worker failed: {e}"),
            ),
        }
    }
    let wall = start.elapsed();
    if let Some(p) = progress {
        p.finish().await;
    }
    PhaseResult {
        name: plan.name,
        wall,
        stats,
        cpu: process_cpu().saturating_sub(cpu0),
        requests: sh.client.requests() - req0,
        high_water: plan.source.high_water(),
        servers: servers0.map(|s0| usage(&s0, &sh.servers.sample())),
    }
}

async fn worker(
    sh: Arc<Shared>,
    plan: Arc<Plan>,
    live: Arc<Live>,
    id: u64,
    start: Instant,
) -> Recorder {
    let mut rec = Recorder::default();
    let mut rng = Xoshiro::new(splitmix64(sh.cfg.seed ^ (id + 1).rotate_left(32)));
    // The continuation token of this worker's walk through the listing.
    let mut list_token: Option<String> = None;
    loop {
        if plan.deadline.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
        if let Some(b) = plan.budget {
            if plan.started.fetch_add(1, Ordering::Relaxed) >= b {
                break;
            }
        }
        let Some(task) = next_task(&sh, &plan.source, &mut rng) else {
            break;
        };
        let t0 = Instant::now();
        let run = execute(&sh, task, &mut list_token, &mut rng);
        let result = match tokio::time::timeout(sh.cfg.timeout, run).await {
            Ok(r) => r,
            Err(_) => Err(S3Error::Timeout(sh.cfg.timeout)),
        };
        let took = t0.elapsed();
        let ok = result.is_ok();
        match result {
            Ok((bytes, items)) => rec.ok(&live, task.op, took, bytes, items),
            Err(e) => {
                let what = match task.op {
                    Op::List => format!("{}/{}", sh.cfg.bucket, sh.cfg.key_prefix),
                    _ => sh.data.key(task.index),
                };
                let msg = crate::error::one_line(&format!("{} {what}: {e}", task.op.name()));
                rec.err(&live, task.op, msg);
            }
        }
        if let Source::Mixed(set) = &plan.source {
            match task.op {
                Op::Get | Op::Head => set.end_read(task.index),
                Op::Put if ok => set.end_put(task.index),
                _ => {}
            }
        }
    }
    rec
}

fn next_task(sh: &Shared, source: &Source, rng: &mut Xoshiro) -> Option<Task> {
    let task = |op, index| Some(Task { op, index });
    match source {
        Source::Put { next, end } => {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if end.is_some_and(|e| i >= e) {
                return None;
            }
            task(Op::Put, i)
        }
        Source::Delete { next, end } => {
            let i = next.fetch_add(1, Ordering::Relaxed);
            (i < *end).then_some(Task {
                op: Op::Delete,
                index: i,
            })
        }
        Source::Read { op, objects } => task(*op, rng.below(*objects)),
        Source::List => task(Op::List, 0),
        Source::Mixed(set) => {
            let op = sh.cfg.mix.pick(rng.below(sh.cfg.mix.total()));
            let picked = match op {
                Op::Get | Op::Head => set.start_read(rng),
                Op::Delete => set.take_for_delete(rng),
                Op::List => Some(0),
                Op::Put => None,
            };
            match picked {
                Some(i) => task(op, i),
                // Nothing to read or delete: write instead.
                None => task(Op::Put, set.start_put()),
            }
        }
    }
}

/// Runs one operation; returns (payload bytes, items listed).
async fn execute(
    sh: &Shared,
    task: Task,
    list_token: &mut Option<String>,
    rng: &mut Xoshiro,
) -> Result<(u64, u64), S3Error> {
    let (c, b, d) = (&sh.client, sh.cfg.bucket.as_str(), &sh.data);
    match task.op {
        Op::Put => {
            c.put(b, d, task.index, &sh.cfg.multipart).await?;
            Ok((d.size(), 0))
        }
        Op::Get => Ok((c.get(b, d, task.index, sh.cfg.verify).await?, 0)),
        Op::Head => c.head(b, d, task.index).await.map(|()| (0, 0)),
        Op::Delete => c.delete(b, &d.key(task.index)).await.map(|()| (0, 0)),
        Op::List => {
            // A walk starts after a random key, so workers read different pages.
            let start_after = match (&list_token, sh.cfg.existing) {
                (None, n) if n > 0 => Some(d.key(rng.below(n))),
                _ => None,
            };
            let page = c
                .list(
                    b,
                    &sh.cfg.key_prefix,
                    sh.cfg.list_max_keys,
                    list_token.as_deref(),
                    start_after.as_deref(),
                )
                .await;
            match page {
                Ok(p) => {
                    *list_token = p.next;
                    Ok((0, p.keys))
                }
                Err(e) => {
                    *list_token = None;
                    Err(e)
                }
            }
        }
    }
}
