//! `trireme bench --limits DIR`: the machine's own ceilings, measured in a scratch directory
//! under DIR (removed afterwards): sequential write and read of the disk, the page-cache copy
//! rate, fsync'd 4 KiB writes per second at depth 1 and 16, loopback TCP bandwidth and
//! single-thread hash speeds. [`super::ceilings`] turns them into ceilings for results.

use super::config::LimitsConfig;
use super::limits_cpu::{hash_speeds, loopback, HashSpeeds};
use super::limits_disk::{fsync_rate, seq_read, seq_write, Aligned, Sequential, IO_SIZE};
use crate::error::CliError;
use serde::Serialize;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Everything `--limits` measured.
#[derive(Clone, Debug, Serialize)]
pub struct Ceilings {
    pub dir: PathBuf,
    /// Filesystem of DIR (`ext4`, `xfs`, `tmpfs`, ... or its magic number).
    pub filesystem: String,
    pub seq_write: Sequential,
    pub seq_read: Sequential,
    /// Reading the same file again through the page cache (a memory copy).
    pub cached_read: Sequential,
    pub fsync_4k_per_s_depth1: f64,
    pub fsync_4k_per_s_depth16: f64,
    pub loopback_bytes_per_s: f64,
    pub hash_bytes_per_s: HashSpeeds,
    /// The MD5 lane kernel the gateway uses on this CPU ("AVX-512" or "AVX2"), if any.
    pub md5_lane_kernel: Option<&'static str>,
    /// MemAvailable of /proc/meminfo when the ceilings were measured.
    pub mem_available_bytes: Option<u64>,
    pub seconds: f64,
}

/// Measures the ceilings (blocking: run it on a blocking thread).
pub fn measure(cfg: &LimitsConfig, say: &dyn Fn(&str)) -> Result<Ceilings, CliError> {
    let meta = std::fs::metadata(&cfg.dir)
        .map_err(|e| CliError::Usage(format!("--limits {}: {e}", cfg.dir.display())))?;
    if !meta.is_dir() {
        return Err(CliError::Usage(format!(
            "--limits {}: not a directory",
            cfg.dir.display()
        )));
    }
    let (fs_name, free) = statfs(&cfg.dir)
        .map_err(|e| CliError::Usage(format!("--limits {}: {e}", cfg.dir.display())))?;
    let size = cfg.size.div_ceil(IO_SIZE as u64).max(1) * IO_SIZE as u64;
    if free < size + (64 << 20) {
        return Err(CliError::Usage(format!(
            "--limits {}: {} free, the sequential test writes {} (lower --limits-size)",
            cfg.dir.display(),
            crate::output::human_bytes(free),
            crate::output::human_bytes(size)
        )));
    }
    let scratch = cfg
        .dir
        .join(format!(".trireme-bench-limits-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| {
        CliError::Usage(format!(
            "--limits: cannot create {}: {e}",
            scratch.display()
        ))
    })?;
    let result = run(cfg, &scratch, size, fs_name, say);
    // The scratch files go whatever happened.
    let _ = std::fs::remove_dir_all(&scratch);
    result.map_err(|e| CliError::Failed(format!("--limits {}: {e}", cfg.dir.display())))
}

fn run(
    cfg: &LimitsConfig,
    scratch: &Path,
    size: u64,
    filesystem: String,
    say: &dyn Fn(&str),
) -> std::io::Result<Ceilings> {
    let start = Instant::now();
    let human = crate::output::human_bytes;
    let file = scratch.join("sequential");
    let mut buf = Aligned::random(IO_SIZE, 0x6c696d69);
    say(&format!("limits: sequential write of {} ...", human(size)));
    let seq_write = seq_write(&file, size, &buf)?;
    say("limits: sequential read ...");
    let seq_read = seq_read(&file, &mut buf, false)?;
    // Once to fill the page cache, once timed.
    seq_read_cached(&file, &mut buf)?;
    let cached_read = seq_read_cached(&file, &mut buf)?;
    std::fs::remove_file(&file)?;
    let t = cfg.time;
    say(&format!(
        "limits: fsync'd 4 KiB writes at depth 1 and 16 ({}s each) ...",
        t.as_secs_f64()
    ));
    let fsync1 = fsync_rate(scratch, 1, t)?;
    let fsync16 = fsync_rate(scratch, 16, t)?;
    say("limits: loopback TCP and hash speeds ...");
    let loopback_bytes_per_s = loopback(t)?;
    let hashes = hash_speeds(t.min(Duration::from_secs(1)));
    Ok(Ceilings {
        dir: cfg.dir.clone(),
        filesystem,
        seq_write,
        seq_read,
        cached_read,
        fsync_4k_per_s_depth1: fsync1,
        fsync_4k_per_s_depth16: fsync16,
        loopback_bytes_per_s,
        hash_bytes_per_s: hashes,
        md5_lane_kernel: trireme_md5::lanes::best().map(|k| k.name()),
        mem_available_bytes: mem_available(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn seq_read_cached(file: &Path, buf: &mut Aligned) -> std::io::Result<Sequential> {
    seq_read(file, buf, true)
}

/// The filesystem's name and the bytes available to us.
fn statfs(dir: &Path) -> std::io::Result<(String, u64)> {
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("path contains a NUL byte"))?;
    // SAFETY: zeroed plain-old-data, filled by statfs.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a valid out pointer.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let name = match st.f_type as i64 {
        0xEF53 => "ext4".to_string(),
        0x5846_5342 => "xfs".to_string(),
        0x0102_1994 => "tmpfs".to_string(),
        0x9123_683E => "btrfs".to_string(),
        0x794C_7630 => "overlayfs".to_string(),
        0x2FC1_2FC1 => "zfs".to_string(),
        0x6969 => "nfs".to_string(),
        other => format!("0x{other:x}"),
    };
    let free = (st.f_bavail as u64).saturating_mul(st.f_bsize as u64);
    Ok((name, free))
}

/// MemAvailable from /proc/meminfo, in bytes.
pub fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_small_ceilings_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = LimitsConfig {
            dir: dir.path().to_path_buf(),
            size: 5 << 20,
            time: Duration::from_millis(50),
        };
        let c = measure(&cfg, &|_| {}).expect("measures");
        assert_eq!(c.seq_write.bytes, 8 << 20, "rounded up to 4 MiB requests");
        assert_eq!(c.seq_read.bytes, 8 << 20);
        assert!(c.fsync_4k_per_s_depth1 > 0.0 && c.fsync_4k_per_s_depth16 > 0.0);
        assert!(c.loopback_bytes_per_s > 0.0);
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
        let missing = LimitsConfig {
            dir: dir.path().join("nope"),
            ..cfg
        };
        assert_eq!(
            measure(&missing, &|_| {}).expect_err("missing").exit_code(),
            2
        );
    }
}
