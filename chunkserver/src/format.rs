//! Disk identity files: reading and checking them, and formatting a blank directory with a
//! new random [`DiskId`]. Shared by start-up (which formats blank directories itself) and
//! `FormatDisk` (which formats a blank slot on the meta leader's request). Blocking.
//!
//! A directory is blank when it holds nothing but `lost+found` (an empty filesystem) and
//! perhaps a stale identity tmp file of a format that never finished; anything else without
//! an identity file is never formatted over.

use crate::disk::{DiskIdentity, DiskOpenError, IDENTITY_FILE, IDENTITY_VERSION};
use crate::fsutil::write_file_atomic;
use std::fs;
use std::io;
use std::path::Path;
use trireme_api::ids::{ChunkserverId, DiskId};

/// The tmp file an identity is written to before its rename.
pub const IDENTITY_TMP: &str = ".trireme-disk.json.tmp";
/// Entries a blank filesystem may hold.
const BLANK_ENTRIES: [&str; 2] = ["lost+found", IDENTITY_TMP];

fn io_ctx(context: &'static str) -> impl FnOnce(io::Error) -> DiskOpenError {
    move |source| DiskOpenError::Io {
        context: context.to_string(),
        source,
    }
}

/// The identity file of the directory at `path`: `Ok(None)` when there is none,
/// `BadIdentity` when it is unreadable, of an unknown version or names an invalid id.
pub fn read_identity(path: &Path) -> Result<Option<DiskIdentity>, DiskOpenError> {
    let bytes = match fs::read(path.join(IDENTITY_FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_ctx("read identity file")(e)),
    };
    let identity: DiskIdentity =
        serde_json::from_slice(&bytes).map_err(|e| DiskOpenError::BadIdentity(e.to_string()))?;
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
    Ok(Some(identity))
}

/// Refuses an identity of another cluster or chunkserver.
pub fn check_identity(
    identity: &DiskIdentity,
    cluster_id: &str,
    chunkserver: ChunkserverId,
) -> Result<(), DiskOpenError> {
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

/// Whether the directory holds nothing but what a blank filesystem may hold.
pub fn is_blank(path: &Path) -> io::Result<bool> {
    for entry in fs::read_dir(path)? {
        let name = entry?.file_name();
        if !BLANK_ENTRIES.iter().any(|b| name == *b) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Formats the blank directory at `path` with a new random disk id: the identity file is
/// written atomically (tmp, fsync, rename, fsync the directory). Refuses (`NotEmpty`) a
/// directory that holds anything else, an identity file included.
pub fn format_blank(
    path: &Path,
    cluster_id: &str,
    chunkserver: ChunkserverId,
) -> Result<DiskIdentity, DiskOpenError> {
    if !is_blank(path).map_err(io_ctx("list disk directory"))? {
        return Err(DiskOpenError::NotEmpty);
    }
    let tmp = path.join(IDENTITY_TMP);
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_ctx("remove stale identity tmp file")(e)),
    }
    let identity = DiskIdentity {
        format_version: IDENTITY_VERSION,
        cluster_id: cluster_id.to_string(),
        chunkserver_id: chunkserver,
        disk_id: DiskId::random(),
    };
    let json = serde_json::to_vec_pretty(&identity)
        .map_err(|e| DiskOpenError::BadIdentity(e.to_string()))?;
    write_file_atomic(&tmp, &path.join(IDENTITY_FILE), &json)
        .map_err(io_ctx("write identity file"))?;
    let disk = &identity.disk_id;
    tracing::info!(path = %path.display(), %disk, "formatted blank disk");
    Ok(identity)
}

/// Start-up: the identity of the directory at `path` (created if missing), checked to be
/// this chunkserver's, or a new one if the directory is blank.
pub fn load_or_format(
    path: &Path,
    cluster_id: &str,
    chunkserver: ChunkserverId,
) -> Result<DiskIdentity, DiskOpenError> {
    fs::create_dir_all(path).map_err(io_ctx("create disk directory"))?;
    match read_identity(path)? {
        Some(identity) => {
            check_identity(&identity, cluster_id, chunkserver)?;
            Ok(identity)
        }
        None => format_blank(path, cluster_id, chunkserver),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_only_blank_directories() {
        let root = tempfile::tempdir().expect("tempdir");
        fs::create_dir(root.path().join("lost+found")).expect("mkdir");
        fs::write(root.path().join(IDENTITY_TMP), b"half").expect("stale tmp");
        assert!(is_blank(root.path()).expect("ls"));
        let identity = format_blank(root.path(), "c1", 2).expect("format");
        assert!(!root.path().join(IDENTITY_TMP).exists());
        assert_eq!(read_identity(root.path()).expect("read"), Some(identity));
        assert!(!is_blank(root.path()).expect("ls"));
        assert!(matches!(
            format_blank(root.path(), "c1", 2),
            Err(DiskOpenError::NotEmpty)
        ));
    }

    #[test]
    fn a_missing_identity_reads_as_none() {
        let root = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_identity(root.path()).expect("read"), None);
        fs::write(root.path().join(IDENTITY_FILE), b"{}").expect("write");
        assert!(matches!(
            read_identity(root.path()),
            Err(DiskOpenError::BadIdentity(_))
        ));
    }
}
