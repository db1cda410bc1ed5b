//! Chunk operations on this chunkserver's disks, on tokio's blocking pool.
//!
//! - Writes: the body is received into a pooled aligned buffer and hashed block by block as
//!   it arrives (`store/receive.rs`, `store/pool.rs`); then (`store/write.rs`) its digest is
//!   checked against the claimed one, and the header and data are written from that buffer
//!   to `tmp/<id>.<random>` (with `O_DIRECT` where the filesystem takes it:
//!   `store/direct.rs`), fsynced, renamed into `chunks/xx/`, the directory fsynced, then the
//!   request answered.
//!   A failed or offline disk refuses writes (`DiskUnavailable`) so the gateway retries
//!   elsewhere.
//! - Reads (`store/read.rs`): verify the header and every block returned. A corrupt replica is
//!   quarantined and reported, a missing one reported, an I/O error counted against the disk
//!   and reported; the request still gets its error. Reads are served from a failed disk
//!   too (verified bytes from a read-only disk may be the last copy).
//! - Every chunk read and write records its latency and bytes in the disk's monitor.
//! - The disks live in slots (`store/table.rs`), one per configured path: a disk removed
//!   from service is released from its slot (its I/O is then refused, `DiskUnavailable`),
//!   and a blank disk put in its place is formatted on the meta leader's request.

mod direct;
mod pool;
mod read;
mod receive;
mod table;
mod write;

pub use pool::{IDLE_LIMIT, IN_USE_LIMIT};
pub use receive::{Incoming, Received, MAX_CHUNK_BYTES};

use crate::disk::Disk;
use crate::error::StoreError;
use crate::fsutil::{is_full, is_io_failure};
use crate::report::Reporter;
use crate::slots::{Released, SlotContext};
use crate::verify::{check_replica, verify_replica, Outcome, Verdict};
use bytes::Bytes;
use pool::BufferPool;
use std::collections::BTreeSet;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use table::Slot;
use trireme_api::chunk::{PutChunkResponse, VerifyChunkResponse};
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};
use trireme_api::meta::{DiskReport, DiskState};

/// What the store needs to know to open, judge and format disks.
#[derive(Clone, Debug)]
pub struct StoreSettings {
    pub cluster_id: String,
    pub chunkserver: ChunkserverId,
    /// Take a blank slot into service only when a filesystem is mounted on it.
    pub require_mounted_disks: bool,
    /// Test-only fault injection (see [`crate::fault`]).
    pub fault_injection: bool,
}

impl StoreSettings {
    /// The context a slot is judged in.
    pub fn context<'a>(
        &'a self,
        removed: &'a BTreeSet<DiskId>,
        released: Option<&'a Released>,
    ) -> SlotContext<'a> {
        SlotContext {
            cluster_id: &self.cluster_id,
            chunkserver: self.chunkserver,
            require_mounted: self.require_mounted_disks,
            removed,
            released,
        }
    }
}

/// The disk slots of one chunkserver (see `store/table.rs`).
#[derive(Debug)]
pub struct Store {
    slots: RwLock<Vec<Slot>>,
    /// Every disk released by this process.
    retired: Mutex<BTreeSet<DiskId>>,
    settings: StoreSettings,
    reporter: Arc<Reporter>,
    /// The buffers chunk bodies are received into and written from.
    buffers: Arc<BufferPool>,
}

/// What an operation needs from a disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Reads, verification, deletes: anything but offline.
    Read,
    /// New data: healthy or suspect only.
    Write,
}

impl Store {
    /// Opens every slot in parallel; a disk that cannot be taken into service is logged and
    /// kept as `Offline`. Bad replicas found later are reported through `reporter`.
    pub async fn open(
        settings: StoreSettings,
        paths: &[PathBuf],
        reporter: Arc<Reporter>,
    ) -> Store {
        let opens = paths.iter().enumerate().map(|(index, path)| {
            let (path, settings) = (path.clone(), settings.clone());
            async move {
                let fallback = path.clone();
                let open = move || table::open_slot(index, &path, &settings);
                match tokio::task::spawn_blocking(open).await {
                    Ok(slot) => slot,
                    Err(e) => {
                        let path = fallback.display();
                        tracing::error!(%path, error = %e, "opening disk panicked");
                        let detail = format!("opening the disk panicked: {e}");
                        let report = crate::slots::report(
                            index,
                            &fallback,
                            trireme_api::swap::SlotState::NoDisk,
                            None,
                            false,
                            detail,
                        );
                        table::refused_slot(index, &fallback, report)
                    }
                }
            }
        });
        let slots = futures::future::join_all(opens).await;
        Store {
            slots: RwLock::new(slots),
            retired: Mutex::new(BTreeSet::new()),
            settings,
            reporter,
            buffers: BufferPool::new(IN_USE_LIMIT, IDLE_LIMIT),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<Slot>> {
        self.slots.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Vec<Slot>> {
        self.slots.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn reporter(&self) -> &Arc<Reporter> {
        &self.reporter
    }

    /// Heartbeat reports of every disk.
    pub async fn reports(&self) -> Vec<DiskReport> {
        Self::reports_of(self.disks()).await
    }

    /// The reports of `disks`, in order.
    pub async fn reports_of(disks: Vec<Arc<Disk>>) -> Vec<DiskReport> {
        tokio::task::spawn_blocking(move || disks.iter().map(|d| d.report()).collect())
            .await
            .unwrap_or_default()
    }

    /// Room to receive the body of a chunk put of `length` bytes (at most
    /// [`MAX_CHUNK_BYTES`], else `InvalidArgument`): push the bytes into it as they arrive
    /// (the HTTP handler, a repair pull), then [`Store::put_received`]. Waits while the
    /// chunk buffers lent out are at their limit (see `store/pool.rs`).
    pub async fn incoming(&self, length: u64) -> Result<Incoming, StoreError> {
        Incoming::new(&self.buffers, length).await
    }

    /// Stores a received chunk whose whole BLAKE3 must equal `expected_hex`.
    pub async fn put_received(
        &self,
        disk: &DiskId,
        chunk: &ChunkId,
        expected_hex: &str,
        received: Received,
    ) -> Result<PutChunkResponse, StoreError> {
        let expected = parse_digest(expected_hex)?;
        let (disk, id) = self.locate(disk, chunk, Access::Write)?;
        let chunk = chunk.clone();
        let length = received.data_len();
        blocking(move || write::put_blocking(&disk, &chunk, id, expected, received)).await?;
        Ok(PutChunkResponse {
            length,
            blake3: hex::encode(expected),
        })
    }

    /// Reads `[offset, offset+length)` (defaults: from 0, to the end), verified. With
    /// `expected_hex`, a chunk whose recorded digest differs is `Corrupt`.
    pub async fn get(
        &self,
        disk: &DiskId,
        chunk: &ChunkId,
        offset: Option<u64>,
        length: Option<u64>,
        expected_hex: Option<&str>,
    ) -> Result<Bytes, StoreError> {
        let expected = expected_hex.map(parse_digest).transpose()?;
        let (disk, id) = self.locate(disk, chunk, Access::Read)?;
        let (chunk, reporter) = (chunk.clone(), self.reporter.clone());
        let range = read::Range { offset, length };
        blocking(move || read::get_blocking(&disk, &reporter, &chunk, id, range, expected)).await
    }

    /// Removes a chunk replica; a missing one is not an error.
    pub async fn delete(&self, disk: &DiskId, chunk: &ChunkId) -> Result<(), StoreError> {
        let (disk, _) = self.locate(disk, chunk, Access::Read)?;
        let chunk = chunk.clone();
        blocking(move || write::delete_blocking(&disk, &chunk)).await
    }

    /// Verifies a replica completely now; a bad one is quarantined and reported.
    pub async fn verify(
        &self,
        disk: &DiskId,
        chunk: &ChunkId,
        expected_hex: Option<&str>,
    ) -> Result<VerifyChunkResponse, StoreError> {
        let expected = expected_hex.map(parse_digest).transpose()?;
        let (disk, id) = self.locate(disk, chunk, Access::Read)?;
        let (chunk, reporter) = (chunk.clone(), self.reporter.clone());
        let checked =
            blocking(move || Ok(check_replica(&disk, &reporter, &chunk, id, expected, true)))
                .await?;
        Ok(VerifyChunkResponse {
            ok: checked.outcome == Outcome::Good,
            reason: checked.reason,
            quarantined: checked.quarantined,
        })
    }

    /// Whether `disk` already holds an intact replica of `chunk` with digest `expected`.
    /// Errors if the disk cannot take a write.
    pub async fn holds(
        &self,
        disk: &DiskId,
        chunk: &ChunkId,
        expected: [u8; 32],
    ) -> Result<bool, StoreError> {
        let (disk, id) = self.locate(disk, chunk, Access::Write)?;
        let chunk = chunk.clone();
        blocking(move || {
            Ok(matches!(
                verify_replica(&disk, &chunk, id, Some(expected)),
                Verdict::Good { .. }
            ))
        })
        .await
    }

    /// The disk `disk` if it can take a write of `bytes` more bytes (free space included).
    pub async fn writable(&self, disk: &DiskId, bytes: u64) -> Result<Arc<Disk>, StoreError> {
        let disk = self.find(disk, Access::Write)?;
        let probe = disk.clone();
        let free = blocking(move || {
            crate::fsutil::statvfs(&probe.path)
                .map(|(_, free)| free)
                .map_err(|e| io_fail(&probe, "statvfs", e))
        })
        .await?;
        if free < bytes {
            return Err(StoreError::DiskUnavailable(format!(
                "disk {} is full: {free} bytes free, {bytes} needed",
                disk.id
            )));
        }
        Ok(disk)
    }

    /// Validates the ids and finds a disk that allows `access`.
    fn locate(
        &self,
        disk: &DiskId,
        chunk: &ChunkId,
        access: Access,
    ) -> Result<(Arc<Disk>, u128), StoreError> {
        let found = self.find(disk, access)?;
        let id = chunk
            .is_valid()
            .then(|| u128::from_str_radix(&chunk.0, 16).ok())
            .flatten()
            .ok_or_else(|| {
                StoreError::InvalidArgument(format!("invalid chunk id {:?}", chunk.0))
            })?;
        Ok((found, id))
    }

    /// Finds a disk that allows `access`.
    fn find(&self, disk: &DiskId, access: Access) -> Result<Arc<Disk>, StoreError> {
        if !disk.is_valid() {
            return Err(StoreError::InvalidArgument(format!(
                "invalid disk id {:?}",
                disk.0
            )));
        }
        let found = self.disks().into_iter().find(|d| d.id == *disk);
        let found = match found {
            Some(found) => found,
            None if self.retired().contains(disk) => {
                return Err(StoreError::DiskUnavailable(format!(
                    "disk {disk} was removed from service and released by this chunkserver"
                )))
            }
            None => {
                return Err(StoreError::NotFound(format!(
                    "no disk {disk} on this chunkserver"
                )))
            }
        };
        let state = found.state();
        let refused = match access {
            Access::Read => state == DiskState::Offline,
            Access::Write => !found.is_online(),
        };
        if refused {
            let why = found.monitor().tracker().reason.unwrap_or_default();
            return Err(StoreError::DiskUnavailable(format!(
                "disk {disk} is {} {why}",
                state.as_str()
            )));
        }
        Ok(found)
    }
}

/// Parses a 64-digit hex BLAKE3 digest.
pub fn parse_digest(text: &str) -> Result<[u8; 32], StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| StoreError::InvalidArgument(format!("invalid BLAKE3 digest {text:?}")))?;
    Ok(out)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Internal(format!("disk task failed: {e}")))?
}

/// Maps an I/O error of a chunk operation: a failing or read-only disk counts against the
/// disk's health (and asks for a probe now); a full disk does not; both are
/// `DiskUnavailable` so the caller goes elsewhere.
fn io_fail(disk: &Disk, what: &str, e: io::Error) -> StoreError {
    let message = format!("disk {} ({}): {what}: {e}", disk.id, disk.path.display());
    if is_io_failure(&e) {
        disk.monitor().io_error(&message);
        tracing::warn!(disk = %disk.id, error = %e, what, "disk I/O error");
        StoreError::DiskUnavailable(message)
    } else if is_full(&e) {
        StoreError::DiskUnavailable(message)
    } else {
        StoreError::Internal(message)
    }
}
