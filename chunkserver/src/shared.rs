//! What the handlers and workers of one chunkserver share, passed explicitly (no globals):
//! the store, the bad-replica reporter, the workers' status, the scrub progress, and the
//! run-time [`Control`] (worker settings and scrub control) that every heartbeat answer from
//! the meta leader refreshes, and the disks it lists as removed from service.

use crate::config::ChunkserverConfig;
use crate::report::Reporter;
use crate::store::Store;
use crate::workers::Workers;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;
use trireme_api::durability::{setting, ScrubControl, ScrubProgress};
use trireme_api::ids::DiskId;

/// Run-time control from the meta leader.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Control {
    /// `trireme worker set` settings; missing keys take their defaults.
    pub settings: BTreeMap<String, String>,
    pub scrub: ScrubControl,
    /// Whether the values above are the leader's (or, without meta addresses, the defaults
    /// to run with). Until then the scrub worker waits, so a paused scrub stays paused
    /// across restarts.
    pub known: bool,
}

impl Control {
    /// A setting's value, or its default.
    pub fn setting(&self, key: &str) -> u64 {
        setting(&self.settings, key)
    }
}

/// The state shared by the handlers and workers.
#[derive(Debug)]
pub struct Shared {
    pub config: Arc<ChunkserverConfig>,
    pub store: Arc<Store>,
    pub reporter: Arc<Reporter>,
    pub workers: Workers,
    scrub: Mutex<ScrubProgress>,
    pub control: watch::Sender<Control>,
    /// This chunkserver's disks removed from service, as the last heartbeat answer listed
    /// them.
    removed: Mutex<Vec<DiskId>>,
}

impl Shared {
    pub fn new(config: Arc<ChunkserverConfig>, store: Arc<Store>, reporter: Arc<Reporter>) -> Self {
        let control = Control {
            known: config.meta.is_empty(),
            ..Control::default()
        };
        Shared {
            workers: Workers::new(config.id),
            config,
            store,
            reporter,
            scrub: Mutex::new(ScrubProgress::default()),
            control: watch::Sender::new(control),
            removed: Mutex::new(Vec::new()),
        }
    }

    /// The scrub progress, locked.
    pub fn scrub(&self) -> MutexGuard<'_, ScrubProgress> {
        self.scrub.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The removed disks of the last heartbeat answer.
    pub fn removed(&self) -> Vec<DiskId> {
        self.removed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes the removed disks of a heartbeat answer and releases those still open (see
    /// [`Store::release`]); returns the ids released now.
    pub fn apply_removed(&self, removed: Vec<DiskId>) -> Vec<DiskId> {
        let released = self.store.release(&removed);
        *self.removed.lock().unwrap_or_else(|e| e.into_inner()) = removed;
        released
    }

    /// Takes the settings and scrub control of a heartbeat answer.
    pub fn apply_control(&self, settings: BTreeMap<String, String>, scrub: ScrubControl) {
        let new = Control {
            settings,
            scrub,
            known: true,
        };
        self.control.send_if_modified(|c| {
            let changed = *c != new;
            *c = new;
            changed
        });
    }
}
