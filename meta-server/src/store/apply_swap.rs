//! Applying chunkserver records and the end of a disk swap.
//!
//! - `UpsertChunkserver` (heartbeats) carries what the chunkserver reports: address and disk
//!   health. The operator's intent for each disk (drain, removal, the swap link and refill)
//!   is not the chunkserver's to say, so it is taken from the stored record here, at apply
//!   time: a heartbeat built before a `SetDiskAdmin` committed cannot undo it. Removed disks
//!   stay on record even when no longer reported, so a reinserted one is recognised.
//! - `AdmitDisk`: a freshly formatted disk enters service, linked to the disk it replaces.
//! - `FinishFill`: its refill is over.

use super::apply::refused;
use super::apply_ops::save;
use super::read::Reader;
use super::StoreError;
use crate::types::{ChunkserverRecord, CommandResult, DiskRecord, FillRecord};
use rocksdb::WriteBatch;
use trireme_api::ids::{ChunkserverId, DiskId};
use trireme_api::meta::{ChunkserverState, DiskState};
use trireme_api::ops::DiskAdminState;
use trireme_api::ErrorCode;

fn stored(r: &Reader, id: ChunkserverId) -> Result<Option<ChunkserverRecord>, StoreError> {
    Ok(r.list_chunkservers()?.into_iter().find(|c| c.id == id))
}

/// The state a disk's replicas count as, given the operator's intent.
pub fn effective_state(admin: DiskAdminState, reported: DiskState) -> DiskState {
    match admin {
        DiskAdminState::Draining if reported.holds_healthy_replicas() => DiskState::Draining,
        DiskAdminState::Removed => DiskState::Offline,
        DiskAdminState::InService if reported == DiskState::Draining => DiskState::Healthy,
        _ => reported,
    }
}

/// Merges a reported record with the stored operator fields (see the module doc).
pub fn merge(stored: Option<&ChunkserverRecord>, mut new: ChunkserverRecord) -> ChunkserverRecord {
    let Some(old) = stored else {
        return new;
    };
    for d in new.disks.iter_mut() {
        if let Some(prev) = old.disks.iter().find(|x| x.disk_id == d.disk_id) {
            d.admin = prev.admin;
            d.admin_since_ms = prev.admin_since_ms;
            d.replaces = prev.replaces.clone();
            d.fill = prev.fill.clone();
            d.state = effective_state(d.admin, d.state);
        }
    }
    for prev in &old.disks {
        let kept = prev.admin == DiskAdminState::Removed || prev.fill.is_some();
        if kept && !new.disks.iter().any(|d| d.disk_id == prev.disk_id) {
            // A removed disk stays on record; an admitted one missing from this report (a
            // heartbeat built before it was formatted, or a disk lost since) holds no healthy
            // replicas until a report shows it.
            let mut prev = prev.clone();
            prev.state = DiskState::Offline;
            new.disks.push(prev);
        }
    }
    new
}

pub fn upsert_chunkserver(
    r: &Reader,
    batch: &mut WriteBatch,
    record: ChunkserverRecord,
) -> Result<CommandResult, StoreError> {
    let old = stored(r, record.id)?;
    let merged = merge(old.as_ref(), record);
    save(r, batch, &merged)?;
    Ok(CommandResult::Done)
}

pub fn admit_disk(
    r: &Reader,
    batch: &mut WriteBatch,
    chunkserver: ChunkserverId,
    disk: DiskId,
    path: String,
    replaces: Option<DiskId>,
    fill: Option<FillRecord>,
) -> Result<CommandResult, StoreError> {
    let Some(mut record) = stored(r, chunkserver)? else {
        return Ok(refused(
            ErrorCode::NotFound,
            format!("no chunkserver {chunkserver}"),
        ));
    };
    if record.state != ChunkserverState::Up {
        return Ok(refused(
            ErrorCode::Unavailable,
            format!("chunkserver {chunkserver} is dead"),
        ));
    }
    match record.disks.iter_mut().find(|d| d.disk_id == disk) {
        Some(d) if d.admin == DiskAdminState::Removed => {
            return Ok(refused(
                ErrorCode::InvalidArgument,
                format!("disk {disk} was removed from service; a removed disk never rejoins"),
            ));
        }
        // Registered by a heartbeat between the format and this command.
        Some(d) => {
            if d.replaces.is_none() {
                d.replaces = replaces;
            }
            if d.fill.is_none() {
                d.fill = fill;
            }
        }
        None => record.disks.push(DiskRecord {
            disk_id: disk,
            path,
            state: DiskState::Healthy,
            admin: DiskAdminState::InService,
            admin_since_ms: fill.as_ref().map(|f| f.started_ms),
            replaces,
            fill,
        }),
    }
    save(r, batch, &record)?;
    Ok(CommandResult::Done)
}

pub fn finish_fill(
    r: &Reader,
    batch: &mut WriteBatch,
    chunkserver: ChunkserverId,
    disk: &DiskId,
    at_ms: u64,
) -> Result<CommandResult, StoreError> {
    let Some(mut record) = stored(r, chunkserver)? else {
        return Ok(CommandResult::Done);
    };
    let mut changed = false;
    for d in record.disks.iter_mut().filter(|d| &d.disk_id == disk) {
        if let Some(f) = d.fill.as_mut().filter(|f| f.finished_ms.is_none()) {
            f.finished_ms = Some(at_ms);
            changed = true;
        }
    }
    if changed {
        save(r, batch, &record)?;
    }
    Ok(CommandResult::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(id: &str, state: DiskState) -> DiskRecord {
        DiskRecord {
            disk_id: DiskId(id.into()),
            path: format!("/d/{id}"),
            state,
            admin: DiskAdminState::InService,
            admin_since_ms: None,
            replaces: None,
            fill: None,
        }
    }

    fn cs(disks: Vec<DiskRecord>) -> ChunkserverRecord {
        ChunkserverRecord {
            id: 1,
            addr: "a".into(),
            disks,
            state: ChunkserverState::Up,
        }
    }

    #[test]
    fn a_heartbeat_never_undoes_the_operator() {
        let mut draining = disk("a", DiskState::Draining);
        draining.admin = DiskAdminState::Draining;
        let mut removed = disk("b", DiskState::Offline);
        removed.admin = DiskAdminState::Removed;
        let mut filling = disk("c", DiskState::Healthy);
        filling.fill = Some(FillRecord {
            target_bytes: 10,
            started_ms: 1,
            finished_ms: None,
        });
        let old = cs(vec![draining, removed, filling.clone()]);
        // A heartbeat built before the drain, still reporting the removed disk as healthy,
        // and from before the new disk was formatted.
        let new = cs(vec![
            disk("a", DiskState::Healthy),
            disk("b", DiskState::Healthy),
        ]);
        let m = merge(Some(&old), new);
        assert_eq!(m.disks.len(), 3);
        assert_eq!(m.disks[0].admin, DiskAdminState::Draining);
        assert_eq!(m.disks[0].state, DiskState::Draining);
        assert_eq!(m.disks[1].admin, DiskAdminState::Removed);
        assert_eq!(m.disks[1].state, DiskState::Offline);
        assert_eq!(m.disks[2].fill, filling.fill);
        assert_eq!(m.disks[2].state, DiskState::Offline);
        // A failed draining disk is failed.
        let m = merge(Some(&old), cs(vec![disk("a", DiskState::Failed)]));
        assert_eq!(m.disks[0].state, DiskState::Failed);
    }
}
