//! Setting a bad replica aside: `chunks/xx/<chunk>` is renamed to
//! `quarantine/<chunk>.<unix_ms>` and both directories are fsynced. Trireme never deletes,
//! lists (inventories, scrub) or serves a quarantined file; an operator may inspect or remove
//! it.
//!
//! The move names the file it expects by (device, inode), taken when the file was opened for
//! verification, and happens under the disk's usage lock that writes hold across their
//! rename: a good copy written meanwhile (a repair, a retried PUT) is never moved aside.

use crate::disk::Disk;
use crate::disk_health::unix_ms;
use crate::fsutil::fsync_dir;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use trireme_api::ids::ChunkId;

/// A file's (device, inode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileIdentity(u64, u64);

impl FileIdentity {
    pub fn of(meta: &fs::Metadata) -> Self {
        FileIdentity(meta.dev(), meta.ino())
    }
}

/// Moves the replica of `chunk` into the quarantine directory if it is still the file
/// `expected` names (any file when None). Returns the new path, or None if there was no
/// such file. Blocking.
pub fn quarantine(
    disk: &Disk,
    chunk: &ChunkId,
    expected: Option<FileIdentity>,
) -> io::Result<Option<PathBuf>> {
    let path = disk.chunk_path(chunk);
    let dir = disk.quarantine_dir();
    let target = {
        let mut usage = disk.usage();
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if expected.is_some_and(|id| id != FileIdentity::of(&meta)) {
            return Ok(None);
        }
        let now = unix_ms();
        let mut target = dir.join(format!("{chunk}.{now}"));
        let mut n = 1;
        while fs::symlink_metadata(&target).is_ok() {
            target = dir.join(format!("{chunk}.{now}-{n}"));
            n += 1;
        }
        fs::rename(&path, &target)?;
        usage.used_bytes = usage.used_bytes.saturating_sub(meta.len());
        usage.chunk_count = usage.chunk_count.saturating_sub(1);
        target
    };
    fsync_dir(&dir)?;
    if let Some(parent) = path.parent() {
        fsync_dir(parent)?;
    }
    tracing::warn!(disk = %disk.id, %chunk, to = %target.display(), "replica quarantined");
    Ok(Some(target))
}

/// The quarantined files of a disk (names only). Blocking.
pub fn list(disk: &Disk) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(disk.quarantine_dir())? {
        out.push(entry?.file_name().to_string_lossy().into_owned());
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_only_the_expected_file() {
        let root = tempfile::tempdir().expect("tempdir");
        let disk = Disk::open(&root.path().join("d0"), "c1", 1).expect("open");
        let chunk = ChunkId::from_u128(0xabcdef);
        assert_eq!(quarantine(&disk, &chunk, None).expect("nothing"), None);
        disk.ensure_chunk_dir(&chunk).expect("dir");
        let path = disk.chunk_path(&chunk);
        fs::write(&path, b"bad bytes").expect("write");
        let first = FileIdentity::of(&fs::metadata(&path).expect("stat"));
        // Another file took its place: it stays.
        fs::remove_file(&path).expect("rm");
        fs::write(&path, b"good copy").expect("write");
        let other = FileIdentity(first.0, first.1.wrapping_add(1_000_000));
        assert_eq!(quarantine(&disk, &chunk, Some(other)).expect("skip"), None);
        assert!(path.exists());
        let now = FileIdentity::of(&fs::metadata(&path).expect("stat"));
        let moved = quarantine(&disk, &chunk, Some(now))
            .expect("move")
            .expect("moved");
        assert!(!path.exists());
        assert_eq!(fs::read(&moved).expect("read"), b"good copy");
        let names = list(&disk).expect("list");
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with(&chunk.0));
        assert!(disk.list_chunks().expect("ls").is_empty());
    }
}
