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
//! A blank (empty or missing) directory is formatted with a new random [`DiskId`]. A directory
//! whose identity names another cluster or chunkserver, or that holds files but no identity,
//! is refused: the disk is kept as `Offline` so heartbeats show it, and nothing is written.
//!
//! A disk in service has a [`DiskMonitor`] whose health state (healthy, suspect, failed) the
//! health worker and the I/O paths keep current: a failed disk takes no writes.

use crate::disk_health::DiskMonitor;
use crate::fault;
use crate::fsutil::{fsync_dir, statvfs, write_file_atomic};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use trireme_api::ids::{ChunkId, ChunkserverId, DiskId};
use trireme_api::meta::{DiskReport, DiskState};

/// Name of the identity file at the root of a disk.
pub const IDENTITY_FILE: &str = "trireme-disk.json";
/// Version of the identity file format this code writes.
pub const IDENTITY_VERSION: u32 = 1;
const IDENTITY_TMP: &str = ".trireme-disk.json.tmp";
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
    /// Holds the advisory lock on the identity file while the disk is open.
    _lock: Option<File>,
}

impl Disk {
    /// Opens the disk at `path`, formatting it if blank. Blocking.
    pub fn open(
        path: &Path,
        cluster_id: &str,
        chunkserver: ChunkserverId,
    ) -> Result<Disk, DiskOpenError> {
        let identity = load_or_format(path, cluster_id, chunkserver)?;
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
            _lock: None,
        }
    }

    /// Turns test-only fault injection on for this disk (before sharing it).
    pub fn with_fault_injection(mut self, on: bool) -> Self {
        self.faults = on;
        self
    }

    /// `Offline` if refused, else the health state.
    pub fn state(&self) -> DiskState {
        if self.offline {
            DiskState::Offline
        } else {
            self.monitor.state()
        }
    }

    /// Refused at start-up.
    pub fn is_offline(&self) -> bool {
        self.offline
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

/// Reads the identity file, or formats a blank directory. Blocking.
fn load_or_format(
    path: &Path,
    cluster_id: &str,
    chunkserver: ChunkserverId,
) -> Result<DiskIdentity, DiskOpenError> {
    fs::create_dir_all(path).map_err(io_ctx("create disk directory"))?;
    let id_path = path.join(IDENTITY_FILE);
    match fs::read(&id_path) {
        Ok(bytes) => {
            let identity: DiskIdentity = serde_json::from_slice(&bytes)
                .map_err(|e| DiskOpenError::BadIdentity(e.to_string()))?;
            check_identity(&identity, cluster_id, chunkserver)?;
            Ok(identity)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let tmp = path.join(IDENTITY_TMP);
            match fs::remove_file(&tmp) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_ctx("remove stale identity tmp file")(e)),
            }
            let mut entries = fs::read_dir(path).map_err(io_ctx("list disk directory"))?;
            let occupied = entries.try_fold(false, |found, entry| {
                let entry = entry?;
                Ok::<_, io::Error>(found || entry.file_name() != "lost+found")
            });
            if occupied.map_err(io_ctx("list disk directory"))? {
                return Err(DiskOpenError::NotEmpty);
            }
            let identity = DiskIdentity {
                format_version: IDENTITY_VERSION,
                cluster_id: cluster_id.to_string(),
                chunkserver_id: chunkserver,
                disk_id: DiskId::random(),
            };
            let json = serde_json::to_vec_pretty(&identity)
                .map_err(|e| DiskOpenError::BadIdentity(e.to_string()))?;
            write_file_atomic(&tmp, &id_path, &json).map_err(io_ctx("write identity file"))?;
            let disk = &identity.disk_id;
            tracing::info!(path = %path.display(), %disk, "formatted blank disk");
            Ok(identity)
        }
        Err(e) => Err(io_ctx("read identity file")(e)),
    }
}

fn check_identity(
    identity: &DiskIdentity,
    cluster_id: &str,
    chunkserver: ChunkserverId,
) -> Result<(), DiskOpenError> {
    if identity.format_version != IDENTITY_VERSION {
        return Err(DiskOpenError::BadIdentity(format!(
            "unsupported format_version {}",
            identity.format_version
        )));
    }
    if !identity.disk_id.is_valid() {
        return Err(DiskOpenError::BadIdentity(format!(
            "invalid disk id {:?}",
            identity.disk_id.0
        )));
    }
    if identity.cluster_id != cluster_id {
        return Err(DiskOpenError::ForeignCluster {
            found: identity.cluster_id.clone(),
            expected: cluster_id.to_string(),
        });
    }
    if identity.chunkserver_id != chunkserver {
        return Err(DiskOpenError::ForeignChunkserver {
            found: identity.chunkserver_id,
            expected: chunkserver,
        });
    }
    Ok(())
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

#[cfg(test)]
mod tests;
