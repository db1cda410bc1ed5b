//! The write side of the store: put (tmp, fsync, rename, fsync the directory) and delete.
//! Blocking.

use super::io_fail;
use super::receive::Received;
use crate::disk::Disk;
use crate::error::StoreError;
use crate::fsutil::fsync_dir;
use crate::quarantine::quarantine;
use crate::verify::{verify_replica, Verdict};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::time::Instant;
use trireme_api::ids::ChunkId;

/// Stores the received chunk as `chunk` unless an intact copy is already there. A corrupt
/// copy is quarantined first (never overwritten); one with other content is refused.
pub(super) fn put_blocking(
    disk: &Disk,
    chunk: &ChunkId,
    id: u128,
    expected: [u8; 32],
    mut received: Received,
) -> Result<(), StoreError> {
    if received.whole() != expected {
        return Err(StoreError::DigestMismatch {
            expected: hex::encode(expected),
            actual: hex::encode(received.whole()),
        });
    }
    match verify_replica(disk, chunk, id, None) {
        Verdict::Missing => {}
        Verdict::Good { whole, .. } if whole == expected => return Ok(()),
        Verdict::Good { whole, .. } => {
            return Err(StoreError::InvalidArgument(format!(
                "chunk {chunk} is already stored with digest {}",
                hex::encode(whole)
            )))
        }
        Verdict::Corrupt { reason, file } => {
            tracing::warn!(disk = %disk.id, %chunk, %reason, "replacing a corrupt replica");
            disk.monitor().corrupt_replica(&reason);
            quarantine(disk, chunk, Some(file))
                .map_err(|e| io_fail(disk, "quarantine corrupt replica", e))?;
        }
        Verdict::Io { what, error } => return Err(io_fail(disk, what, error)),
    }
    let header = received.seal(id)?;
    let start = Instant::now();
    disk.inject_delay();
    let path = disk.chunk_path(chunk);
    let dir = disk
        .ensure_chunk_dir(chunk)
        .map_err(|e| io_fail(disk, "create chunk directory", e))?;
    let tmp = disk.tmp_path(chunk);
    if let Err(e) = write_synced(&tmp, &mut received) {
        let _ = fs::remove_file(&tmp);
        return Err(io_fail(disk, "write chunk", e));
    }
    {
        let mut usage = disk.usage();
        let old = fs::symlink_metadata(&path).ok().map(|m| m.len());
        if let Err(e) = fs::rename(&tmp, &path) {
            drop(usage);
            let _ = fs::remove_file(&tmp);
            return Err(io_fail(disk, "rename chunk", e));
        }
        usage.used_bytes = usage.used_bytes.saturating_sub(old.unwrap_or(0)) + header.file_len();
        if old.is_none() {
            usage.chunk_count += 1;
        }
    }
    fsync_dir(&dir).map_err(|e| io_fail(disk, "fsync chunk directory", e))?;
    disk.monitor()
        .record_write(start.elapsed(), header.data_len);
    Ok(())
}

/// Writes the sealed chunk file at `tmp` from its buffer and fsyncs it: with direct I/O
/// where the filesystem takes it (see `direct.rs`), else through the page cache.
fn write_synced(tmp: &Path, received: &mut Received) -> io::Result<()> {
    let len = received.file_len() as u64;
    let f = match super::direct::write(tmp, received.padded_file(), len)? {
        super::direct::Direct::Written(f) => f,
        super::direct::Direct::Unsupported => {
            let mut f = File::create_new(tmp)?;
            f.write_all(received.file())?;
            f
        }
    };
    f.sync_all()
}

/// Removes a replica; a missing one is not an error.
pub(super) fn delete_blocking(disk: &Disk, chunk: &ChunkId) -> Result<(), StoreError> {
    let path = disk.chunk_path(chunk);
    {
        let mut usage = disk.usage();
        let len = match fs::symlink_metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_fail(disk, "stat chunk", e)),
        };
        match fs::remove_file(&path) {
            Ok(()) => {
                usage.used_bytes = usage.used_bytes.saturating_sub(len);
                usage.chunk_count = usage.chunk_count.saturating_sub(1);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_fail(disk, "remove chunk", e)),
        }
    }
    match path.parent() {
        Some(dir) => fsync_dir(dir).map_err(|e| io_fail(disk, "fsync chunk directory", e)),
        None => Ok(()),
    }
}
