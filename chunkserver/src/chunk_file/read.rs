//! Verified reads of the data after a decoded header: a range (every block it touches), or
//! all of it one block at a time (scrub and verification).

use super::check::Checker;
use super::{read_exact, ChunkHeader, FormatError};
use bytes::Bytes;
use std::io::{Read, Seek, SeekFrom};

/// Reads `[offset, offset+length)` of the data, verifying every block it touches (and the
/// whole-chunk digest when the range is the whole chunk).
pub fn read_range<R: Read + Seek>(
    r: &mut R,
    header: &ChunkHeader,
    offset: u64,
    length: u64,
) -> Result<Bytes, FormatError> {
    let end = offset
        .checked_add(length)
        .filter(|end| *end <= header.data_len);
    let Some(end) = end else {
        return Err(FormatError::OutOfRange {
            offset,
            length,
            data_len: header.data_len,
        });
    };
    if length == 0 {
        return Ok(Bytes::new());
    }
    let bs = header.block_size as u64;
    let first = offset / bs;
    let last = (end - 1) / bs;
    let span_start = first * bs;
    let span_end = ((last + 1) * bs).min(header.data_len);
    r.seek(SeekFrom::Start(header.encoded_len() + span_start))?;
    let mut span = vec![0u8; (span_end - span_start) as usize];
    read_exact(r, &mut span)?;
    let whole = offset == 0 && end == header.data_len;
    let mut checker = Checker::new(header, whole);
    for (i, block) in span.chunks(bs as usize).enumerate() {
        checker.block(first as usize + i, block)?;
    }
    if whole {
        checker.finish_whole()?;
    }
    let from = (offset - span_start) as usize;
    Ok(Bytes::from(span).slice(from..from + length as usize))
}

/// Reads all the data after a decoded header one block at a time, verifying every block and
/// the whole-chunk digest (scrub and verification; memory stays at one block).
pub fn verify_data<R: Read + Seek>(r: &mut R, header: &ChunkHeader) -> Result<(), FormatError> {
    r.seek(SeekFrom::Start(header.encoded_len()))?;
    let bs = header.block_size as u64;
    let mut buf = vec![0u8; header.block_size as usize];
    let mut checker = Checker::new(header, true);
    let mut left = header.data_len;
    for index in 0..header.block_digests.len() {
        let n = left.min(bs) as usize;
        let block = &mut buf[..n];
        read_exact(r, block)?;
        checker.block(index, block)?;
        left -= n as u64;
    }
    checker.finish_whole()
}
