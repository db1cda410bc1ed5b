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
//!   across restarts. Its history is kept on each disk ([`crate::scrub_state`]).

mod schedule;

pub use schedule::{due, Pass};

use crate::disk::{Disk, ListedChunk};
use crate::disk_health::unix_ms;
use crate::scrub_state::{self, SavedScrub};
use crate::shared::{Control, Shared};
use crate::throttle::{pace, TokenBucket};
use crate::verify::{check_replica, Checked, Outcome};
use crate::workers::WorkerHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use trireme_api::durability::WorkerState;
use trireme_api::ids::ChunkId;

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
    /// Per disk, in store order: the record persisted on it.
    saved: Vec<SavedScrub>,
    /// The last pass started.
    history: Option<SavedScrub>,
    bytes_total: u64,
}

impl Scrubber {
    async fn start(shared: Arc<Shared>, stop: watch::Receiver<bool>) -> Self {
        let disks = shared.store.disks().to_vec();
        let loaded = tokio::task::spawn_blocking(move || {
            disks
                .iter()
                .map(|d| (!d.is_offline()).then(|| scrub_state::load(d)).flatten())
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        let history = scrub_state::newest(loaded.iter().flatten());
        let mut saved = Vec::new();
        for (disk, record) in shared.store.disks().iter().zip(&loaded) {
            if let Some(ms) = record.as_ref().and_then(|r| r.disk_scrubbed_ms) {
                disk.monitor().set_last_scrub_ms(ms);
            }
            saved.push(record.clone().unwrap_or(SavedScrub {
                v: scrub_state::VERSION,
                ..SavedScrub::default()
            }));
        }
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
        let last = self.history.clone().unwrap_or_default();
        let record = SavedScrub {
            v: scrub_state::VERSION,
            epoch: pass.epoch,
            pass_started_ms: Some(unix_ms()),
            ..last
        };
        self.begin(&record).await;
        let lists = self.list().await;
        let total_bytes: u64 = lists.iter().flat_map(|(_, _, l)| l).map(|c| c.len).sum();
        let total: usize = lists.iter().map(|(_, _, l)| l.len()).sum();
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
        for (index, disk, chunks) in lists {
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
                if let Some(s) = self.saved.get_mut(index) {
                    s.disk_scrubbed_ms = Some(now);
                }
                self.persist(Some(index)).await;
            }
        }
        self.finish(pass).await;
        Some(())
    }

    /// Records a pass start everywhere.
    async fn begin(&mut self, record: &SavedScrub) {
        self.history = Some(record.clone());
        for s in &mut self.saved {
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
        for s in self.saved.iter_mut().chain(self.history.as_mut()) {
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
    async fn list(&self) -> Vec<(usize, Arc<Disk>, Vec<ListedChunk>)> {
        let mut out = Vec::new();
        for (index, disk) in self.shared.store.disks().iter().enumerate() {
            if !disk.is_online() {
                continue;
            }
            let d = disk.clone();
            match tokio::task::spawn_blocking(move || d.list_chunks()).await {
                Ok(Ok(mut chunks)) => {
                    chunks.sort_by(|a, b| a.chunk.cmp(&b.chunk));
                    out.push((index, disk.clone(), chunks));
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
    async fn persist(&self, only: Option<usize>) {
        let jobs: Vec<(Arc<Disk>, SavedScrub)> = self
            .shared
            .store
            .disks()
            .iter()
            .zip(&self.saved)
            .enumerate()
            .filter(|(i, (d, _))| only.is_none_or(|o| o == *i) && d.is_online())
            .map(|(_, (d, s))| (d.clone(), s.clone()))
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
