//! Small blocking filesystem helpers: directory fsync, atomic file replacement, statvfs, and
//! which I/O errors mean the disk itself is in trouble.

use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Makes a directory's entries (creates, renames, unlinks) durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `tmp`, fsyncs it, renames it to `path` and fsyncs the parent directory.
pub fn write_file_atomic(tmp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(tmp, path)?;
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => fsync_dir(parent),
        _ => fsync_dir(Path::new(".")),
    }
}

/// `(capacity, free for unprivileged users)` in bytes of the filesystem holding `path`.
pub fn statvfs(path: &Path) -> io::Result<(u64, u64)> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: `statvfs` is plain old data; zero is a valid bit pattern for every field.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated string and `st` a valid out-pointer for the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // The field types differ between platforms (u32 on some), hence the casts.
    #[allow(clippy::unnecessary_cast)]
    let (blocks, avail, frsize) = (st.f_blocks as u64, st.f_bavail as u64, st.f_frsize as u64);
    Ok((blocks.saturating_mul(frsize), avail.saturating_mul(frsize)))
}

/// True for "no room" errors (ENOSPC, EDQUOT): the disk answers, it is just full.
pub fn is_full(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// True for errors that say the disk itself is failing or read-only (EIO, EROFS, ...): they
/// count against the disk's health.
pub fn is_io_failure(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EROFS | libc::EIO | libc::ENODEV | libc::ENXIO | libc::EUCLEAN)
    )
}
