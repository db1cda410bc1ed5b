//! One disk: a data directory with an identity file, a fixed layout, and usage counters.
//!
//! ```text
//! <dir>/trireme-disk.json     identity: format_version, cluster_id, chunkserver_id, disk_id
//! <dir>/chunks/<xx>/<chunk>   chunk files, xx = the first two hex digits of the chunk id
//! <dir>/tmp/                  in-flight writes, emptied at startup
//! <dir>/quarantine/           bad chunk files set aside: <chunk>.<unix_ms> (never deleted)
//! <dir>/.trireme-probe        the health probe's scratch file
//! <dir>/scrub-state.json      the last scrub pass (see `scrub_state`)
//! ```
//!
//! At start-up a blank (empty or missing) directory is formatted with a new random [`DiskId`]
//! ([`crate::format`]). A directory whose identity names another cluster or chunkserver, or
//! that holds files but no identity, is refused: the disk is kept as `Offline` so heartbeats
//! show it, and nothing is written. A disk removed from service is *released*
//! ([`Disk::release`]): it reports `Offline`, the workers holding it let go, and the lock on
//! its identity file is dropped with the last reference.
//!
//! A disk in service has a [`DiskMonitor`] whose health state (healthy, suspect, failed) the
//! health worker and the I/O paths keep current: a failed disk takes no writes.

use crate::disk_health::DiskMonitor;
use crate::fsutil::{fsync_dir, statvfs};
use crate::{fault, format};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::watch;
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};
use trireme_api::meta::{DiskReport, DiskState};

/// Name of the identity file at the root of a disk.
pub const IDENTITY_FILE: &str = "trireme-disk.json";
/// Version of the identity file format this code writes.
pub const IDENTITY_VERSION: u32 = 1;
const CHUNKS: &str = "chunks";
const TMP: &str = "tmp";
const QUARANTINE: &str = "quarantine";

/// The identity file's contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskIdentity {
    pub format_version: u32,
    pub cluster_id: String,
    pub chunkserver_id: ChunkserverId,
    pub disk_id: DiskId,
}

/// Why a directory was not taken into service.
#[derive(Debug, thiserror::Error)]
pub enum DiskOpenError {
    #[error("disk belongs to cluster {found:?}, this chunkserver to {expected:?}")]
    ForeignCluster { found: String, expected: String },
    #[error("disk belongs to chunkserver {found}, this is chunkserver {expected}")]
    ForeignChunkserver {
        found: ChunkserverId,
        expected: ChunkserverId,
    },
    #[error("directory is not empty and has no {IDENTITY_FILE}; refusing to format it")]
    NotEmpty,
    #[error("bad identity file: {0}")]
    BadIdentity(String),
    #[error("disk is in use by another process")]
    Locked,
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

fn io_ctx(context: impl Into<String>) -> impl FnOnce(io::Error) -> DiskOpenError {
    let context = context.into();
    move |source| DiskOpenError::Io { context, source }
}

/// One chunk file as listed on a disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedChunk {
    pub chunk: ChunkId,
    /// Time since the file was last modified (written).
    pub age: std::time::Duration,
    /// File length in bytes (header included).
    pub len: u64,
}

/// Bytes and files held in chunk files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskUsage {
    pub used_bytes: u64,
    pub chunk_count: u64,
}

/// A disk in service (or refused, then `Offline` with no files touched).
#[derive(Debug)]
pub struct Disk {
    pub id: DiskId,
    pub path: PathBuf,
    /// Refused at start-up: reported `Offline`, never touched.
    offline: bool,
    /// Test-only fault injection is on (see [`crate::fault`]).
    faults: bool,
    usage: Mutex<DiskUsage>,
    /// Which `chunks/xx` directories are known to exist durably in this process.
    dirs_synced: Box<[AtomicBool]>,
    monitor: DiskMonitor,
    /// Released from service (removed by the operator): no new I/O starts on it.
    released: watch::Sender<bool>,
    /// Holds the advisory lock on the identity file while the disk is open.
    _lock: Option<File>,
}

impl Disk {
    /// Opens the disk at `path` (created if missing), formatting it if blank: start-up.
    /// Blocking.
    pub fn open(
        path: &Path,
        cluster_id: &str,
        chunkserver: ChunkserverId,
    ) -> Result<Disk, DiskOpenError> {
        let identity = format::load_or_format(path, cluster_id, chunkserver)?;
        Self::open_identity(path, identity)
    }

    /// Opens the disk at `path`, which must already have this chunkserver's identity (a
    /// disk found at run time). Blocking.
    pub fn open_existing(
        path: &Path,
        cluster_id: &str,
        chunkserver: ChunkserverId,
    ) -> Result<Disk, DiskOpenError> {
        let identity = format::read_identity(path)?
            .ok_or_else(|| DiskOpenError::BadIdentity(format!("{IDENTITY_FILE} is missing")))?;
        format::check_identity(&identity, cluster_id, chunkserver)?;
        Self::open_identity(path, identity)
    }

    /// Formats the blank directory at `path` with a new identity and opens it (`FormatDisk`).
    /// Blocking.
    pub fn format(
        path: &Path,
        cluster_id: &str,
        chunkserver: ChunkserverId,
    ) -> Result<Disk, DiskOpenError> {
        let identity = format::format_blank(path, cluster_id, chunkserver)?;
        Self::open_identity(path, identity)
    }

    /// Locks the identity file, creates the layout, cleans `tmp/` and counts the chunks.
    fn open_identity(path: &Path, identity: DiskIdentity) -> Result<Disk, DiskOpenError> {
        let lock = File::open(path.join(IDENTITY_FILE)).map_err(io_ctx("open identity file"))?;
        // SAFETY: flock on a file descriptor we own; no memory is shared with the kernel.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(DiskOpenError::Locked);
        }
        let mut created = false;
        for sub in [CHUNKS, TMP, QUARANTINE] {
            match fs::create_dir(path.join(sub)) {
                Ok(()) => created = true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_ctx(format!("create {sub}/"))(e)),
            }
        }
        if created {
            fsync_dir(path).map_err(io_ctx("fsync disk directory"))?;
        }
        clean_tmp(&path.join(TMP)).map_err(io_ctx("clean tmp/"))?;
        let usage = scan_chunks(&path.join(CHUNKS)).map_err(io_ctx("scan chunks/"))?;
        Ok(Disk {
            id: identity.disk_id,
            path: path.to_path_buf(),
            offline: false,
            faults: false,
            usage: Mutex::new(usage),
            dirs_synced: (0..256).map(|_| AtomicBool::new(false)).collect(),
            monitor: DiskMonitor::default(),
            released: watch::Sender::new(false),
            _lock: Some(lock),
        })
    }

    /// A refused disk, reported as `Offline` under a placeholder id.
    pub fn offline(path: &Path, index: usize) -> Disk {
        Disk {
            id: DiskId(format!("offline-{index}")),
            path: path.to_path_buf(),
            offline: true,
            faults: false,
            usage: Mutex::new(DiskUsage::default()),
            dirs_synced: Box::new([]),
            monitor: DiskMonitor::default(),
            released: watch::Sender::new(false),
            _lock: None,
        }
    }

    /// Turns test-only fault injection on for this disk (before sharing it).
    pub fn with_fault_injection(mut self, on: bool) -> Self {
        self.faults = on;
        self
    }

    /// `Offline` if refused or released, else the health state.
    pub fn state(&self) -> DiskState {
        if self.offline || self.is_released() {
            DiskState::Offline
        } else {
            self.monitor.state()
        }
    }

    /// Refused at start-up.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// Marks the disk released (removed from service): the workers holding it stop, and
    /// the lock on its identity file goes with the last reference. Returns false if it
    /// already was.
    pub fn release(&self) -> bool {
        !self.released.send_replace(true)
    }

    /// Released from service.
    pub fn is_released(&self) -> bool {
        *self.released.borrow()
    }

    /// Resolves once the disk is released.
    pub async fn wait_released(&self) {
        let mut rx = self.released.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// In service and taking writes: healthy or suspect (not failed, not offline).
    pub fn is_online(&self) -> bool {
        matches!(self.state(), DiskState::Healthy | DiskState::Suspect)
    }

    /// The health record of this disk.
    pub fn monitor(&self) -> &DiskMonitor {
        &self.monitor
    }

    /// Sleeps for the injected delay, if fault injection is on (see [`crate::fault`]).
    /// Blocking.
    pub fn inject_delay(&self) {
        if self.faults {
            fault::inject_delay(&self.path);
        }
    }

    /// Where bad replicas are set aside.
    pub fn quarantine_dir(&self) -> PathBuf {
        self.path.join(QUARANTINE)
    }

    /// The final path of a chunk file.
    pub fn chunk_path(&self, chunk: &ChunkId) -> PathBuf {
        self.chunk_dir(chunk).join(&chunk.0)
    }

    fn chunk_dir(&self, chunk: &ChunkId) -> PathBuf {
        self.path
            .join(CHUNKS)
            .join(chunk.0.get(..2).unwrap_or("00"))
    }

    /// Every chunk file on the disk with its age and length (blocking; walks `chunks/` only,
    /// so quarantined files are never listed). Files whose names are not chunk ids are
    /// skipped.
    pub fn list_chunks(&self) -> io::Result<Vec<ListedChunk>> {
        let now = std::time::SystemTime::now();
        let mut out = Vec::new();
        for dir in fs::read_dir(self.path.join(CHUNKS))? {
            let dir = dir?;
            if !dir.file_type()?.is_dir() {
                continue;
            }
            for f in fs::read_dir(dir.path())? {
                let f = f?;
                let Some(name) = f.file_name().to_str().map(|n| ChunkId(n.to_string())) else {
                    continue;
                };
                if !name.is_valid() {
                    continue;
                }
                let (age, len) = match f.metadata().and_then(|m| Ok((m.modified()?, m.len()))) {
                    Ok((t, len)) => (now.duration_since(t).unwrap_or_default(), len),
                    // Vanished meanwhile (deleted): nothing to report.
                    Err(_) => continue,
                };
                out.push(ListedChunk {
                    chunk: name,
                    age,
                    len,
                });
            }
        }
        Ok(out)
    }

    /// A fresh temporary path for writing a chunk.
    pub fn tmp_path(&self, chunk: &ChunkId) -> PathBuf {
        self.path
            .join(TMP)
            .join(format!("{chunk}.{:016x}", rand::random::<u64>()))
    }

    /// Makes sure `chunks/xx` exists and its entry in `chunks/` is durable; returns the
    /// directory. The first call per directory in this process fsyncs `chunks/`.
    pub fn ensure_chunk_dir(&self, chunk: &ChunkId) -> io::Result<PathBuf> {
        let dir = self.chunk_dir(chunk);
        let slot = chunk
            .0
            .get(..2)
            .and_then(|p| usize::from_str_radix(p, 16).ok());
        let synced = slot.and_then(|i| self.dirs_synced.get(i));
        if synced.is_some_and(|s| s.load(Ordering::Acquire)) {
            return Ok(dir);
        }
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        fsync_dir(&self.path.join(CHUNKS))?;
        if let Some(s) = synced {
            s.store(true, Ordering::Release);
        }
        Ok(dir)
    }

    /// The usage counters, locked: hold the guard across a rename or unlink so the counters
    /// match the files.
    pub fn usage(&self) -> MutexGuard<'_, DiskUsage> {
        self.usage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This disk's heartbeat report. Blocking (statvfs).
    pub fn report(&self) -> DiskReport {
        let (capacity_bytes, free_bytes) = statvfs(&self.path).unwrap_or((0, 0));
        let usage = *self.usage();
        DiskReport {
            disk_id: self.id.clone(),
            path: self.path.display().to_string(),
            state: self.state(),
            capacity_bytes,
            free_bytes,
            used_bytes: usage.used_bytes,
            chunk_count: usage.chunk_count,
            health: self.monitor.health(),
        }
    }
}

/// Removes everything left in `tmp/` by writes that never finished.
fn clean_tmp(tmp: &Path) -> io::Result<()> {
    let mut removed = 0u64;
    for entry in fs::read_dir(tmp)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            fs::remove_dir_all(entry.path())?;
        } else {
            fs::remove_file(entry.path())?;
        }
        removed += 1;
    }
    if removed > 0 {
        tracing::info!(dir = %tmp.display(), removed, "removed unfinished writes");
    }
    Ok(())
}

/// Counts chunk files and their bytes under `chunks/`.
fn scan_chunks(chunks: &Path) -> io::Result<DiskUsage> {
    let mut usage = DiskUsage::default();
    for dir in fs::read_dir(chunks)? {
        let dir = dir?;
        if !dir.file_type()?.is_dir() {
            continue;
        }
        for file in fs::read_dir(dir.path())? {
            let file = file?;
            let name = file.file_name();
            let valid = name
                .to_str()
                .is_some_and(|n| ChunkId(n.to_string()).is_valid());
            let meta = file.metadata()?;
            if valid && meta.is_file() {
                usage.used_bytes += meta.len();
                usage.chunk_count += 1;
            } else {
                tracing::warn!(path = %file.path().display(), "unexpected file in chunks/");
            }
        }
    }
    Ok(usage)
}

impl Drop for Disk {
    fn drop(&mut self) {
        if self.is_released() {
            tracing::info!(disk = %self.id, path = %self.path.display(), "released disk closed: no I/O left on it");
        }
    }
}

#[cfg(test)]
mod tests;
