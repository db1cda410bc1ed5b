//! Unit and property tests of the chunk file format.

use super::*;
use proptest::prelude::*;
use rand::{RngCore, SeedableRng};
use std::io::Cursor;

const ID: u128 = 0x0123_4567_89ab_cdef_0011_2233_4455_6677;

fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut v);
    v
}

fn file_for(data: &[u8]) -> Vec<u8> {
    let header = ChunkHeader::build(ID, data);
    let mut out = Vec::new();
    write_chunk(&mut out, &header, data).expect("write to a Vec");
    assert_eq!(out.len() as u64, header.file_len());
    out
}

/// Decodes the header and reads a range, as the store does.
fn read(file: &[u8], offset: u64, length: u64) -> Result<Bytes, FormatError> {
    let mut cur = Cursor::new(file);
    let header = ChunkHeader::decode(&mut cur, file.len() as u64, ID)?;
    read_range(&mut cur, &header, offset, length)
}

/// Decodes the header and verifies all the data, as scrub does.
fn verify(file: &[u8]) -> Result<(), FormatError> {
    let mut cur = Cursor::new(file);
    let header = ChunkHeader::decode(&mut cur, file.len() as u64, ID)?;
    verify_data(&mut cur, &header)
}

fn is_corrupt<T: std::fmt::Debug>(r: &Result<T, FormatError>) -> bool {
    matches!(r, Err(FormatError::Corrupt(_)))
}

/// Picks a range inside `len` from two fractions in [0, 1].
fn range_in(len: u64, a: f64, b: f64) -> (u64, u64) {
    let offset = (((len as f64) * a) as u64).min(len);
    let length = ((((len - offset) as f64) * b) as u64).min(len - offset);
    (offset, length)
}

#[test]
fn header_layout() {
    let d = data(3 * BLOCK_SIZE as usize + 5, 1);
    let h = ChunkHeader::build(ID, &d);
    assert_eq!(h.block_digests.len(), 4);
    assert_eq!(h.encoded_len(), 108 + 32 * 4);
    assert_eq!(&h.encode()[0..8], b"TRMCHUNK");
    assert_eq!(h.whole_hex(), blake3::hash(&d).to_hex().to_string());
}

#[test]
fn empty_chunk_round_trips() {
    let f = file_for(&[]);
    assert_eq!(f.len(), 108);
    assert_eq!(read(&f, 0, 0).expect("read").len(), 0);
    assert!(matches!(
        read(&f, 0, 1),
        Err(FormatError::OutOfRange { .. })
    ));
}

#[test]
fn out_of_range_and_overflow() {
    let f = file_for(&data(1000, 2));
    assert!(matches!(
        read(&f, 1001, 0),
        Err(FormatError::OutOfRange { .. })
    ));
    assert!(matches!(
        read(&f, 999, 2),
        Err(FormatError::OutOfRange { .. })
    ));
    assert!(matches!(
        read(&f, u64::MAX, 2),
        Err(FormatError::OutOfRange { .. })
    ));
    assert_eq!(read(&f, 1000, 0).expect("empty at end").len(), 0);
}

#[test]
fn wrong_chunk_id_is_corrupt() {
    let f = file_for(&data(10, 3));
    let r = ChunkHeader::decode(&mut Cursor::new(&f), f.len() as u64, ID + 1);
    assert!(is_corrupt(&r));
}

#[test]
fn trailing_bytes_are_corrupt() {
    let mut f = file_for(&data(10, 4));
    f.push(0);
    assert!(is_corrupt(&read(&f, 0, 1)));
}

#[test]
fn decode_round_trips_header() {
    let d = data(200_000, 5);
    let h = ChunkHeader::build(ID, &d);
    let f = file_for(&d);
    let got = ChunkHeader::decode(&mut Cursor::new(&f), f.len() as u64, ID).expect("decode");
    assert_eq!(got, h);
}

#[test]
fn swapped_blocks_are_corrupt() {
    let bs = BLOCK_SIZE as usize;
    let d = data(2 * bs, 6);
    let mut f = file_for(&d);
    let h = ChunkHeader::build(ID, &d).encoded_len() as usize;
    let (a, b) = f[h..].split_at_mut(bs);
    a.swap_with_slice(b);
    assert!(is_corrupt(&read(&f, 0, 1)));
    assert!(is_corrupt(&read(&f, bs as u64, 1)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(len in 0usize..400_000, seed: u64, a in 0.0f64..=1.0, b in 0.0f64..=1.0) {
        let d = data(len, seed);
        let f = file_for(&d);
        let (offset, length) = range_in(len as u64, a, b);
        let got = read(&f, offset, length).expect("read");
        prop_assert_eq!(&got[..], &d[offset as usize..(offset + length) as usize]);
        let whole = read(&f, 0, len as u64).expect("read whole");
        prop_assert_eq!(&whole[..], &d[..]);
    }

    #[test]
    fn any_flipped_byte_is_detected(
        len in 1usize..300_000,
        seed: u64,
        at in 0.0f64..1.0,
        bit in 0u8..8,
        a in 0.0f64..=1.0,
        b in 0.0f64..=1.0,
    ) {
        let d = data(len, seed);
        let mut f = file_for(&d);
        let header_len = ChunkHeader::build(ID, &d).encoded_len() as usize;
        let pos = ((f.len() as f64) * at) as usize;
        f[pos] ^= 1 << bit;
        let (offset, length) = range_in(len as u64, a, b);
        let got = read(&f, offset, length);
        if pos < header_len {
            prop_assert!(is_corrupt(&got), "header flip at {} not detected: {:?}", pos, got);
        } else {
            let block = ((pos - header_len) / BLOCK_SIZE as usize) as u64;
            let bs = BLOCK_SIZE as u64;
            let touches = length > 0 && offset / bs <= block && block <= (offset + length - 1) / bs;
            if touches {
                prop_assert!(is_corrupt(&got), "data flip at {} not detected: {:?}", pos, got);
            } else {
                let got = got.expect("untouched block reads fine");
                prop_assert_eq!(&got[..], &d[offset as usize..(offset + length) as usize]);
            }
        }
    }

    #[test]
    fn verify_data_detects_any_flipped_byte(
        len in 0usize..300_000,
        seed: u64,
        at in 0.0f64..1.0,
        bit in 0u8..8,
    ) {
        let d = data(len, seed);
        let mut f = file_for(&d);
        prop_assert!(verify(&f).is_ok());
        let pos = ((f.len() as f64) * at) as usize;
        f[pos] ^= 1 << bit;
        prop_assert!(is_corrupt(&verify(&f)), "flip at {} not detected", pos);
    }

    #[test]
    fn any_truncation_is_detected(
        len in 0usize..300_000,
        seed: u64,
        cut in 0.0f64..1.0,
        a in 0.0f64..=1.0,
        b in 0.0f64..=1.0,
    ) {
        let d = data(len, seed);
        let f = file_for(&d);
        let keep = ((f.len() as f64) * cut) as usize;
        let (offset, length) = range_in(len as u64, a, b);
        prop_assert!(is_corrupt(&read(&f[..keep], offset, length)));
        prop_assert!(is_corrupt(&verify(&f[..keep])));
    }

    #[test]
    fn small_block_sizes_round_trip(
        len in 0usize..50_000,
        seed: u64,
        a in 0.0f64..=1.0,
        b in 0.0f64..=1.0,
    ) {
        let d = data(len, seed);
        let h = ChunkHeader::build_with_block_size(ID, &d, MIN_BLOCK_SIZE);
        let mut f = Vec::new();
        write_chunk(&mut f, &h, &d).expect("write");
        let (offset, length) = range_in(len as u64, a, b);
        let got = read(&f, offset, length).expect("read");
        prop_assert_eq!(&got[..], &d[offset as usize..(offset + length) as usize]);
    }
}
