//! The client workloads, each worker a task issuing one recorded op at a time until told to
//! stop, and the final quiescent reads.
//!
//! - **register** (processes 0..4): put / get / delete on a small key set `reg/k*`, values
//!   of varied sizes (inline in metadata and chunked).
//! - **list** (processes 10, 11): each owns a prefix `list/wN/`, puts keys there, deletes
//!   some, and lists the prefix.
//! - **large** (process 20): objects of several chunks under `big/k*`, put then read back
//!   (their hashes are checked).
//! - **multipart** (process 30): two-part multipart uploads (5 MiB and a little more) under
//!   `mp/k*`, read back.

use super::client::Clients;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

const REGISTER_WORKERS: u64 = 4;
const REGISTER_KEYS: u64 = 8;
const LIST_WORKERS: u64 = 2;
const LIST_KEYS: u64 = 16;
const LARGE_KEYS: u64 = 3;
const MULTIPART_KEYS: u64 = 2;
/// Multipart objects are over 5 MiB: fewer of them.
const MULTIPART_THINK: Duration = Duration::from_millis(300);
/// Process id of the final reads.
pub const FINAL_PROCESS: u64 = 100;
/// Pause between two ops of a worker: keeps the per-key histories searchable.
const THINK: Duration = Duration::from_millis(25);

/// Running workers; [`Workers::stop`] ends them after their current op.
pub struct Workers {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts every workload on `clients`, seeded from `seed`.
pub fn start(clients: &Arc<Clients>, seed: u64) -> Workers {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let mut spawn = |p: u64, f: fn(Arc<Clients>, u64, StdRng, Arc<AtomicBool>) -> Work| {
        let rng = StdRng::seed_from_u64(seed ^ (p + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        tasks.push(tokio::spawn(f(clients.clone(), p, rng, stop.clone())));
    };
    for p in 0..REGISTER_WORKERS {
        spawn(p, |c, p, r, s| Box::pin(register(c, p, r, s)));
    }
    for p in 10..10 + LIST_WORKERS {
        spawn(p, |c, p, r, s| Box::pin(list(c, p, r, s)));
    }
    spawn(20, |c, p, r, s| Box::pin(large(c, p, r, s)));
    spawn(30, |c, p, r, s| Box::pin(multipart(c, p, r, s)));
    Workers { stop, tasks }
}

type Work = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl Workers {
    /// Asks every worker to stop and waits for them.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

fn small_size(rng: &mut StdRng) -> usize {
    if rng.gen_bool(0.2) {
        rng.gen_range(40_000..150_000)
    } else {
        rng.gen_range(100..8_000)
    }
}

async fn register(c: Arc<Clients>, p: u64, mut rng: StdRng, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let key = format!("reg/k{}", rng.gen_range(0..REGISTER_KEYS));
        match rng.gen_range(0..100) {
            0..45 => {
                let size = small_size(&mut rng);
                c.put(p, &key, size).await;
            }
            45..90 => {
                c.get(p, &key).await;
            }
            _ => {
                c.delete(p, &key).await;
            }
        }
        tokio::time::sleep(THINK).await;
    }
}

async fn list(c: Arc<Clients>, p: u64, mut rng: StdRng, stop: Arc<AtomicBool>) {
    let prefix = format!("list/w{p}/");
    while !stop.load(Ordering::Relaxed) {
        let key = format!("{prefix}k{:02}", rng.gen_range(0..LIST_KEYS));
        match rng.gen_range(0..100) {
            0..50 => {
                let size = rng.gen_range(100..2_000);
                c.put(p, &key, size).await;
            }
            50..70 => {
                c.delete(p, &key).await;
            }
            _ => {
                c.list(p, &prefix).await;
            }
        }
        tokio::time::sleep(THINK).await;
    }
}

async fn large(c: Arc<Clients>, p: u64, mut rng: StdRng, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let key = format!("big/k{}", rng.gen_range(0..LARGE_KEYS));
        if rng.gen_bool(0.4) {
            let size = rng.gen_range(200_000..700_000);
            c.put(p, &key, size).await;
        } else {
            c.get(p, &key).await;
        }
        tokio::time::sleep(THINK).await;
    }
}

async fn multipart(c: Arc<Clients>, p: u64, mut rng: StdRng, stop: Arc<AtomicBool>) {
    let min = trireme_api::multipart::MIN_PART_SIZE as usize;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("mp/k{}", rng.gen_range(0..MULTIPART_KEYS));
        if rng.gen_bool(0.4) {
            let size = min + rng.gen_range(1_000..400_000);
            c.put_multipart(p, &key, size).await;
        } else {
            c.get(p, &key).await;
        }
        tokio::time::sleep(MULTIPART_THINK).await;
    }
}

/// After healing: one read of every key the history touched and one listing of every list
/// prefix, retried (each attempt recorded) until acknowledged or `attempts` are spent.
pub async fn final_reads(c: &Clients, attempts: usize) {
    let history = c.recorder.snapshot();
    let keys: Vec<String> = history.keys().map(str::to_string).collect();
    for key in keys {
        for _ in 0..attempts {
            if matches!(
                c.get(FINAL_PROCESS, &key).await,
                trireme_torture::Outcome::Ok { .. }
            ) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    for p in 10..10 + LIST_WORKERS {
        let prefix = format!("list/w{p}/");
        for _ in 0..attempts {
            if matches!(
                c.list(FINAL_PROCESS, &prefix).await,
                trireme_torture::Outcome::Ok { .. }
            ) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
