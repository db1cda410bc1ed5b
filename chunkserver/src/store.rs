//! Chunk operations on this chunkserver's disks. A put verifies the body against its claimed
//! digest, writes `tmp/<id>.<random>`, fsyncs it, renames it into `chunks/xx/` and fsyncs the
//! directory before answering. A get verifies the header and every block it returns. All
//! disk I/O runs on tokio's blocking pool.

use crate::chunk_file::{read_range, write_chunk, ChunkHeader, FormatError};
use crate::disk::Disk;
use crate::error::StoreError;
use crate::fsutil::{fsync_dir, is_disk_failure};
use bytes::Bytes;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trireme_api::chunk::PutChunkResponse;
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};
use trireme_api::meta::DiskReport;

/// The disks of one chunkserver, refused ones included (as `Offline`).
#[derive(Debug)]
pub struct Store {
    disks: Vec<Arc<Disk>>,
}

impl Store {
    /// Opens every disk in parallel; a disk that cannot be taken into service is logged and
    /// kept as `Offline`.
    pub async fn open(cluster_id: &str, chunkserver: ChunkserverId, paths: &[PathBuf]) -> Store {
        let opens = paths.iter().enumerate().map(|(index, path)| {
            let (path, cluster_id) = (path.clone(), cluster_id.to_string());
            let fallback = path.clone();
            async move {
                let open = move || open_or_offline(&path, index, &cluster_id, chunkserver);
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
        Store { disks }
    }

    pub fn disks(&self) -> &[Arc<Disk>] {
        &self.disks
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
        let (disk, id) = self.locate(disk, chunk)?;
        let chunk = chunk.clone();
        let length = data.len() as u64;
        blocking(move || put_blocking(&disk, &chunk, id, expected, &data)).await?;
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
        let (disk, id) = self.locate(disk, chunk)?;
        let chunk = chunk.clone();
        blocking(move || get_blocking(&disk, &chunk, id, offset, length, expected)).await
    }

    /// Removes a chunk replica; a missing one is not an error.
    pub async fn delete(&self, disk: &DiskId, chunk: &ChunkId) -> Result<(), StoreError> {
        let (disk, _) = self.locate(disk, chunk)?;
        let chunk = chunk.clone();
        blocking(move || delete_blocking(&disk, &chunk)).await
    }

    /// Validates the ids and finds an online disk.
    fn locate(&self, disk: &DiskId, chunk: &ChunkId) -> Result<(Arc<Disk>, u128), StoreError> {
        if !disk.is_valid() {
            return Err(StoreError::InvalidArgument(format!(
                "invalid disk id {:?}",
                disk.0
            )));
        }
        let id = chunk
            .is_valid()
            .then(|| u128::from_str_radix(&chunk.0, 16).ok())
            .flatten()
            .ok_or_else(|| {
                StoreError::InvalidArgument(format!("invalid chunk id {:?}", chunk.0))
            })?;
        let found = self.disks.iter().find(|d| d.id == *disk);
        let found = found
            .ok_or_else(|| StoreError::NotFound(format!("no disk {disk} on this chunkserver")))?;
        if !found.is_online() {
            return Err(StoreError::DiskUnavailable(format!(
                "disk {disk} is {:?}",
                found.state()
            )));
        }
        Ok((found.clone(), id))
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
fn parse_digest(text: &str) -> Result<[u8; 32], StoreError> {
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

fn io_fail(disk: &Disk, what: &str, e: io::Error) -> StoreError {
    let message = format!("disk {} ({}): {what}: {e}", disk.id, disk.path.display());
    if is_disk_failure(&e) {
        disk.note_io_error();
        tracing::warn!(disk = %disk.id, error = %e, what, "disk I/O error");
        StoreError::DiskUnavailable(message)
    } else {
        StoreError::Internal(message)
    }
}

fn format_fail(disk: &Disk, chunk: &ChunkId, e: FormatError) -> StoreError {
    match e {
        FormatError::Corrupt(m) => {
            tracing::warn!(disk = %disk.id, %chunk, reason = %m, "corrupt chunk replica");
            StoreError::Corrupt(format!("chunk {chunk} on disk {}: {m}", disk.id))
        }
        e @ FormatError::OutOfRange { .. } => StoreError::InvalidArgument(e.to_string()),
        FormatError::Io(e) => io_fail(disk, "read chunk", e),
    }
}

fn put_blocking(
    disk: &Disk,
    chunk: &ChunkId,
    id: u128,
    expected: [u8; 32],
    data: &[u8],
) -> Result<(), StoreError> {
    let header = ChunkHeader::build(id, data);
    if header.whole != expected {
        return Err(StoreError::DigestMismatch {
            expected: hex::encode(expected),
            actual: header.whole_hex(),
        });
    }
    let path = disk.chunk_path(chunk);
    match verified_digest(&path, id) {
        Ok(None) => {}
        Ok(Some(existing)) if existing == expected => return Ok(()),
        Ok(Some(existing)) => {
            return Err(StoreError::InvalidArgument(format!(
                "chunk {chunk} is already stored with digest {}",
                hex::encode(existing)
            )))
        }
        Err(FormatError::Corrupt(m)) => {
            tracing::warn!(disk = %disk.id, %chunk, reason = %m, "replacing a corrupt replica");
        }
        Err(e) => return Err(format_fail(disk, chunk, e)),
    }
    let dir = disk
        .ensure_chunk_dir(chunk)
        .map_err(|e| io_fail(disk, "create chunk directory", e))?;
    let tmp = disk.tmp_path(chunk);
    if let Err(e) = write_synced(&tmp, &header, data) {
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
    fsync_dir(&dir).map_err(|e| io_fail(disk, "fsync chunk directory", e))
}

fn write_synced(tmp: &Path, header: &ChunkHeader, data: &[u8]) -> io::Result<()> {
    let mut f = File::create_new(tmp)?;
    write_chunk(&mut f, header, data)?;
    f.sync_all()
}

/// The whole digest of a stored chunk after verifying all of it; `None` if absent.
fn verified_digest(path: &Path, id: u128) -> Result<Option<[u8; 32]>, FormatError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let len = f.metadata()?.len();
    let header = ChunkHeader::decode(&mut f, len, id)?;
    read_range(&mut f, &header, 0, header.data_len)?;
    Ok(Some(header.whole))
}

fn get_blocking(
    disk: &Disk,
    chunk: &ChunkId,
    id: u128,
    offset: Option<u64>,
    length: Option<u64>,
    expected: Option<[u8; 32]>,
) -> Result<Bytes, StoreError> {
    let mut f = match File::open(disk.chunk_path(chunk)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(StoreError::NotFound(format!(
                "chunk {chunk} is not on disk {}",
                disk.id
            )))
        }
        Err(e) => return Err(io_fail(disk, "open chunk", e)),
    };
    let len = f
        .metadata()
        .map_err(|e| io_fail(disk, "stat chunk", e))?
        .len();
    let header = ChunkHeader::decode(&mut f, len, id).map_err(|e| format_fail(disk, chunk, e))?;
    if let Some(expected) = expected {
        if expected != header.whole {
            return Err(format_fail(
                disk,
                chunk,
                FormatError::Corrupt(format!(
                    "stored digest {} differs from the expected {}",
                    header.whole_hex(),
                    hex::encode(expected)
                )),
            ));
        }
    }
    let offset = offset.unwrap_or(0);
    let length = length.unwrap_or_else(|| header.data_len.saturating_sub(offset));
    read_range(&mut f, &header, offset, length).map_err(|e| format_fail(disk, chunk, e))
}

fn delete_blocking(disk: &Disk, chunk: &ChunkId) -> Result<(), StoreError> {
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
