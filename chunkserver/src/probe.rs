//! The disk health probe (blocking): check that the identity file still names this disk (an
//! unmounted or swapped disk fails), write 4 KiB of random bytes to `<disk>/.trireme-probe`,
//! fsync, read them back and compare. ENOSPC is "full", not a failure; any other error, or
//! different bytes, is a failed probe. The health worker runs it on the blocking pool under a
//! timeout, so a disk that stops answering fails too.
//!
//! The latency reported is that of the open, write, fsync and read only (not the identity
//! check, not generating the random bytes), minus the time the thread waited for a CPU
//! ([`crate::cpu_stall`]): on a CPU-starved machine a fast disk's probe stays fast.

use crate::cpu_stall::{IoTimer, Timed};
use crate::disk::{Disk, DiskIdentity, IDENTITY_FILE};
use crate::disk_health::ProbeResult;
use crate::fsutil::is_full;
use rand::RngCore;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};

/// The probe's scratch file at the root of each disk.
pub const PROBE_FILE: &str = ".trireme-probe";
/// Bytes written and read back by each probe.
pub const PROBE_BYTES: usize = 4096;

/// Probes `disk` once. Blocking.
pub fn probe(disk: &Disk) -> ProbeResult {
    match probe_io(disk) {
        Ok(timed) => ProbeResult::Ok(timed.disk()),
        Err((e, Some(timed))) if is_full(&e) => ProbeResult::Full(timed.disk()),
        Err((e, _)) => ProbeResult::Failed(e.to_string()),
    }
}

/// The probe; on an I/O error, how long the timed part ran until then.
fn probe_io(disk: &Disk) -> Result<Timed, (io::Error, Option<Timed>)> {
    check_identity(disk).map_err(|e| (e, None))?;
    let mut data = vec![0u8; PROBE_BYTES];
    rand::thread_rng().fill_bytes(&mut data);
    let mut back = vec![0u8; PROBE_BYTES];
    let timer = IoTimer::start();
    disk.inject_delay();
    write_read(disk, &data, &mut back).map_err(|e| (e, Some(timer.stop())))?;
    let timed = timer.stop();
    if back != data {
        return Err((io::Error::other("probe read back different bytes"), None));
    }
    Ok(timed)
}

fn check_identity(disk: &Disk) -> io::Result<()> {
    let identity = fs::read(disk.path.join(IDENTITY_FILE))
        .map_err(|e| io::Error::new(e.kind(), format!("read {IDENTITY_FILE}: {e}")))?;
    let identity: DiskIdentity = serde_json::from_slice(&identity)
        .map_err(|e| io::Error::other(format!("{IDENTITY_FILE} is unreadable: {e}")))?;
    if identity.disk_id != disk.id {
        return Err(io::Error::other(format!(
            "{IDENTITY_FILE} now names disk {}: disk replaced under a running chunkserver",
            identity.disk_id
        )));
    }
    Ok(())
}

/// Writes `data` to the probe file, fsyncs it and reads it back into `back`.
fn write_read(disk: &Disk, data: &[u8], back: &mut [u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(disk.path.join(PROBE_FILE))?;
    f.write_all(data)?;
    f.sync_all()?;
    f.seek(SeekFrom::Start(0))?;
    f.read_exact(back)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_a_good_disk_and_fails_a_removed_one() {
        let root = tempfile::tempdir().expect("tempdir");
        let path = root.path().join("d0");
        let disk = Disk::open(&path, "c1", 1).expect("open");
        assert!(matches!(probe(&disk), ProbeResult::Ok(_)));
        assert_eq!(
            fs::metadata(path.join(PROBE_FILE))
                .expect("probe file")
                .len(),
            PROBE_BYTES as u64
        );
        fs::remove_dir_all(&path).expect("remove the disk");
        assert!(matches!(probe(&disk), ProbeResult::Failed(_)));
    }

    #[test]
    fn a_swapped_identity_fails() {
        let root = tempfile::tempdir().expect("tempdir");
        let path = root.path().join("d0");
        let disk = Disk::open(&path, "c1", 1).expect("open");
        let other = DiskIdentity {
            format_version: 1,
            cluster_id: "c1".into(),
            chunkserver_id: 1,
            disk_id: trireme_api::ids::DiskId("0123456789abcdef".into()),
        };
        fs::write(
            path.join(IDENTITY_FILE),
            serde_json::to_vec(&other).expect("json"),
        )
        .expect("overwrite identity");
        match probe(&disk) {
            ProbeResult::Failed(e) => assert!(e.contains("replaced"), "{e}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
