//! The read side of the store: a verified range read, and what a failed one sets off. A
//! corrupt replica (bad header or block) is quarantined and reported `Corrupt`; a missing
//! file is reported `Missing`; an I/O error counts against the disk and is reported
//! `IoError`. The request still gets its error. Blocking.

use super::io_fail;
use crate::chunk_file::{read_range, ChunkHeader, FormatError};
use crate::disk::Disk;
use crate::error::StoreError;
use crate::fsutil::is_io_failure;
use crate::quarantine::FileIdentity;
use crate::report::Reporter;
use crate::verify::set_aside;
use bytes::Bytes;
use std::fs::File;
use std::io;
use std::time::Instant;
use trireme_api::ids::ChunkId;
use trireme_api::meta::BadReplicaKind;

/// The requested range (defaults: from 0, to the end).
#[derive(Clone, Copy, Debug)]
pub(super) struct Range {
    pub offset: Option<u64>,
    pub length: Option<u64>,
}

/// Why a read failed, before its side effects.
enum Failure {
    Missing,
    /// The file failed verification.
    Corrupt {
        reason: String,
        file: FileIdentity,
    },
    /// The file verifies but is not the chunk the caller expects; the caller may be the one
    /// that is wrong, so the replica is left alone (the meta leader can verify it).
    Mismatch(String),
    Io {
        what: &'static str,
        error: io::Error,
    },
    OutOfRange(String),
}

pub(super) fn get_blocking(
    disk: &Disk,
    reporter: &Reporter,
    chunk: &ChunkId,
    id: u128,
    range: Range,
    expected: Option<[u8; 32]>,
) -> Result<Bytes, StoreError> {
    let start = Instant::now();
    disk.inject_delay();
    let failure = match read(disk, chunk, id, range, expected) {
        Ok(bytes) => {
            disk.monitor()
                .record_read(start.elapsed(), bytes.len() as u64);
            return Ok(bytes);
        }
        Err(f) => f,
    };
    let on_disk = &disk.id;
    match failure {
        Failure::Missing => {
            let reason = format!("chunk {chunk} is not on disk {on_disk}");
            reporter.report(on_disk, chunk, BadReplicaKind::Missing, &reason);
            Err(StoreError::NotFound(reason))
        }
        Failure::Corrupt { reason, file } => {
            tracing::warn!(disk = %on_disk, %chunk, %reason, "corrupt chunk replica");
            set_aside(disk, reporter, chunk, file, &reason);
            Err(StoreError::Corrupt(format!(
                "chunk {chunk} on disk {on_disk}: {reason}"
            )))
        }
        Failure::Mismatch(reason) => Err(StoreError::Corrupt(format!(
            "chunk {chunk} on disk {on_disk}: {reason}"
        ))),
        Failure::Io { what, error } => {
            if is_io_failure(&error) {
                let reason = format!("{what} chunk {chunk}: {error}");
                reporter.report(on_disk, chunk, BadReplicaKind::IoError, &reason);
            }
            Err(io_fail(disk, what, error))
        }
        Failure::OutOfRange(message) => Err(StoreError::InvalidArgument(message)),
    }
}

fn read(
    disk: &Disk,
    chunk: &ChunkId,
    id: u128,
    range: Range,
    expected: Option<[u8; 32]>,
) -> Result<Bytes, Failure> {
    let mut f = match File::open(disk.chunk_path(chunk)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Failure::Missing),
        Err(error) => {
            return Err(Failure::Io {
                what: "open chunk",
                error,
            })
        }
    };
    let meta = f.metadata().map_err(|error| Failure::Io {
        what: "stat chunk",
        error,
    })?;
    let file = FileIdentity::of(&meta);
    let format = |e: FormatError| match e {
        FormatError::Corrupt(reason) => Failure::Corrupt { reason, file },
        e @ FormatError::OutOfRange { .. } => Failure::OutOfRange(e.to_string()),
        FormatError::Io(error) => Failure::Io {
            what: "read chunk",
            error,
        },
    };
    let header = ChunkHeader::decode(&mut f, meta.len(), id).map_err(&format)?;
    if let Some(expected) = expected {
        if expected != header.whole {
            return Err(Failure::Mismatch(format!(
                "stored digest {} differs from the expected {}",
                header.whole_hex(),
                hex::encode(expected)
            )));
        }
    }
    let offset = range.offset.unwrap_or(0);
    let length = range
        .length
        .unwrap_or_else(|| header.data_len.saturating_sub(offset));
    read_range(&mut f, &header, offset, length).map_err(format)
}
