//! The hashing threads of this process: started on first use, one per eight CPUs (at least
//! one), each named `md5-lanes-N`. Streams are spread over them by id. `TRIREME_MD5_LANES=0`
//! in the environment turns them off.

use crate::lanes;
use crate::worker::{Counters, Msg, Worker};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::OnceLock;

struct Service {
    senders: Vec<Sender<Msg>>,
    counters: &'static [Counters],
    next_id: AtomicU64,
}

static SERVICE: OnceLock<Option<Service>> = OnceLock::new();
static DISABLED: AtomicBool = AtomicBool::new(false);

/// Makes every later [`crate::Md5Stream::new`] hash inline (for tests and comparisons).
pub fn disable() {
    DISABLED.store(true, Ordering::Relaxed);
}

/// Whether new streams go to the lanes.
pub fn enabled() -> bool {
    !DISABLED.load(Ordering::Relaxed) && service().is_some()
}

fn service() -> Option<&'static Service> {
    SERVICE.get_or_init(start).as_ref()
}

/// Set to `0` or `off`, the process hashes every stream inline (an escape hatch, and the
/// way to compare).
pub const ENV_SWITCH: &str = "TRIREME_MD5_LANES";

fn start() -> Option<Service> {
    let off = std::env::var(ENV_SWITCH).is_ok_and(|v| v == "0" || v.eq_ignore_ascii_case("off"));
    let kernel = match lanes::best() {
        Some(k) if !off => k,
        _ => return None,
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = (cpus / 8).max(1);
    let counters: &'static [Counters] = Box::leak(
        (0..n)
            .map(|_| Counters::default())
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let mut senders = Vec::with_capacity(n);
    for (i, c) in counters.iter().enumerate() {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("md5-lanes-{i}"))
            .spawn(move || Worker::new(kernel, rx, c).run());
        if spawned.is_err() {
            return None;
        }
        senders.push(tx);
    }
    Some(Service {
        senders,
        counters,
        next_id: AtomicU64::new(1),
    })
}

/// A new stream id and the sender of its thread, or None to hash inline.
pub(crate) fn sender() -> Option<(u64, Sender<Msg>)> {
    if DISABLED.load(Ordering::Relaxed) {
        return None;
    }
    let s = service()?;
    let id = s.next_id.fetch_add(1, Ordering::Relaxed);
    let tx = s.senders.get(id as usize % s.senders.len())?.clone();
    Some((id, tx))
}

/// What the hashing threads did since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes hashed on lanes (whole blocks; heads and padding are hashed apart).
    pub lane_bytes: u64,
    /// Bytes hashed by the same thread with the scalar function, when one stream was busy.
    pub solo_bytes: u64,
    /// Bytes the kernel could have hashed in the calls it made (16 lanes each): the share
    /// `lane_bytes / slot_bytes` is how full the lanes ran.
    pub slot_bytes: u64,
    /// Streams finished on the lanes.
    pub streams: u64,
}

/// The counters of every hashing thread, summed (zeros when the lanes are not in use).
pub fn stats() -> Stats {
    let Some(Some(s)) = SERVICE.get() else {
        return Stats::default();
    };
    let (mut blocks, mut slots, mut solo, mut streams) = (0u64, 0u64, 0u64, 0u64);
    for c in s.counters {
        blocks += c.lane_blocks.load(Ordering::Relaxed);
        slots += c.slots.load(Ordering::Relaxed);
        solo += c.solo_blocks.load(Ordering::Relaxed);
        streams += c.streams.load(Ordering::Relaxed);
    }
    Stats {
        lane_bytes: blocks * 64,
        solo_bytes: solo * 64,
        slot_bytes: slots * 64,
        streams,
    }
}

impl Stats {
    /// How full the lanes ran, 0 to 1 (0 before any use).
    pub fn occupancy(&self) -> f64 {
        if self.slot_bytes == 0 {
            0.0
        } else {
            self.lane_bytes as f64 / self.slot_bytes as f64
        }
    }
}
