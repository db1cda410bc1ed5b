//! What the handlers and workers of one chunkserver share, passed explicitly (no globals):
//! the store, the bad-replica reporter, the workers' status, the scrub progress, and the
//! run-time [`Control`] (worker settings and scrub control) that every heartbeat answer from
//! the meta leader refreshes.

use crate::config::ChunkserverConfig;
use crate::report::Reporter;
use crate::store::Store;
use crate::workers::Workers;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;
use trireme_api::durability::{setting, ScrubControl, ScrubProgress};

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
        }
    }

    /// The scrub progress, locked.
    pub fn scrub(&self) -> MutexGuard<'_, ScrubProgress> {
        self.scrub.lock().unwrap_or_else(|e| e.into_inner())
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
