//! What a disk slot (a configured disk path) holds now, in the words of
//! [`trireme_api::swap::SlotReport`]. Blocking and cheap: a few `stat`s, one directory
//! listing and the identity file; the health worker runs it on every slot without an open
//! disk at each tick, and `FormatDisk` runs it before formatting.
//!
//! - `NoDisk`: the path is missing, unreadable or not a directory, or (with
//!   `require_mounted_disks`) no filesystem of its own is mounted on it: its `st_dev` equals
//!   its parent's.
//! - `Blank`: nothing but `lost+found` (and perhaps a stale identity tmp file): ready to
//!   format.
//! - `Foreign`: the identity of another cluster or another chunkserver.
//! - `Released`: the very disk this process released from this slot, still there unchanged
//!   (same identity, same device); pull it.
//! - `Retired`: the identity of a removed disk anywhere else: the released disk once it has
//!   left the slot or been remounted, or one seen after a restart. A removed disk never
//!   rejoins.
//! - `NotEmpty`: files but no identity, or an unreadable one: never formatted over.
//! - A disk of this chunkserver that was never removed is [`Inspection::ours`]: the slot
//!   table takes it into service (a disk mounted after start-up).

use crate::disk::{DiskOpenError, IDENTITY_FILE};
use crate::format::{is_blank, read_identity};
use std::collections::BTreeSet;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use trireme_api::ids::{ChunkserverId, DiskId};
use trireme_api::swap::{SlotReport, SlotState};

/// The disk this process released from a slot, and the device the slot's path was on then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released {
    pub disk: DiskId,
    pub dev: Option<u64>,
}

/// What an inspection judges by.
#[derive(Clone, Copy, Debug)]
pub struct SlotContext<'a> {
    pub cluster_id: &'a str,
    pub chunkserver: ChunkserverId,
    pub require_mounted: bool,
    /// Disks removed from service: the leader's list and every disk released here.
    pub removed: &'a BTreeSet<DiskId>,
    /// The disk this process released from the slot, if any.
    pub released: Option<&'a Released>,
}

/// Where a slot's path lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mount {
    /// A filesystem of its own is mounted on the path.
    pub mounted: bool,
    /// The path's `st_dev`.
    pub dev: u64,
}

/// The `st_dev` of `path` and whether it differs from its parent's (a mount point). The
/// root directory counts as mounted.
pub fn mount_of(path: &Path) -> io::Result<Mount> {
    let here = std::fs::metadata(path)?;
    let parent = std::fs::metadata(path.join(".."))?;
    let is_root = here.dev() == parent.dev() && here.ino() == parent.ino();
    Ok(Mount {
        mounted: here.dev() != parent.dev() || is_root,
        dev: here.dev(),
    })
}

/// The result of [`inspect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub report: SlotReport,
    /// The path's device, when it could be read.
    pub dev: Option<u64>,
    /// A disk of this chunkserver that was never removed: it may be taken into service.
    pub ours: Option<DiskId>,
}

/// A slot report.
pub fn report(
    index: usize,
    path: &Path,
    state: SlotState,
    disk: Option<DiskId>,
    mounted: bool,
    detail: String,
) -> SlotReport {
    SlotReport {
        index: index as u32,
        path: path.display().to_string(),
        state,
        disk,
        mounted,
        detail,
    }
}

/// The words for a disk this process released.
pub fn released_detail(disk: &DiskId) -> String {
    format!(
        "disk {disk} was removed from service and released: no I/O on it any more; \
         unmount and pull it, then put a blank disk in this slot"
    )
}

/// The words for a removed disk put back.
pub fn retired_detail(disk: &DiskId) -> String {
    format!(
        "this is disk {disk}, which was removed from service: a removed disk never rejoins; \
         erase it (wipefs -a, mkfs) to reuse it as a blank disk"
    )
}

/// What slot `index` at `path` holds now. Blocking.
pub fn inspect(index: usize, path: &Path, ctx: &SlotContext<'_>) -> Inspection {
    let shown = path.display();
    let no_disk = |mounted, dev, detail: String| Inspection {
        report: report(index, path, SlotState::NoDisk, None, mounted, detail),
        dev,
        ours: None,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return no_disk(
                false,
                None,
                format!("nothing at {shown}: the path is missing"),
            )
        }
        Err(e) => return no_disk(false, None, format!("cannot read {shown}: {e}")),
    };
    if !meta.is_dir() {
        return no_disk(false, None, format!("{shown} is not a directory"));
    }
    let (mounted, dev) = match mount_of(path) {
        Ok(m) => (m.mounted, Some(m.dev)),
        Err(e) => return no_disk(false, None, format!("cannot read {shown}: {e}")),
    };
    if ctx.require_mounted && !mounted {
        let detail = format!("no filesystem mounted on {shown} (require_mounted_disks)");
        return no_disk(false, dev, detail);
    }
    let judged = |state, disk: Option<DiskId>, detail: String| Inspection {
        report: report(index, path, state, disk, mounted, detail),
        dev,
        ours: None,
    };
    let identity = match read_identity(path) {
        Ok(Some(identity)) => identity,
        Ok(None) => {
            return match is_blank(path) {
                Ok(true) => judged(SlotState::Blank, None, "blank disk, ready to format".into()),
                Ok(false) => judged(
                    SlotState::NotEmpty,
                    None,
                    format!("holds files but no {IDENTITY_FILE}: refused, never formatted over"),
                ),
                Err(e) => no_disk(mounted, dev, format!("cannot list {shown}: {e}")),
            }
        }
        Err(e) => {
            let why = match e {
                DiskOpenError::BadIdentity(why) => why,
                other => other.to_string(),
            };
            return judged(
                SlotState::NotEmpty,
                None,
                format!(
                    "holds an unreadable {IDENTITY_FILE} ({why}): refused, never formatted over"
                ),
            );
        }
    };
    let id = identity.disk_id.clone();
    if identity.cluster_id != ctx.cluster_id {
        let detail = format!(
            "disk of cluster {}, not this one ({}): refused",
            identity.cluster_id, ctx.cluster_id
        );
        return judged(SlotState::Foreign, Some(id), detail);
    }
    if identity.chunkserver_id != ctx.chunkserver {
        let detail = format!(
            "disk of chunkserver {}, this is chunkserver {}: refused",
            identity.chunkserver_id, ctx.chunkserver
        );
        return judged(SlotState::Foreign, Some(id), detail);
    }
    let still_released = ctx
        .released
        .is_some_and(|r| r.disk == id && (r.dev.is_none() || r.dev == dev));
    if still_released {
        return judged(SlotState::Released, Some(id.clone()), released_detail(&id));
    }
    if ctx.removed.contains(&id) {
        return judged(SlotState::Retired, Some(id.clone()), retired_detail(&id));
    }
    Inspection {
        report: report(
            index,
            path,
            SlotState::NoDisk,
            Some(id.clone()),
            mounted,
            format!("disk {id} of this chunkserver, not open"),
        ),
        dev,
        ours: Some(id),
    }
}

#[cfg(test)]
mod tests;
