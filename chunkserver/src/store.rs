//! Chunk operations on this chunkserver's disks, on tokio's blocking pool.
//!
//! - Writes (`store/write.rs`): verify the body against its claimed digest, write
//!   `tmp/<id>.<random>`, fsync, rename into `chunks/xx/`, fsync the directory, then answer.
//!   A failed or offline disk refuses writes (`DiskUnavailable`) so the gateway retries
//!   elsewhere.
//! - Reads (`store/read.rs`): verify the header and every block returned. A corrupt replica is
//!   quarantined and reported, a missing one reported, an I/O error counted against the disk
//!   and reported; the request still gets its error. Reads are served from a failed disk
//!   too (verified bytes from a read-only disk may be the last copy).
//! - Every chunk read and write records its latency and bytes in the disk's monitor.

mod read;
mod write;

use crate::disk::Disk;
use crate::error::StoreError;
use crate::fsutil::{is_full, is_io_failure};
use crate::report::Reporter;
use crate::verify::{check_replica, verify_replica, Outcome, Verdict};
use bytes::Bytes;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trireme_api::chunk::{PutChunkResponse, VerifyChunkResponse};
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};
use trireme_api::meta::{DiskReport, DiskState};

/// The disks of one chunkserver, refused ones included (as `Offline`).
#[derive(Debug)]
pub struct Store {
    disks: Vec<Arc<Disk>>,
    reporter: Arc<Reporter>,
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
    /// Opens every disk in parallel; a disk that cannot be taken into service is logged and
    /// kept as `Offline`. Bad replicas found later are reported through `reporter`.
    pub async fn open(
        cluster_id: &str,
        chunkserver: ChunkserverId,
        paths: &[PathBuf],
        reporter: Arc<Reporter>,
        fault_injection: bool,
    ) -> Store {
        let opens = paths.iter().enumerate().map(|(index, path)| {
            let (path, cluster_id) = (path.clone(), cluster_id.to_string());
            let fallback = path.clone();
            async move {
                let open = move || {
                    open_or_offline(&path, index, &cluster_id, chunkserver)
                        .with_fault_injection(fault_injection)
                };
                match tokio::task::spawn_blocking(open).await {
                    Ok(disk) => Arc::new(disk),
                    Err(e) => {
                        let path = fallback.display();
                        tracing::error!(%path, error = %e, "opening disk panicked");
                        Arc::new(Disk::offline(&fallback, index))
                    }
                }
            }
        });
        let disks = futures::future::join_all(opens).await;
        Store { disks, reporter }
    }

    pub fn disks(&self) -> &[Arc<Disk>] {
        &self.disks
    }

    pub fn reporter(&self) -> &Arc<Reporter> {
        &self.reporter
    }

    /// Heartbeat reports of every disk.
    pub async fn reports(&self) -> Vec<DiskReport> {
        let disks = self.disks.clone();
        tokio::task::spawn_blocking(move || disks.iter().map(|d| d.report()).collect())
            .await
            .unwrap_or_default()
    }

    /// Stores a chunk whose whole BLAKE3 must equal `expected_hex`.
    pub async fn put(
        &self,
        disk: &DiskId,
        chunk: &ChunkId,
        expected_hex: &str,
        data: Bytes,
    ) -> Result<PutChunkResponse, StoreError> {
        let expected = parse_digest(expected_hex)?;
        let (disk, id) = self.locate(disk, chunk, Access::Write)?;
        let chunk = chunk.clone();
        let length = data.len() as u64;
        blocking(move || write::put_blocking(&disk, &chunk, id, expected, &data)).await?;
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
        let found = self.disks.iter().find(|d| d.id == *disk);
        let found = found
            .ok_or_else(|| StoreError::NotFound(format!("no disk {disk} on this chunkserver")))?;
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
        Ok(found.clone())
    }
}

/// Opens one disk, or logs why not and returns it `Offline`. Blocking.
fn open_or_offline(
    path: &Path,
    index: usize,
    cluster_id: &str,
    chunkserver: ChunkserverId,
) -> Disk {
    match Disk::open(path, cluster_id, chunkserver) {
        Ok(disk) => {
            tracing::info!(path = %path.display(), disk = %disk.id, "disk in service");
            disk
        }
        Err(e) => {
            let path_text = path.display();
            tracing::error!(path = %path_text, error = %e, "disk refused; reporting it offline");
            Disk::offline(path, index)
        }
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
