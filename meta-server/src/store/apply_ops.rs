//! Applying disk operations: the operator's intent for a disk (drain, undrain) and its
//! removal, which drops every replica the location index places on it, behind the gate: no
//! chunk may lose its last healthy replica, and without `force` none may drop below its
//! wanted count. The gate is checked here, on the state the command applies to, so a removal
//! racing a failure elsewhere cannot slip through.

use super::apply::refused;
use super::chunks::{put_entry, ChunkEntry};
use super::keys::*;
use super::read::Reader;
use super::records::StoredChunkserver;
use super::{cf, StoreError};
use crate::durability::view::HealthView;
use crate::types::{ChunkserverRecord, CommandResult};
use rocksdb::WriteBatch;
use trireme_api::ids::{ChunkserverId, DiskId};
use trireme_api::meta::DiskState;
use trireme_api::object::Replica;
use trireme_api::ops::DiskAdminState;
use trireme_api::ErrorCode;

fn find(
    r: &Reader,
    chunkserver: ChunkserverId,
    disk: &DiskId,
) -> Result<Result<ChunkserverRecord, CommandResult>, StoreError> {
    let Some(record) = r
        .list_chunkservers()?
        .into_iter()
        .find(|c| c.id == chunkserver)
    else {
        return Ok(Err(refused(
            ErrorCode::NotFound,
            format!("no chunkserver {chunkserver}"),
        )));
    };
    if !record.disks.iter().any(|d| &d.disk_id == disk) {
        return Ok(Err(refused(
            ErrorCode::NotFound,
            format!("chunkserver {chunkserver} has no disk {disk}"),
        )));
    }
    Ok(Ok(record))
}

pub(super) fn save(
    r: &Reader,
    batch: &mut WriteBatch,
    record: &ChunkserverRecord,
) -> Result<(), StoreError> {
    batch.put_cf(
        cf(r.db(), CF_CHUNKSERVERS)?,
        chunkserver_key(record.id),
        serde_json::to_vec(&StoredChunkserver::V1(record.clone()))?,
    );
    Ok(())
}

pub fn set_disk_admin(
    r: &Reader,
    batch: &mut WriteBatch,
    chunkserver: ChunkserverId,
    disk: &DiskId,
    admin: DiskAdminState,
    at_ms: u64,
) -> Result<CommandResult, StoreError> {
    let mut record = match find(r, chunkserver, disk)? {
        Ok(rec) => rec,
        Err(refusal) => return Ok(refusal),
    };
    for d in record.disks.iter_mut().filter(|d| &d.disk_id == disk) {
        if d.admin == DiskAdminState::Removed {
            return Ok(refused(
                ErrorCode::InvalidArgument,
                format!("disk {disk} was removed from service; it cannot be drained or resumed"),
            ));
        }
        if d.admin != admin {
            d.admin = admin;
            d.admin_since_ms = Some(at_ms);
        }
        // Draining is also the disk's effective state at once (no new placements), until the
        // next heartbeat restates it.
        d.state = match (admin, d.state) {
            (DiskAdminState::Draining, s) if s.holds_healthy_replicas() => DiskState::Draining,
            (DiskAdminState::InService, DiskState::Draining) => DiskState::Healthy,
            (_, s) => s,
        };
    }
    save(r, batch, &record)?;
    Ok(CommandResult::Done)
}

/// For each chunk on the disk: how many healthy replicas it keeps elsewhere, and its want.
pub fn remaining_elsewhere(
    r: &Reader,
    view: &HealthView,
    chunkserver: ChunkserverId,
    disk: &DiskId,
    mut f: impl FnMut(&trireme_api::ids::ChunkId, &ChunkEntry, usize),
) -> Result<(), StoreError> {
    let here = Replica {
        chunkserver,
        disk: disk.clone(),
    };
    for id in r.chunks_on_disk(chunkserver, disk)? {
        let Some(e) = r.get_chunk(&id)? else {
            continue;
        };
        let elsewhere = e
            .replicas
            .iter()
            .filter(|x| **x != here && view.is_healthy(x) && !view.is_draining(x))
            .count();
        f(&id, &e, elsewhere);
    }
    Ok(())
}

pub fn remove_disk(
    r: &Reader,
    batch: &mut WriteBatch,
    chunkserver: ChunkserverId,
    disk: &DiskId,
    force: bool,
    at_ms: u64,
) -> Result<CommandResult, StoreError> {
    let mut record = match find(r, chunkserver, disk)? {
        Ok(rec) => rec,
        Err(refusal) => return Ok(refusal),
    };
    let view = HealthView::new(&r.list_chunkservers()?);
    let (mut last, mut short) = (0u64, 0u64);
    let mut entries = Vec::new();
    remaining_elsewhere(r, &view, chunkserver, disk, |id, e, elsewhere| {
        if elsewhere == 0 {
            last += 1;
        } else if elsewhere < e.want as usize {
            short += 1;
        }
        entries.push((id.clone(), e.clone()));
    })?;
    if last > 0 {
        return Ok(refused(
            ErrorCode::PreconditionFailed,
            format!(
                "{last} chunks have no healthy replica on any other disk: removing disk {disk} \
                 would lose them (even with --force)"
            ),
        ));
    }
    if short > 0 && !force {
        return Ok(refused(
            ErrorCode::PreconditionFailed,
            format!(
                "{short} chunks would drop below their wanted replicas: drain disk {disk} first, \
                 or use --force for a disk that is already dead"
            ),
        ));
    }
    let here = Replica {
        chunkserver,
        disk: disk.clone(),
    };
    for (id, old) in entries {
        let new = ChunkEntry {
            replicas: old
                .replicas
                .iter()
                .filter(|x| **x != here)
                .cloned()
                .collect(),
            ..old.clone()
        };
        put_entry(r, batch, &id, Some(&old), Some(&new))?;
    }
    for d in record.disks.iter_mut().filter(|d| &d.disk_id == disk) {
        d.admin = DiskAdminState::Removed;
        d.admin_since_ms = Some(at_ms);
        d.state = DiskState::Offline;
    }
    save(r, batch, &record)?;
    Ok(CommandResult::Done)
}
