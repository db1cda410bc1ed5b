//! The chunk file format: a self-verifying header followed by the chunk's bytes.
//!
//! ```text
//! offset     size    field
//! 0          8       magic "TRMCHUNK"
//! 8          4       format version, u32 LE (2 is written; 1 is still read)
//! 12         16      chunk id, u128 big-endian (the 32 hex digits of its name)
//! 28         8       data length, u64 LE
//! 36         4       block size, u32 LE (64 KiB when written; a power of two, 4 KiB..16 MiB)
//! 40         4       number of blocks n = ceil(data length / block size), u32 LE
//! 44         32*n    the digest of each block (the last block may be short), see below
//! 44+32n     32      BLAKE3 of the whole data (`blake3::hash(data)`, in both versions)
//! 76+32n     32      BLAKE3 of every header byte before this field (header checksum)
//! 108+32n    len     data
//! ```
//!
//! Block digests:
//! - Version 2: the BLAKE3 *chaining value* of block `i` as a non-root subtree starting at
//!   byte `i * block size` of the chunk (`blake3::hazmat`: `set_input_offset`, then
//!   `finalize_non_root`). The block size is a power-of-two multiple of BLAKE3's 1 KiB chunk,
//!   so every block is a complete subtree of the chunk's BLAKE3 tree and the whole-chunk
//!   digest follows from the block digests alone: merge them with BLAKE3's tree rule (the
//!   left subtree holds the largest power-of-two number of blocks that leaves at least one
//!   for the right; parents are non-root except the top one). A one-block chunk's whole
//!   digest is the root hash of that block, an empty chunk's is `blake3::hash(b"")`. Writing
//!   a chunk therefore hashes each byte once (see `chunk_file/tree.rs`), and verifying all of
//!   it too. A chaining value depends on the block's offset, so a block moved elsewhere in
//!   the file fails verification.
//! - Version 1 (written before the single-pass hashing): `blake3::hash(block)`; the
//!   whole-chunk digest is checked by hashing the data a second time.
//!
//! Readers check the header checksum, the chunk id, and that the file is exactly header plus
//! data long, then verify every block they return (for version 2 by recomputing the block's
//! chaining value at its offset), and the whole-chunk digest when they read the whole chunk.
//! Any disagreement is [`FormatError::Corrupt`]; bytes that failed verification are never
//! returned.

mod check;
mod read;
mod tree;

pub use read::{read_range, verify_data};
pub use tree::Digester;

use std::io::{self, Read, Write};

/// The first eight bytes of every chunk file.
pub const MAGIC: [u8; 8] = *b"TRMCHUNK";
/// The format version this code writes (block digests are chaining values).
pub const FORMAT_VERSION: u32 = 2;
/// The first format version, still read and verified (block digests are plain BLAKE3).
pub const FORMAT_V1: u32 = 1;
/// Block size of the per-block digests.
pub const BLOCK_SIZE: u32 = 64 * 1024;

const PREFIX_LEN: usize = 44;
const DIGEST_LEN: usize = 32;
const MIN_BLOCK_SIZE: u32 = 4 * 1024;
const MAX_BLOCK_SIZE: u32 = 16 * 1024 * 1024;

/// Errors reading or verifying a chunk file.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file is not a valid chunk file or failed verification.
    #[error("corrupt chunk file: {0}")]
    Corrupt(String),
    /// The requested range does not lie inside the chunk.
    #[error("range offset {offset} length {length} is outside the chunk of {data_len} bytes")]
    OutOfRange {
        offset: u64,
        length: u64,
        data_len: u64,
    },
    #[error(transparent)]
    Io(#[from] io::Error),
}

fn corrupt(msg: impl Into<String>) -> FormatError {
    FormatError::Corrupt(msg.into())
}

/// Maps a short read to `Corrupt` (the file is truncated), keeping other I/O errors.
fn read_exact<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<(), FormatError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => corrupt("file is truncated"),
        _ => FormatError::Io(e),
    })
}

/// The decoded, verified header of a chunk file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkHeader {
    /// [`FORMAT_VERSION`] or [`FORMAT_V1`]: how the block digests were made.
    pub version: u32,
    pub chunk_id: u128,
    pub data_len: u64,
    pub block_size: u32,
    pub block_digests: Vec<[u8; 32]>,
    pub whole: [u8; 32],
}

impl ChunkHeader {
    /// The header for `data` with the standard block size (hashes the data once).
    pub fn build(chunk_id: u128, data: &[u8]) -> Self {
        Self::build_with_block_size(chunk_id, data, BLOCK_SIZE)
    }

    fn build_with_block_size(chunk_id: u128, data: &[u8], block_size: u32) -> Self {
        let mut digester = Digester::new(block_size, data.len() as u64);
        for block in data.chunks(block_size as usize) {
            digester.block(block);
        }
        digester.finish(chunk_id)
    }

    /// The whole-chunk digest as lowercase hex.
    pub fn whole_hex(&self) -> String {
        hex::encode(self.whole)
    }

    /// Length in bytes of the encoded header, i.e. the data's offset in the file.
    pub fn encoded_len(&self) -> u64 {
        header_len(self.block_digests.len() as u64)
    }

    /// Length of the header of a chunk of `data_len` bytes in standard blocks.
    pub fn encoded_len_for(data_len: u64) -> u64 {
        header_len(data_len.div_ceil(BLOCK_SIZE as u64))
    }

    /// Length in bytes of the whole chunk file.
    pub fn file_len(&self) -> u64 {
        self.encoded_len() + self.data_len
    }

    /// The header bytes, checksum included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len() as usize);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.chunk_id.to_be_bytes());
        out.extend_from_slice(&self.data_len.to_le_bytes());
        out.extend_from_slice(&self.block_size.to_le_bytes());
        out.extend_from_slice(&(self.block_digests.len() as u32).to_le_bytes());
        for d in &self.block_digests {
            out.extend_from_slice(d);
        }
        out.extend_from_slice(&self.whole);
        let checksum = blake3::hash(&out);
        out.extend_from_slice(checksum.as_bytes());
        out
    }

    /// Reads and verifies the header at the start of a file of `file_len` bytes named for
    /// `expected_id`. Leaves the reader somewhere after the header.
    pub fn decode<R: Read>(
        r: &mut R,
        file_len: u64,
        expected_id: u128,
    ) -> Result<Self, FormatError> {
        if file_len < PREFIX_LEN as u64 {
            return Err(corrupt(format!(
                "file of {file_len} bytes is shorter than a header"
            )));
        }
        let mut prefix = [0u8; PREFIX_LEN];
        read_exact(r, &mut prefix)?;
        if prefix[0..8] != MAGIC {
            return Err(corrupt("bad magic"));
        }
        let version = u32::from_le_bytes(field(&prefix, 8));
        if version != FORMAT_VERSION && version != FORMAT_V1 {
            return Err(corrupt(format!("unsupported format version {version}")));
        }
        let chunk_id = u128::from_be_bytes(field(&prefix, 12));
        let data_len = u64::from_le_bytes(field(&prefix, 28));
        let block_size = u32::from_le_bytes(field(&prefix, 36));
        let blocks = u32::from_le_bytes(field(&prefix, 40)) as u64;
        if !block_size.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&block_size)
        {
            return Err(corrupt(format!("bad block size {block_size}")));
        }
        if blocks != data_len.div_ceil(block_size as u64) {
            return Err(corrupt(format!(
                "{blocks} blocks do not cover {data_len} bytes"
            )));
        }
        let expected_len = header_len(blocks).checked_add(data_len);
        if expected_len != Some(file_len) {
            return Err(corrupt(format!(
                "file is {file_len} bytes, header says {expected_len:?}"
            )));
        }
        // `blocks` is now bounded by the file's real length, so this allocation is too.
        let mut rest = vec![0u8; (header_len(blocks) as usize) - PREFIX_LEN];
        read_exact(r, &mut rest)?;
        let (body, checksum) = rest.split_at(rest.len() - DIGEST_LEN);
        let mut hasher = blake3::Hasher::new();
        hasher.update(&prefix);
        hasher.update(body);
        if hasher.finalize().as_bytes() != checksum {
            return Err(corrupt("header checksum mismatch"));
        }
        if chunk_id != expected_id {
            return Err(corrupt(format!(
                "header names chunk {chunk_id:032x}, file is {expected_id:032x}"
            )));
        }
        let (digests, whole) = body.split_at(body.len() - DIGEST_LEN);
        Ok(ChunkHeader {
            version,
            chunk_id,
            data_len,
            block_size,
            block_digests: digests
                .chunks_exact(DIGEST_LEN)
                .map(|d| field(d, 0))
                .collect(),
            whole: field(whole, 0),
        })
    }
}

fn header_len(blocks: u64) -> u64 {
    PREFIX_LEN as u64 + DIGEST_LEN as u64 * blocks + 2 * DIGEST_LEN as u64
}

/// `N` bytes of `buf` at `at`; callers pass ranges inside `buf`.
fn field<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[at..at + N]);
    out
}

/// Writes a whole chunk file (header then data) through a writer. The caller fsyncs. (The
/// store writes from its own buffer instead: `store/receive.rs`.)
pub fn write_chunk<W: Write>(w: &mut W, header: &ChunkHeader, data: &[u8]) -> io::Result<()> {
    w.write_all(&header.encode())?;
    w.write_all(data)
}

#[cfg(test)]
mod tests;
