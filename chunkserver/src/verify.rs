//! Full verification of one replica (header, every block digest, the whole BLAKE3, and
//! optionally the digest the metadata records), and what happens to a bad one: a corrupt
//! replica is counted, quarantined and reported `Corrupt`; a missing one reported `Missing`;
//! one the disk cannot read (EIO, EROFS...) counts against the disk's health and is reported
//! `IoError`. Used by scrub, `POST /v1/chunk/verify` and the write path. Blocking.

use crate::chunk_file::{verify_data, ChunkHeader, FormatError};
use crate::disk::Disk;
use crate::fsutil::is_io_failure;
use crate::quarantine::{quarantine, FileIdentity};
use crate::report::Reporter;
use std::fs::File;
use std::io;
use trireme_api::ids::ChunkId;
use trireme_api::meta::BadReplicaKind;

/// What reading a whole replica found.
#[derive(Debug)]
pub enum Verdict {
    Good {
        whole: [u8; 32],
        file_len: u64,
    },
    Missing,
    Corrupt {
        reason: String,
        file: FileIdentity,
    },
    Io {
        what: &'static str,
        error: io::Error,
    },
}

/// Reads and verifies the whole replica of `chunk` (numeric id `id`) on `disk`.
pub fn verify_replica(
    disk: &Disk,
    chunk: &ChunkId,
    id: u128,
    expected: Option<[u8; 32]>,
) -> Verdict {
    disk.inject_delay();
    let mut f = match File::open(disk.chunk_path(chunk)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Verdict::Missing,
        Err(error) => {
            return Verdict::Io {
                what: "open",
                error,
            }
        }
    };
    let meta = match f.metadata() {
        Ok(m) => m,
        Err(error) => {
            return Verdict::Io {
                what: "stat",
                error,
            }
        }
    };
    let file = FileIdentity::of(&meta);
    let checked = ChunkHeader::decode(&mut f, meta.len(), id)
        .and_then(|header| verify_data(&mut f, &header).map(|()| header));
    let header = match checked {
        Ok(h) => h,
        Err(FormatError::Corrupt(reason)) => return Verdict::Corrupt { reason, file },
        Err(FormatError::Io(error)) => {
            return Verdict::Io {
                what: "read",
                error,
            }
        }
        Err(e @ FormatError::OutOfRange { .. }) => {
            let reason = e.to_string();
            return Verdict::Corrupt { reason, file };
        }
    };
    match expected {
        Some(want) if want != header.whole => Verdict::Corrupt {
            reason: format!(
                "replica holds digest {}, the metadata records {}",
                header.whole_hex(),
                hex::encode(want)
            ),
            file,
        },
        _ => Verdict::Good {
            whole: header.whole,
            file_len: meta.len(),
        },
    }
}

/// How a check ended, for counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Good,
    Missing,
    Corrupt,
    /// The disk failed to read it (counted against the disk).
    IoError,
    /// Another error (e.g. permissions): logged only.
    Error,
}

/// The result of [`check_replica`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub outcome: Outcome,
    /// Why it is bad, in words.
    pub reason: Option<String>,
    /// The replica was moved to quarantine.
    pub quarantined: bool,
    /// Bytes read (the file length when it could be read).
    pub file_len: u64,
}

/// Verifies a replica and deals with a bad one (see the module doc). A missing replica is
/// reported only when `report_missing` (scrub lists then reads, and a file deleted in
/// between by garbage collection is not a loss).
pub fn check_replica(
    disk: &Disk,
    reporter: &Reporter,
    chunk: &ChunkId,
    id: u128,
    expected: Option<[u8; 32]>,
    report_missing: bool,
) -> Checked {
    let checked = |outcome, reason: String, quarantined| Checked {
        outcome,
        reason: Some(reason),
        quarantined,
        file_len: 0,
    };
    match verify_replica(disk, chunk, id, expected) {
        Verdict::Good { file_len, .. } => Checked {
            outcome: Outcome::Good,
            reason: None,
            quarantined: false,
            file_len,
        },
        Verdict::Missing => {
            let reason = format!("chunk {chunk} is not on disk {}", disk.id);
            if report_missing {
                reporter.report(&disk.id, chunk, BadReplicaKind::Missing, &reason);
            }
            checked(Outcome::Missing, reason, false)
        }
        Verdict::Corrupt { reason, file } => {
            let quarantined = set_aside(disk, reporter, chunk, file, &reason);
            checked(Outcome::Corrupt, reason, quarantined)
        }
        Verdict::Io { what, error } => {
            let reason = format!("{what} chunk {chunk}: {error}");
            if is_io_failure(&error) {
                disk.monitor().io_error(&reason);
                reporter.report(&disk.id, chunk, BadReplicaKind::IoError, &reason);
                checked(Outcome::IoError, reason, false)
            } else {
                tracing::warn!(disk = %disk.id, %chunk, %reason, "cannot verify replica");
                checked(Outcome::Error, reason, false)
            }
        }
    }
}

/// Counts a corrupt replica, quarantines the file that was verified and reports it.
/// Returns whether it was moved. A file replaced meanwhile by a new write is left alone
/// and not reported.
pub fn set_aside(
    disk: &Disk,
    reporter: &Reporter,
    chunk: &ChunkId,
    file: FileIdentity,
    reason: &str,
) -> bool {
    disk.monitor().corrupt_replica(reason);
    let moved = match quarantine(disk, chunk, Some(file)) {
        Ok(Some(_)) => true,
        Ok(None) => return false,
        Err(e) => {
            let what = format!("quarantine chunk {chunk}: {e}");
            tracing::error!(disk = %disk.id, %chunk, error = %e, "cannot quarantine replica");
            if is_io_failure(&e) {
                disk.monitor().io_error(&what);
            }
            false
        }
    };
    reporter.report(&disk.id, chunk, BadReplicaKind::Corrupt, reason);
    moved
}
