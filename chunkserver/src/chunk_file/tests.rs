//! Unit and property tests of the chunk file format.

use super::*;
use bytes::Bytes;
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
    file_with(&ChunkHeader::build(ID, data), data)
}

fn file_with(header: &ChunkHeader, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_chunk(&mut out, header, data).expect("write to a Vec");
    assert_eq!(out.len() as u64, header.file_len());
    out
}

/// The version-1 encoder, as it was before the single-pass hashing: every block hashed on
/// its own with `blake3::hash`, then the whole data again.
pub(crate) fn header_v1(chunk_id: u128, data: &[u8], block_size: u32) -> ChunkHeader {
    ChunkHeader {
        version: FORMAT_V1,
        chunk_id,
        data_len: data.len() as u64,
        block_size,
        block_digests: data
            .chunks(block_size as usize)
            .map(|b| *blake3::hash(b).as_bytes())
            .collect(),
        whole: *blake3::hash(data).as_bytes(),
    }
}

fn file_v1(data: &[u8]) -> Vec<u8> {
    file_with(&header_v1(ID, data, BLOCK_SIZE), data)
}

/// Both versions' files for `data`.
fn files_for(data: &[u8]) -> [Vec<u8>; 2] {
    [file_v1(data), file_for(data)]
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
    assert_eq!(
        ChunkHeader::encoded_len_for(d.len() as u64),
        h.encoded_len()
    );
    let encoded = h.encode();
    assert_eq!(&encoded[0..8], b"TRMCHUNK");
    assert_eq!(encoded[8..12], 2u32.to_le_bytes(), "version 2 is written");
    assert_eq!(h.whole_hex(), blake3::hash(&d).to_hex().to_string());
}

#[test]
fn the_whole_digest_is_blake3_of_the_data_for_many_lengths() {
    let bs = BLOCK_SIZE as usize;
    let lengths = [
        0,
        1,
        1023,
        1024,
        1025,
        bs - 1,
        bs,
        bs + 1,
        3 * bs + 5,
        4 << 20,
    ];
    for len in lengths {
        let d = data(len, len as u64);
        let h = ChunkHeader::build(ID, &d);
        assert_eq!(h.whole, *blake3::hash(&d).as_bytes(), "length {len}");
        let f = file_for(&d);
        assert!(verify(&f).is_ok(), "length {len}");
        assert_eq!(read(&f, 0, len as u64).expect("read whole"), d);
    }
}

#[test]
fn version_1_files_are_still_read_and_verified() {
    let bs = BLOCK_SIZE as usize;
    for len in [0, 1, bs, 3 * bs + 5] {
        let d = data(len, 10 + len as u64);
        let f = file_v1(&d);
        assert_eq!(f[8..12], 1u32.to_le_bytes());
        let h = ChunkHeader::decode(&mut Cursor::new(&f), f.len() as u64, ID).expect("decode");
        assert_eq!(h, header_v1(ID, &d, BLOCK_SIZE));
        assert!(verify(&f).is_ok(), "length {len}");
        assert_eq!(read(&f, 0, len as u64).expect("whole"), d);
        if len > 2 {
            assert_eq!(read(&f, 1, len as u64 - 2).expect("range"), d[1..len - 1]);
        }
    }
}

#[test]
fn digests_of_the_other_version_are_corrupt() {
    let d = data(3 * BLOCK_SIZE as usize + 5, 11);
    // Version-1 digests labelled version 2, and the reverse: every block fails.
    let mut h = header_v1(ID, &d, BLOCK_SIZE);
    h.version = FORMAT_VERSION;
    let f = file_with(&h, &d);
    assert!(is_corrupt(&read(&f, 0, 1)));
    assert!(is_corrupt(&verify(&f)));
    let mut h = ChunkHeader::build(ID, &d);
    h.version = FORMAT_V1;
    let f = file_with(&h, &d);
    assert!(is_corrupt(&read(&f, BLOCK_SIZE as u64, 1)));
    assert!(is_corrupt(&verify(&f)));
}

#[test]
fn a_wrong_whole_digest_is_caught_by_whole_reads_and_verification() {
    for len in [
        1usize,
        1000,
        BLOCK_SIZE as usize,
        2 * BLOCK_SIZE as usize + 1,
    ] {
        let d = data(len, 12);
        for mut h in [ChunkHeader::build(ID, &d), header_v1(ID, &d, BLOCK_SIZE)] {
            h.whole[0] ^= 1;
            // The header checksum is recomputed: only the digest itself is wrong.
            let f = file_with(&h, &d);
            assert!(is_corrupt(&verify(&f)), "length {len}, v{}", h.version);
            assert!(is_corrupt(&read(&f, 0, len as u64)), "length {len}");
        }
    }
}

#[test]
fn unknown_versions_are_corrupt() {
    let d = data(100, 13);
    let mut h = ChunkHeader::build(ID, &d);
    h.version = 3;
    let f = file_with(&h, &d);
    assert!(is_corrupt(&read(&f, 0, 1)));
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
    for mut f in files_for(&d) {
        let h = ChunkHeader::build(ID, &d).encoded_len() as usize;
        let (a, b) = f[h..].split_at_mut(bs);
        a.swap_with_slice(b);
        assert!(is_corrupt(&read(&f, 0, 1)));
        assert!(is_corrupt(&read(&f, bs as u64, 1)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(len in 0usize..400_000, seed: u64, a in 0.0f64..=1.0, b in 0.0f64..=1.0) {
        let d = data(len, seed);
        prop_assert_eq!(ChunkHeader::build(ID, &d).whole, *blake3::hash(&d).as_bytes());
        for f in files_for(&d) {
            let (offset, length) = range_in(len as u64, a, b);
            let got = read(&f, offset, length).expect("read");
            prop_assert_eq!(&got[..], &d[offset as usize..(offset + length) as usize]);
            let whole = read(&f, 0, len as u64).expect("read whole");
            prop_assert_eq!(&whole[..], &d[..]);
            prop_assert!(verify(&f).is_ok());
        }
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
        for mut f in files_for(&d) {
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
                let touches =
                    length > 0 && offset / bs <= block && block <= (offset + length - 1) / bs;
                if touches {
                    prop_assert!(is_corrupt(&got), "data flip at {} not detected: {:?}", pos, got);
                } else {
                    let got = got.expect("untouched block reads fine");
                    prop_assert_eq!(&got[..], &d[offset as usize..(offset + length) as usize]);
                }
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
        for mut f in files_for(&d) {
            prop_assert!(verify(&f).is_ok());
            let pos = ((f.len() as f64) * at) as usize;
            f[pos] ^= 1 << bit;
            prop_assert!(is_corrupt(&verify(&f)), "flip at {} not detected", pos);
        }
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
        for f in files_for(&d) {
            let keep = ((f.len() as f64) * cut) as usize;
            let (offset, length) = range_in(len as u64, a, b);
            prop_assert!(is_corrupt(&read(&f[..keep], offset, length)));
            prop_assert!(is_corrupt(&verify(&f[..keep])));
        }
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
        prop_assert_eq!(h.whole, *blake3::hash(&d).as_bytes());
        for h in [h, header_v1(ID, &d, MIN_BLOCK_SIZE)] {
            let f = file_with(&h, &d);
            let (offset, length) = range_in(len as u64, a, b);
            let got = read(&f, offset, length).expect("read");
            prop_assert_eq!(&got[..], &d[offset as usize..(offset + length) as usize]);
            prop_assert!(verify(&f).is_ok());
        }
    }
}
