//! The scrub worker ("scrub"): re-reads every chunk file on every disk in service and
//! verifies it completely (header, every block digest, the whole BLAKE3). A bad replica is
//! quarantined and reported to the meta leader (see [`crate::verify`]).
//!
//! - Rate: a token bucket of `scrub.bandwidth_mib` MiB/s (0 pauses). A periodic pass is
//!   also paced to spread over half of `scrub.interval_s`, so it ends well within its
//!   interval without a burst at the start; a pass the operator asked for (a new epoch) runs
//!   at the bandwidth limit.
//! - When: a pass starts when `scrub.interval_s` has passed since the last one started (0:
//!   no periodic passes), when the leader's scrub epoch is above the current or last pass's
//!   (`trireme scrub start`: the current pass is abandoned for a new one), at once if the
//!   last pass never finished, and at first start-up.
//! - `scrub.running = false` pauses in place (state `Paused`); resuming continues the pass.
//! - Until the first heartbeat answer the worker waits, so a paused scrub stays paused
//!   across restarts. Its history is kept on each disk ([`crate::scrub_state`]), by disk id:
//!   a disk new in its slot starts with its own (fresh) record, and a disk that came into
//!   service is scrubbed from the next pass on.

mod schedule;

pub use schedule::{due, Pass};

use crate::disk::{Disk, ListedChunk};
use crate::disk_health::unix_ms;
use crate::scrub_state::{self, SavedScrub};
use crate::shared::{Control, Shared};
use crate::throttle::{pace, TokenBucket};
use crate::verify::{check_replica, Checked, Outcome};
use crate::workers::WorkerHandle;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use trireme_api::durability::WorkerState;
use trireme_api::ids::{ChunkId, DiskId};

/// Settings read by this worker.
pub const BANDWIDTH: &str = "scrub.bandwidth_mib";
pub const INTERVAL: &str = "scrub.interval_s";
const MIB: u64 = 1 << 20;

enum Wake {
    Elapsed,
    Changed,
    Orphaned,
    Stop,
}

enum Gate {
    Go,
    Restart,
    Stop,
}

/// The scrub records of the disks in service: those in `known` as they are, the others
/// read from their disks (a new disk has none: a fresh record). Disks gone from service
/// are dropped.
async fn load_records(
    disks: Vec<Arc<Disk>>,
    known: &BTreeMap<DiskId, SavedScrub>,
) -> BTreeMap<DiskId, SavedScrub> {
    let mut out = BTreeMap::new();
    let mut load = Vec::new();
    for disk in disks
        .into_iter()
        .filter(|d| !d.is_offline() && !d.is_released())
    {
        match known.get(&disk.id) {
            Some(s) => {
                out.insert(disk.id.clone(), s.clone());
            }
            None => load.push(disk),
        }
    }
    if load.is_empty() {
        return out;
    }
    let loaded = tokio::task::spawn_blocking(move || {
        load.into_iter()
            .map(|d| {
                let record = scrub_state::load(&d);
                (d, record)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    for (disk, record) in loaded {
        if let Some(ms) = record.as_ref().and_then(|r| r.disk_scrubbed_ms) {
            disk.monitor().set_last_scrub_ms(ms);
        }
        let record = record.unwrap_or_else(fresh);
        out.insert(disk.id.clone(), record);
    }
    out
}

/// The record of a disk never scrubbed.
fn fresh() -> SavedScrub {
    SavedScrub {
        v: scrub_state::VERSION,
        ..SavedScrub::default()
    }
}

/// Runs until `stop` turns true.
pub async fn run(shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    let mut s = Scrubber::start(shared, stop).await;
    while let Some(pass) = s.next_pass().await {
        if s.run_pass(pass).await.is_none() {
            break;
        }
    }
    tracing::debug!("scrub worker stopped");
}

struct Scrubber {
    shared: Arc<Shared>,
    worker: Arc<WorkerHandle>,
    control: watch::Receiver<Control>,
    stop: watch::Receiver<bool>,
    bucket: TokenBucket,
    /// Per disk in service, by id: the record persisted on it. A disk new in its slot gets
    /// its own record (fresh on a new disk), never its predecessor's.
    saved: BTreeMap<DiskId, SavedScrub>,
    /// The last pass started.
    history: Option<SavedScrub>,
    bytes_total: u64,
}

impl Scrubber {
    async fn start(shared: Arc<Shared>, stop: watch::Receiver<bool>) -> Self {
        let saved = load_records(shared.store.disks(), &BTreeMap::new()).await;
        let history = scrub_state::newest(saved.values().filter(|s| **s != fresh()));
        if let Some(h) = &history {
            let mut p = shared.scrub();
            p.epoch = h.epoch;
            p.pass_started_ms = h.pass_started_ms;
            p.last_pass_completed_ms = h.pass_completed_ms;
            p.last_pass_epoch = h.last_pass_epoch;
        }
        let bandwidth = shared.control.borrow().setting(BANDWIDTH).max(1);
        Scrubber {
            worker: shared.workers.scrub.clone(),
            control: shared.control.subscribe(),
            shared,
            stop,
            bucket: TokenBucket::new(bandwidth.saturating_mul(MIB), Instant::now()),
            saved,
            history,
            bytes_total: 0,
        }
    }

    /// Waits until a pass is due; None on shutdown.
    async fn next_pass(&mut self) -> Option<Pass> {
        loop {
            let c = self.control.borrow_and_update().clone();
            let mut wait = None;
            if !c.known {
                self.publish(WorkerState::Idle, Some("waiting for the meta leader"));
            } else if !c.scrub.running || c.setting(BANDWIDTH) == 0 {
                self.publish(WorkerState::Paused, None);
            } else {
                let interval = c.setting(INTERVAL);
                match due(self.history.as_ref(), c.scrub.epoch, interval, unix_ms()) {
                    Ok(pass) => return Some(pass),
                    Err(d) => {
                        self.publish(WorkerState::Idle, None);
                        wait = d;
                    }
                }
            }
            if let Wake::Stop = self.wait(wait).await {
                return None;
            }
        }
    }

    /// Runs one pass; None on shutdown.
    async fn run_pass(&mut self, pass: Pass) -> Option<()> {
        let started = Instant::now();
        self.saved = load_records(self.shared.store.disks(), &self.saved).await;
        let last = self.history.clone().unwrap_or_default();
        let record = SavedScrub {
            v: scrub_state::VERSION,
            epoch: pass.epoch,
            pass_started_ms: Some(unix_ms()),
            ..last
        };
        self.begin(&record).await;
        let lists = self.list().await;
        let total_bytes: u64 = lists.iter().flat_map(|(_, l)| l).map(|c| c.len).sum();
        let total: usize = lists.iter().map(|(_, l)| l.len()).sum();
        self.shared.scrub().chunks_total = total as u64;
        let interval = Duration::from_secs(self.control.borrow().setting(INTERVAL));
        let target = pass.paced.then_some(interval / 2);
        tracing::info!(
            epoch = pass.epoch,
            paced = pass.paced,
            chunks = total,
            "scrub pass started"
        );
        let mut done_bytes = 0u64;
        for (disk, chunks) in lists {
            let mut finished = true;
            for (i, item) in chunks.iter().enumerate() {
                match self.gate(pass.epoch).await {
                    Gate::Go => {}
                    Gate::Restart => return Some(()),
                    Gate::Stop => return None,
                }
                if !disk.is_online() {
                    // Failed meanwhile: its remaining chunks are skipped.
                    self.shared.scrub().chunks_done += (chunks.len() - i) as u64;
                    finished = false;
                    break;
                }
                let now = Instant::now();
                let mut wait = self.bucket.take(item.len, now);
                if let Some(target) = target {
                    wait = wait.max(pace(started, now, done_bytes, total_bytes, target));
                }
                if !wait.is_zero() {
                    self.publish(WorkerState::Throttled, None);
                    if let Wake::Stop = self.wait(Some(wait)).await {
                        return None;
                    }
                    match self.gate(pass.epoch).await {
                        Gate::Go => {}
                        Gate::Restart => return Some(()),
                        Gate::Stop => return None,
                    }
                }
                self.publish(WorkerState::Busy, None);
                let checked = self.check(&disk, &item.chunk).await;
                done_bytes += item.len;
                self.record(item, &checked);
            }
            if finished {
                let now = unix_ms();
                disk.monitor().set_last_scrub_ms(now);
                if let Some(s) = self.saved.get_mut(&disk.id) {
                    s.disk_scrubbed_ms = Some(now);
                }
                self.persist(Some(&disk.id)).await;
            }
        }
        self.finish(pass).await;
        Some(())
    }

    /// Records a pass start everywhere.
    async fn begin(&mut self, record: &SavedScrub) {
        self.history = Some(record.clone());
        for s in self.saved.values_mut() {
            *s = SavedScrub {
                disk_scrubbed_ms: s.disk_scrubbed_ms,
                ..record.clone()
            };
        }
        {
            let mut p = self.shared.scrub();
            p.epoch = record.epoch;
            p.pass_started_ms = record.pass_started_ms;
            p.chunks_done = 0;
            p.chunks_total = 0;
            p.bytes_done = 0;
        }
        self.publish(WorkerState::Busy, None);
        self.persist(None).await;
    }

    async fn finish(&mut self, pass: Pass) {
        let now = unix_ms();
        for s in self.saved.values_mut().chain(self.history.as_mut()) {
            s.pass_completed_ms = Some(now);
            s.last_pass_epoch = Some(pass.epoch);
        }
        let (chunks, bad) = {
            let mut p = self.shared.scrub();
            p.last_pass_completed_ms = Some(now);
            p.last_pass_epoch = Some(pass.epoch);
            (p.chunks_done, p.bad_found)
        };
        self.publish(WorkerState::Idle, None);
        self.persist(None).await;
        tracing::info!(
            epoch = pass.epoch,
            chunks,
            bad_found_total = bad,
            "scrub pass complete"
        );
    }

    /// The chunk files of every disk in service.
    async fn list(&self) -> Vec<(Arc<Disk>, Vec<ListedChunk>)> {
        let mut out = Vec::new();
        for disk in self.shared.store.disks() {
            if !disk.is_online() {
                continue;
            }
            let d = disk.clone();
            match tokio::task::spawn_blocking(move || d.list_chunks()).await {
                Ok(Ok(mut chunks)) => {
                    chunks.sort_by(|a, b| a.chunk.cmp(&b.chunk));
                    out.push((disk.clone(), chunks));
                }
                Ok(Err(e)) => {
                    let what = format!("cannot list chunks of disk {}: {e}", disk.id);
                    tracing::warn!(disk = %disk.id, error = %e, "scrub cannot list chunks");
                    self.worker.error(what);
                }
                Err(e) => self.worker.error(format!("listing panicked: {e}")),
            }
        }
        out
    }

    async fn check(&self, disk: &Arc<Disk>, chunk: &ChunkId) -> Checked {
        let (disk, chunk) = (disk.clone(), chunk.clone());
        let reporter = self.shared.reporter.clone();
        let id = u128::from_str_radix(&chunk.0, 16).unwrap_or(0);
        tokio::task::spawn_blocking(move || {
            check_replica(&disk, &reporter, &chunk, id, None, false)
        })
        .await
        .unwrap_or_else(|e| Checked {
            outcome: Outcome::Error,
            reason: Some(format!("verification panicked: {e}")),
            quarantined: false,
            file_len: 0,
        })
    }

    fn record(&mut self, item: &ListedChunk, checked: &Checked) {
        {
            let mut p = self.shared.scrub();
            p.chunks_done += 1;
            p.bytes_done += item.len;
            match checked.outcome {
                Outcome::Good => p.verified_total += 1,
                Outcome::Corrupt => {
                    p.verified_total += 1;
                    p.bad_found += 1;
                }
                Outcome::IoError => p.bad_found += 1,
                Outcome::Missing | Outcome::Error => {}
            }
        }
        self.bytes_total += checked.file_len;
        if !matches!(checked.outcome, Outcome::Good | Outcome::Missing) {
            let reason = checked.reason.clone().unwrap_or_default();
            self.worker.error(format!("chunk {}: {reason}", item.chunk));
        }
        // The worker status follows the progress at once, so no report shows a pass as
        // done with the worker's counts behind it.
        self.publish(WorkerState::Busy, None);
    }

    /// Passes when scrub may read; pauses in place while it may not.
    async fn gate(&mut self, epoch: u64) -> Gate {
        loop {
            if *self.stop.borrow() {
                return Gate::Stop;
            }
            let c = self.control.borrow_and_update().clone();
            if c.scrub.epoch > epoch {
                tracing::info!(
                    epoch = c.scrub.epoch,
                    "new scrub epoch: starting a new pass"
                );
                return Gate::Restart;
            }
            let bandwidth = c.setting(BANDWIDTH);
            if c.scrub.running && bandwidth > 0 {
                let rate = bandwidth.saturating_mul(MIB);
                if rate != self.bucket.rate() {
                    self.bucket.set_rate(rate, Instant::now());
                }
                return Gate::Go;
            }
            self.publish(WorkerState::Paused, None);
            if let Wake::Stop = self.wait(None).await {
                return Gate::Stop;
            }
        }
    }

    /// Sleeps `d` (forever when None) unless the control changes or shutdown comes first.
    async fn wait(&mut self, d: Option<Duration>) -> Wake {
        let sleep = async {
            match d {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let wake = tokio::select! {
            _ = self.stop.wait_for(|s| *s) => Wake::Stop,
            r = self.control.changed() => match r {
                Ok(()) => Wake::Changed,
                // The control's sender is gone: nothing will change until shutdown.
                Err(_) => Wake::Orphaned,
            },
            () = sleep => Wake::Elapsed,
        };
        if let Wake::Orphaned = wake {
            let _ = self.stop.wait_for(|s| *s).await;
            return Wake::Stop;
        }
        wake
    }

    /// Writes the records of one disk (or all) in service.
    async fn persist(&self, only: Option<&DiskId>) {
        let jobs: Vec<(Arc<Disk>, SavedScrub)> = self
            .shared
            .store
            .disks()
            .into_iter()
            .filter(|d| only.is_none_or(|o| *o == d.id) && d.is_online())
            .filter_map(|d| self.saved.get(&d.id).map(|s| (d.clone(), s.clone())))
            .collect();
        let saved = tokio::task::spawn_blocking(move || {
            for (disk, state) in jobs {
                if let Err(e) = scrub_state::save(&disk, &state) {
                    tracing::warn!(disk = %disk.id, error = %e, "cannot save scrub state");
                }
            }
        });
        if let Err(e) = saved.await {
            tracing::warn!(error = %e, "saving scrub state panicked");
        }
    }

    /// Publishes the state to the shared progress and the worker status.
    fn publish(&self, state: WorkerState, note: Option<&str>) {
        let p = {
            let mut p = self.shared.scrub();
            p.state = state;
            p.clone()
        };
        let text = match note {
            Some(n) => n.to_string(),
            None => format!(
                "{}/{} chunks, epoch {}, {} bad found",
                p.chunks_done, p.chunks_total, p.epoch, p.bad_found
            ),
        };
        self.worker.update(|w| {
            w.state = state;
            w.items = p.verified_total;
            w.bytes = self.bytes_total;
            w.progress = Some(text);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_disk_in_a_slot_starts_with_a_fresh_record() {
        let root = tempfile::tempdir().expect("tempdir");
        let old = Arc::new(Disk::open(&root.path().join("old"), "c1", 1).expect("open"));
        let kept = Arc::new(Disk::open(&root.path().join("kept"), "c1", 1).expect("open"));
        let done = SavedScrub {
            epoch: 4,
            pass_started_ms: Some(100),
            pass_completed_ms: Some(200),
            disk_scrubbed_ms: Some(150),
            ..fresh()
        };
        scrub_state::save(&kept, &done).expect("save");
        let known = load_records(vec![old.clone(), kept.clone()], &BTreeMap::new()).await;
        assert_eq!(known.get(&old.id), Some(&fresh()));
        assert_eq!(known.get(&kept.id), Some(&done));
        assert_eq!(kept.monitor().last_scrub_ms(), Some(150));

        // The old disk released, a new one in its place: the old record goes, the new disk
        // gets its own.
        old.release();
        let new = Arc::new(Disk::open(&root.path().join("new"), "c1", 1).expect("open"));
        let mut known = known;
        known.insert(old.id.clone(), done.clone());
        let now = load_records(vec![old.clone(), kept.clone(), new.clone()], &known).await;
        assert_eq!(now.len(), 2);
        assert!(!now.contains_key(&old.id));
        assert_eq!(now.get(&new.id), Some(&fresh()));
        assert_eq!(now.get(&kept.id), Some(&done));
    }
}
