//! The chunk file format of the chunkserver (`chunk_file`): `ChunkHeader::decode`, the
//! verified range read and the full verification over arbitrary file bytes, and the
//! encoder/decoder round trip.
//!
//! Input: one selector byte, then either a whole chunk file (selector even) or chunk data
//! (odd; repeated up to 64 times so chunks span several 64 KiB blocks).
//! Asserts, for arbitrary files: no panic, no allocation past `-malloc_limit_mb` from a
//! forged length; a header that decodes re-encodes to the bytes it was read from, describes
//! a file of exactly the given length, and every range read that passes verification
//! returns the file's own bytes. For the round trip: `decode(encode(build(data)))` is the
//! built header, every range reads back the data, and any single flipped byte in the file
//! fails the header decode or the verification of the blocks that hold it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use trireme_chunkserver::chunk_file::{read_range, verify_data, ChunkHeader, FormatError};

const ID: u128 = 0x0123_4567_89ab_cdef_0011_2233_4455_6677;

fn decode(file: &[u8], id: u128) -> Result<ChunkHeader, FormatError> {
    ChunkHeader::decode(&mut Cursor::new(file), file.len() as u64, id)
}

/// A few (offset, length) pairs spread over `len` bytes, from `seed`.
fn ranges(len: u64, seed: u8) -> Vec<(u64, u64)> {
    let s = u64::from(seed);
    let mut out = vec![
        (0, len),
        (0, 0),
        (len, 0),
        (len / 2, len - len / 2),
        (0, len + 1),
    ];
    if len > 0 {
        let off = (s * 7919) % len;
        out.push((off, (len - off).min(s * 131 + 1)));
        out.push((len - 1, 1));
        out.push((off, u64::MAX));
    }
    out
}

fn arbitrary_file(seed: u8, file: &[u8]) {
    // The id the file names in its header, so the checks past the id are reached too.
    let id = file
        .get(12..28)
        .and_then(|b| b.try_into().ok())
        .map_or(ID, u128::from_be_bytes);
    let Ok(h) = decode(file, id) else { return };
    assert_eq!(h.file_len(), file.len() as u64);
    let hlen = h.encoded_len() as usize;
    assert_eq!(
        h.encode(),
        file[..hlen],
        "the header does not re-encode to its bytes"
    );
    let _ = verify_data(&mut Cursor::new(file), &h);
    for (offset, length) in ranges(h.data_len, seed) {
        if let Ok(b) = read_range(&mut Cursor::new(file), &h, offset, length) {
            let at = hlen + offset as usize;
            assert_eq!(b[..], file[at..at + length as usize]);
        }
    }
}

fn round_trip(seed: u8, data: &[u8]) {
    let data = data.repeat(usize::from(seed / 2 % 64) + 1);
    let h = ChunkHeader::build(ID, &data);
    let mut file = h.encode();
    file.extend_from_slice(&data);
    let back = decode(&file, ID).expect("a built chunk file decodes");
    assert_eq!(back, h);
    verify_data(&mut Cursor::new(&file[..]), &h).expect("a built chunk file verifies");
    let len = data.len() as u64;
    for (offset, length) in ranges(len, seed) {
        let r = read_range(&mut Cursor::new(&file[..]), &h, offset, length);
        match offset.checked_add(length) {
            Some(end) if end <= len => {
                let b = r.expect("a range inside the chunk reads");
                assert_eq!(b[..], data[offset as usize..end as usize]);
            }
            _ => assert!(matches!(r, Err(FormatError::OutOfRange { .. }))),
        }
    }
    // One flipped byte anywhere is caught.
    if file.is_empty() {
        return;
    }
    let at = (usize::from(seed) * 104_729 + data.len()) % file.len();
    file[at] ^= 1 << (seed % 8);
    let hlen = h.encoded_len() as usize;
    match decode(&file, ID) {
        Err(_) => {}
        Ok(bad) => {
            assert!(at >= hlen, "a flipped header byte {at} went unnoticed");
            assert!(verify_data(&mut Cursor::new(&file[..]), &bad).is_err());
            let block = (at - hlen) as u64 / u64::from(bad.block_size);
            let off = block * u64::from(bad.block_size);
            let r = read_range(&mut Cursor::new(&file[..]), &bad, off, 1);
            assert!(r.is_err(), "a flipped data byte {at} read back");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    if seed % 2 == 0 {
        arbitrary_file(seed, rest);
    } else {
        round_trip(seed, rest);
    }
});
