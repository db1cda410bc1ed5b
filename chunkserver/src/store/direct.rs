//! Writing a chunk file with `O_DIRECT`, from the aligned buffer the body was received into
//! (`store/receive.rs`), straight to the device, bypassing the page cache.
//!
//! Why: profiling 64 MiB PUTs on `trireme up` (docs/performance.md) showed the kernel's copy of
//! written data into the page cache (`copy_folio_from_iter_atomic`, with folio allocation,
//! memory-cgroup charging and delayed allocation) taking about 40% of all the cluster's CPU,
//! about ten times the cost per byte of the same bytes' TCP copies. A DMA write from a reused
//! buffer costs a fraction of that, and written chunks no longer push other data out of the
//! page cache (the approach of Ceph's BlueStore and MinIO).
//!
//! The file gets its exact length with `ftruncate` after the padded aligned write, then the
//! caller's `fsync` makes data and size durable as before. Filesystems that refuse `O_DIRECT`
//! (tmpfs) or an unaligned device answer `EINVAL`: [`write`] then reports
//! [`Direct::Unsupported`] and the caller writes through the page cache.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// What happened.
pub enum Direct {
    /// Written (not yet fsynced): the open file.
    Written(File),
    /// The filesystem refuses direct I/O; nothing is left at `path`.
    Unsupported,
}

/// Creates `path` (which must not exist) holding the first `len` bytes of `padded`, with
/// direct I/O. `padded` starts at an aligned address and its length is a multiple of the
/// alignment (`Received::padded_file`).
pub fn write(path: &Path, padded: &[u8], len: u64) -> io::Result<Direct> {
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(Direct::Unsupported),
        Err(e) => return Err(e),
    };
    match file.write_all(padded) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            drop(file);
            std::fs::remove_file(path)?;
            return Ok(Direct::Unsupported);
        }
        Err(e) => return Err(e),
    }
    file.set_len(len)?;
    Ok(Direct::Written(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk_file::{read_range, ChunkHeader};
    use crate::store::pool::{BufferPool, IDLE_LIMIT, IN_USE_LIMIT};
    use crate::store::receive::Incoming;

    #[tokio::test]
    async fn a_direct_write_reads_back_exactly() {
        let dir = tempfile::TempDir::new().expect("tmp");
        let pool = BufferPool::new(IN_USE_LIMIT, IDLE_LIMIT);
        for size in [0usize, 1, 4095, 4096, 70_001, 1 << 20] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 + 3) as u8).collect();
            let mut incoming = Incoming::new(&pool, size as u64).await.expect("incoming");
            incoming.push(&data).expect("push");
            let mut received = incoming.finish().expect("finish");
            let header = received.seal(9).expect("seal");
            let path = dir.path().join(format!("c{size}"));
            let len = received.file_len() as u64;
            match write(&path, received.padded_file(), len).expect("write") {
                Direct::Written(f) => f.sync_all().expect("sync"),
                // tmpfs and friends: the caller falls back; nothing may be left behind.
                Direct::Unsupported => {
                    assert!(!path.exists());
                    continue;
                }
            }
            let meta = std::fs::metadata(&path).expect("stat");
            assert_eq!(meta.len(), header.file_len(), "exact length, no padding");
            let mut f = File::open(&path).expect("open");
            let h = ChunkHeader::decode(&mut f, meta.len(), 9).expect("header");
            let back = read_range(&mut f, &h, 0, size as u64).expect("read");
            assert_eq!(&back[..], &data[..]);
        }
    }
}
