//! Disk ceilings: sequential write and read of one file in 4 MiB requests (O_DIRECT when the
//! filesystem allows it, else through the page cache with an fsync at the end and the file's
//! pages dropped before the read), the page-cache copy rate, and fsync'd 4 KiB appends per
//! second at depth 1 and 16.

use super::data::Xoshiro;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

/// Size of one sequential request.
pub const IO_SIZE: usize = 4 << 20;
/// Alignment O_DIRECT needs (a multiple of any logical block size in use).
const ALIGN: usize = 4096;

/// A sequential transfer: bytes per second and how it was done.
#[derive(Clone, Debug, Serialize)]
pub struct Sequential {
    pub bytes: u64,
    pub seconds: f64,
    pub bytes_per_s: f64,
    /// `O_DIRECT`, `page cache + fsync`, `page cache (pages dropped)`, `page cache`.
    pub method: String,
    /// Share of the file in the page cache when the read started (reads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_fraction: Option<f64>,
}

/// A buffer of `len` random bytes aligned for O_DIRECT.
pub struct Aligned {
    raw: Vec<u8>,
    offset: usize,
    len: usize,
}

impl Aligned {
    pub fn random(len: usize, seed: u64) -> Aligned {
        let raw = vec![0u8; len + ALIGN];
        let offset = raw.as_ptr().align_offset(ALIGN);
        let mut a = Aligned { raw, offset, len };
        Xoshiro::new(seed).fill(a.bytes_mut());
        a
    }

    pub fn bytes(&self) -> &[u8] {
        &self.raw[self.offset..self.offset + self.len]
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.raw[self.offset..self.offset + self.len]
    }
}

fn is_einval(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

fn open_write(path: &Path, direct: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    if direct {
        o.custom_flags(libc::O_DIRECT);
    }
    o.open(path)
}

/// Writes `size` bytes (rounded up to 4 MiB requests) to `path` and fsyncs.
pub fn seq_write(path: &Path, size: u64, buf: &Aligned) -> io::Result<Sequential> {
    let requests = size.div_ceil(IO_SIZE as u64).max(1);
    let mut direct = true;
    let mut file = match open_write(path, true) {
        Ok(f) => f,
        Err(e) if is_einval(&e) => {
            direct = false;
            open_write(path, false)?
        }
        Err(e) => return Err(e),
    };
    let start = Instant::now();
    let mut i = 0;
    while i < requests {
        match file.write_all(buf.bytes()) {
            Ok(()) => i += 1,
            // Some filesystems accept O_DIRECT at open and refuse the write.
            Err(e) if direct && i == 0 && is_einval(&e) => {
                direct = false;
                file = open_write(path, false)?;
            }
            Err(e) => return Err(e),
        }
    }
    file.sync_all()?;
    let seconds = start.elapsed().as_secs_f64();
    let bytes = requests * IO_SIZE as u64;
    Ok(Sequential {
        bytes,
        seconds,
        bytes_per_s: bytes as f64 / seconds.max(1e-9),
        method: if direct {
            "O_DIRECT"
        } else {
            "page cache + fsync"
        }
        .into(),
        cached_fraction: None,
    })
}

/// Reads `path` to the end in 4 MiB requests: with O_DIRECT if possible, else after asking
/// the kernel to drop the file's pages; `cached` reads it through the page cache as it is.
pub fn seq_read(path: &Path, buf: &mut Aligned, cached: bool) -> io::Result<Sequential> {
    let resident = cached_fraction(path).ok();
    let mut method = "page cache";
    let mut file = None;
    if !cached {
        match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
        {
            Ok(f) => {
                method = "O_DIRECT";
                file = Some(f);
            }
            Err(e) if is_einval(&e) => {}
            Err(e) => return Err(e),
        }
    }
    let mut file = match file {
        Some(f) => f,
        None => {
            let f = File::open(path)?;
            if !cached {
                // Clean pages (the file was fsynced) are dropped; no root needed.
                // SAFETY: a valid descriptor; advice only.
                unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
                method = "page cache (pages dropped)";
            }
            f
        }
    };
    let before = if method == "O_DIRECT" {
        resident
    } else {
        cached_fraction(path).ok()
    };
    let start = Instant::now();
    let mut bytes = 0u64;
    loop {
        let n = file.read(buf.bytes_mut())?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(Sequential {
        bytes,
        seconds,
        bytes_per_s: bytes as f64 / seconds.max(1e-9),
        method: method.into(),
        cached_fraction: before,
    })
}

/// The share of `path`'s pages in the page cache (mincore over a read-only mapping).
pub fn cached_fraction(path: &Path) -> io::Result<f64> {
    let file = File::open(path)?;
    let len = file.metadata()?.len() as usize;
    if len == 0 {
        return Ok(0.0);
    }
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
    // SAFETY: a fresh shared read-only mapping of a file we hold open; unmapped below.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let pages = len.div_ceil(page);
    let mut vec = vec![0u8; pages];
    // SAFETY: `addr..addr+len` is our mapping and `vec` has one byte per page.
    let rc = unsafe { libc::mincore(addr, len, vec.as_mut_ptr()) };
    let err = io::Error::last_os_error();
    // SAFETY: unmapping the mapping made above.
    unsafe { libc::munmap(addr, len) };
    if rc != 0 {
        return Err(err);
    }
    let resident = vec.iter().filter(|&&b| b & 1 == 1).count();
    Ok(resident as f64 / pages as f64)
}

/// Fsync'd 4 KiB appends per second: `depth` threads, each appending to its own file in
/// `dir` and calling fdatasync after every write, for `time`.
pub fn fsync_rate(dir: &Path, depth: usize, time: Duration) -> io::Result<f64> {
    let block = [0x5au8; 4096];
    let start = Instant::now();
    let counts = std::thread::scope(|s| {
        let handles: Vec<_> = (0..depth)
            .map(|t| {
                let path = dir.join(format!("fsync-{depth}-{t}"));
                s.spawn(move || -> io::Result<u64> {
                    let file = OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .open(&path)?;
                    let mut n = 0u64;
                    while start.elapsed() < time {
                        file.write_all_at(&block, n * 4096)?;
                        file.sync_data()?;
                        n += 1;
                    }
                    drop(file);
                    std::fs::remove_file(&path)?;
                    Ok(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("fsync thread panicked")))
            })
            .collect::<io::Result<Vec<u64>>>()
    })?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(counts.iter().sum::<u64>() as f64 / seconds.max(1e-9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_disk_ceilings_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("seq");
        let mut buf = Aligned::random(IO_SIZE, 1);
        assert_eq!(buf.bytes().as_ptr() as usize % ALIGN, 0);
        let w = seq_write(&path, 8 << 20, &buf).expect("write");
        assert_eq!(w.bytes, 8 << 20);
        assert!(w.bytes_per_s > 0.0);
        let r = seq_read(&path, &mut buf, false).expect("read");
        assert_eq!(r.bytes, 8 << 20);
        let c = seq_read(&path, &mut buf, true).expect("cached read");
        assert_eq!(c.method, "page cache");
        let f = cached_fraction(&path).expect("mincore");
        assert!((0.0..=1.0).contains(&f));
        let rate = fsync_rate(dir.path(), 2, Duration::from_millis(100)).expect("fsync");
        assert!(rate > 0.0);
        // Only the sequential file is left (fsync files are removed).
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }
}
