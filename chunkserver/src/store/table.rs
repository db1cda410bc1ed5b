//! The slot table: slot `i` is configured disk path `i`, holding an open [`Disk`] (or, for a
//! disk refused at start-up, its `Offline` placeholder) or nothing. Every change of a slot's
//! disk happens under the table's write lock, in short critical sections that never span an
//! `.await` or any I/O:
//!
//! - start-up opens every slot in parallel (a blank one is formatted, unless
//!   `require_mounted_disks` and nothing is mounted on it);
//! - [`Store::release`] drops a removed disk from its slot, so no new I/O starts on it; its
//!   identity-file lock goes with the last in-flight reference;
//! - [`Store::inspect_slots`] (health worker) records what every slot without an open disk
//!   holds ([`crate::slots`]) and takes into service a disk of this chunkserver that was
//!   never removed (mounted after start-up);
//! - [`Store::format_slot`] (`FormatDisk`) formats a blank slot and puts the new disk in it.
//!
//! A slot being formatted or opened is `busy`: a second format of it is refused, so exactly
//! one of concurrent calls wins. Each change bumps the slot's generation, so an inspection
//! that ran meanwhile does not overwrite the newer state.

use super::{Store, StoreSettings};
use crate::disk::{Disk, DiskOpenError};
use crate::error::StoreError;
use crate::slots::{self, inspect, mount_of, Released, SlotContext};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trireme_api::ids::DiskId;
use trireme_api::swap::{FormatDiskResponse, SlotReport, SlotState};

/// One configured disk path.
#[derive(Debug)]
pub(super) struct Slot {
    pub path: PathBuf,
    /// The open disk, or the `Offline` placeholder of a disk refused at start-up.
    pub disk: Option<Arc<Disk>>,
    /// Whether the open disk's path was a mount point when it was opened.
    pub mounted: bool,
    /// The path's device when the disk was opened.
    pub dev: Option<u64>,
    /// The disk this process released from the slot, while it is still there.
    pub released: Option<Released>,
    /// What the slot held at the last inspection (slots without an open disk).
    pub report: SlotReport,
    /// A format or open is running.
    pub busy: bool,
    pub generation: u64,
    /// The last failure to open a disk of ours found here (logged once).
    pub open_error: Option<String>,
}

impl Slot {
    /// The open disk in service (not a placeholder).
    pub fn open_disk(&self) -> Option<&Arc<Disk>> {
        self.disk.as_ref().filter(|d| !d.is_offline())
    }

    fn install(&mut self, index: usize, disk: Disk, mounted: bool, dev: Option<u64>) {
        let id = disk.id.clone();
        self.disk = Some(Arc::new(disk));
        self.mounted = mounted;
        self.dev = dev;
        self.released = None;
        self.busy = false;
        self.open_error = None;
        self.generation += 1;
        let detail = format!("disk {id} in service");
        let report = slots::report(
            index,
            &self.path,
            SlotState::InService,
            Some(id),
            mounted,
            detail,
        );
        self.report = report;
    }
}

/// A slot with nothing in it yet.
fn empty_slot(path: &Path, report: SlotReport) -> Slot {
    Slot {
        path: path.to_path_buf(),
        disk: None,
        mounted: false,
        dev: None,
        released: None,
        report,
        busy: false,
        generation: 0,
        open_error: None,
    }
}

/// A slot whose disk was refused at start-up: its `Offline` placeholder and why.
pub(super) fn refused_slot(index: usize, path: &Path, report: SlotReport) -> Slot {
    Slot {
        disk: Some(Arc::new(Disk::offline(path, index))),
        ..empty_slot(path, report)
    }
}

/// Opens slot `index` at start-up. Blocking.
pub(super) fn open_slot(index: usize, path: &Path, settings: &StoreSettings) -> Slot {
    let no_removed = BTreeSet::new();
    let ctx = settings.context(&no_removed, None);
    let shown = path.display();
    if settings.require_mounted_disks {
        let found = inspect(index, path, &ctx);
        if found.report.state == SlotState::NoDisk && found.ours.is_none() {
            let detail = &found.report.detail;
            tracing::error!(path = %shown, %detail, "disk slot refused; reporting it offline");
            return refused_slot(index, path, found.report);
        }
    }
    match Disk::open(path, &settings.cluster_id, settings.chunkserver) {
        Ok(disk) => {
            tracing::info!(path = %shown, disk = %disk.id, "disk in service");
            let mount = mount_of(path).ok();
            let disk = disk.with_fault_injection(settings.fault_injection);
            let (mounted, dev) = (mount.is_some_and(|m| m.mounted), mount.map(|m| m.dev));
            let report = slots::report(index, path, SlotState::NoDisk, None, false, String::new());
            let mut slot = empty_slot(path, report);
            slot.install(index, disk, mounted, dev);
            slot
        }
        Err(e) => {
            tracing::error!(path = %shown, error = %e, "disk refused; reporting it offline");
            refused_slot(index, path, refused_report(index, path, &ctx, &e))
        }
    }
}

/// What a slot whose disk could not be opened holds.
fn refused_report(
    index: usize,
    path: &Path,
    ctx: &SlotContext<'_>,
    e: &DiskOpenError,
) -> SlotReport {
    let mut found = inspect(index, path, ctx);
    if let Some(id) = found.ours {
        found.report.detail = format!("disk {id} of this chunkserver cannot be opened: {e}");
    }
    found.report
}

/// Clears a slot's `busy` flag however a format or open ends.
struct Claim<'a> {
    store: &'a Store,
    index: usize,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.store.write().get_mut(self.index) {
            slot.busy = false;
        }
    }
}

impl Store {
    /// The open disks in slot order, with the placeholders of disks refused at start-up.
    pub fn disks(&self) -> Vec<Arc<Disk>> {
        self.read().iter().filter_map(|s| s.disk.clone()).collect()
    }

    /// What every slot holds, for heartbeats.
    pub fn slot_reports(&self) -> Vec<SlotReport> {
        self.read()
            .iter()
            .map(|s| match s.open_disk() {
                Some(d) => SlotReport {
                    detail: format!("disk {} in service, {}", d.id, d.state().as_str()),
                    ..s.report.clone()
                },
                None => s.report.clone(),
            })
            .collect()
    }

    /// Every disk released by this process; none is ever taken back.
    pub fn retired(&self) -> BTreeSet<DiskId> {
        self.retired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn removed_set(&self, removed: &[DiskId]) -> BTreeSet<DiskId> {
        let mut all = self.retired();
        all.extend(removed.iter().cloned());
        all
    }

    /// Releases the open disks named in `removed` (removed from service by the operator):
    /// they leave their slots, so no new I/O starts on them. Returns the ids released now.
    pub fn release(&self, removed: &[DiskId]) -> Vec<DiskId> {
        let mut gone = Vec::new();
        {
            let mut table = self.write();
            for (index, slot) in table.iter_mut().enumerate() {
                let Some(disk) = slot.open_disk().filter(|d| removed.contains(&d.id)) else {
                    continue;
                };
                let disk = disk.clone();
                disk.release();
                let id = disk.id.clone();
                let detail = slots::released_detail(&id);
                slot.report = slots::report(
                    index,
                    &slot.path,
                    SlotState::Released,
                    Some(id.clone()),
                    slot.mounted,
                    detail,
                );
                slot.released = Some(Released {
                    disk: id,
                    dev: slot.dev,
                });
                slot.disk = None;
                slot.generation += 1;
                gone.push(disk);
            }
        }
        let ids: Vec<DiskId> = gone.iter().map(|d| d.id.clone()).collect();
        self.retired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids.iter().cloned());
        for disk in gone {
            tracing::warn!(
                disk = %disk.id,
                path = %disk.path.display(),
                "disk removed from service: released, no new I/O; unmount and pull it once in-flight operations end"
            );
        }
        ids
    }

    /// Inspects every slot without an open disk (see [`crate::slots`]) and records what it
    /// holds. With `may_open` (the leader's removed list is known), a disk of this
    /// chunkserver that was never removed is taken into service. Blocking.
    pub fn inspect_slots(&self, removed: &[DiskId], may_open: bool) {
        let removed = self.removed_set(removed);
        let todo: Vec<(usize, PathBuf, Option<Released>, u64)> = self
            .read()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.open_disk().is_none() && !s.busy)
            .map(|(i, s)| (i, s.path.clone(), s.released.clone(), s.generation))
            .collect();
        for (index, path, released, generation) in todo {
            let ctx = self.settings.context(&removed, released.as_ref());
            let found = inspect(index, &path, &ctx);
            if let (Some(id), true) = (&found.ours, may_open) {
                self.open_found(index, &path, id, generation, &ctx);
                continue;
            }
            let mut table = self.write();
            let Some(slot) = table.get_mut(index).filter(|s| s.generation == generation) else {
                continue;
            };
            if found.report.state != SlotState::Released {
                slot.released = None;
            }
            let before = std::mem::replace(&mut slot.report, found.report);
            let after = &slot.report;
            if (before.state, &before.disk) != (after.state, &after.disk) {
                let (state, detail) = (after.state.as_str(), after.detail.clone());
                drop(table);
                tracing::info!(slot = index, path = %path.display(), state, %detail, "disk slot changed");
            }
        }
    }

    /// Takes the disk of ours found in slot `index` into service, unless the slot changed.
    fn open_found(
        &self,
        index: usize,
        path: &Path,
        id: &DiskId,
        generation: u64,
        ctx: &SlotContext<'_>,
    ) {
        {
            let mut table = self.write();
            match table.get_mut(index) {
                Some(s) if s.generation == generation && !s.busy => s.busy = true,
                _ => return,
            }
        }
        let _claim = Claim { store: self, index };
        let s = &self.settings;
        let opened = Disk::open_existing(path, &s.cluster_id, s.chunkserver);
        let mount = mount_of(path).ok();
        let refused = opened
            .as_ref()
            .err()
            .map(|e| refused_report(index, path, ctx, e));
        let mut table = self.write();
        let Some(slot) = table.get_mut(index) else {
            return;
        };
        match opened {
            Ok(disk) => {
                let disk = disk.with_fault_injection(s.fault_injection);
                slot.install(
                    index,
                    disk,
                    mount.is_some_and(|m| m.mounted),
                    mount.map(|m| m.dev),
                );
                drop(table);
                tracing::info!(path = %path.display(), disk = %id, "disk found in its slot taken into service");
            }
            Err(e) => {
                let message = e.to_string();
                if let Some(report) = refused {
                    slot.report = report;
                }
                slot.generation += 1;
                if slot.open_error.as_deref() != Some(&message) {
                    slot.open_error = Some(message);
                    drop(table);
                    tracing::warn!(path = %path.display(), disk = %id, error = %e, "cannot open a disk of this chunkserver");
                }
            }
        }
    }

    /// `FormatDisk`: formats the blank disk in the slot at `path` with a new identity and
    /// takes it into service. Refused unless the slot has no open disk and holds a blank
    /// disk now; `removed` adds to the disks known to be removed.
    pub async fn format_slot(
        self: &Arc<Self>,
        path: &str,
        removed: &[DiskId],
    ) -> Result<FormatDiskResponse, StoreError> {
        let wanted = Path::new(path);
        let index = {
            let mut table = self.write();
            let index = table
                .iter()
                .position(|s| s.path == wanted)
                .ok_or_else(|| StoreError::InvalidArgument(format!("no disk slot at {path}")))?;
            let slot = &mut table[index];
            if let Some(d) = slot.open_disk() {
                return Err(StoreError::InvalidArgument(format!(
                    "slot {path} holds disk {}, in service: nothing to format",
                    d.id
                )));
            }
            if slot.busy {
                return Err(StoreError::Unavailable(format!(
                    "a format of slot {path} is already running"
                )));
            }
            slot.busy = true;
            index
        };
        let removed = self.removed_set(removed);
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.format_claimed(index, &removed))
            .await
            .map_err(|e| StoreError::Internal(format!("format task failed: {e}")))?
    }

    /// Formats slot `index`, which the caller marked busy. Blocking.
    fn format_claimed(
        &self,
        index: usize,
        removed: &BTreeSet<DiskId>,
    ) -> Result<FormatDiskResponse, StoreError> {
        let _claim = Claim { store: self, index };
        let (path, released) = {
            let table = self.read();
            let slot = table
                .get(index)
                .ok_or_else(|| StoreError::Internal(format!("no slot {index}")))?;
            (slot.path.clone(), slot.released.clone())
        };
        let ctx = self.settings.context(removed, released.as_ref());
        let found = inspect(index, &path, &ctx);
        if found.report.state != SlotState::Blank {
            let detail = found.report.detail.clone();
            let mut table = self.write();
            if let Some(slot) = table.get_mut(index) {
                slot.report = found.report;
                slot.generation += 1;
            }
            return Err(StoreError::InvalidArgument(format!(
                "slot {} is not blank: {detail}",
                path.display()
            )));
        }
        let s = &self.settings;
        let disk = Disk::format(&path, &s.cluster_id, s.chunkserver).map_err(|e| match e {
            DiskOpenError::NotEmpty => StoreError::InvalidArgument(format!(
                "slot {} is not blank any more: refused, never formatted over",
                path.display()
            )),
            e => StoreError::Internal(format!("cannot format {}: {e}", path.display())),
        })?;
        let disk = disk.with_fault_injection(s.fault_injection);
        let report = disk.report();
        let id = disk.id.clone();
        let mount = mount_of(&path).ok();
        let slot_report = {
            let mut table = self.write();
            let slot = table
                .get_mut(index)
                .ok_or_else(|| StoreError::Internal(format!("no slot {index}")))?;
            slot.install(
                index,
                disk,
                mount.is_some_and(|m| m.mounted),
                mount.map(|m| m.dev),
            );
            slot.report.clone()
        };
        tracing::info!(path = %path.display(), disk = %id, mounted = slot_report.mounted, "new disk formatted and in service");
        Ok(FormatDiskResponse { disk: id, report })
    }
}

#[cfg(test)]
mod tests;
