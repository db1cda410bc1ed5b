//! Verifying blocks read back against a decoded header, in either format version, and the
//! whole-chunk digest when every block was seen.

use super::tree::{block_cv, whole_from_cvs, Digest};
use super::{corrupt, ChunkHeader, FormatError, FORMAT_V1};

/// Checks the blocks of one chunk. With `whole`, the caller passes every block in order and
/// then [`Checker::finish_whole`] checks the whole-chunk digest too.
pub(super) struct Checker<'h> {
    header: &'h ChunkHeader,
    /// Version 1: the whole data hashed again as it goes by.
    v1_whole: Option<blake3::Hasher>,
    /// Version 2, one-block chunk: the root hash of block 0.
    first_root: Option<Digest>,
    whole: bool,
}

impl<'h> Checker<'h> {
    pub fn new(header: &'h ChunkHeader, whole: bool) -> Self {
        Checker {
            header,
            v1_whole: (whole && header.version == FORMAT_V1).then(blake3::Hasher::new),
            first_root: None,
            whole,
        }
    }

    /// Verifies block number `index`.
    pub fn block(&mut self, index: usize, block: &[u8]) -> Result<(), FormatError> {
        let header = self.header;
        let expected = header
            .block_digests
            .get(index)
            .ok_or_else(|| corrupt("block index past the header"))?;
        let actual = if header.version == FORMAT_V1 {
            if let Some(h) = &mut self.v1_whole {
                h.update(block);
            }
            *blake3::hash(block).as_bytes()
        } else {
            let alone = self.whole && header.block_digests.len() == 1;
            let (cv, root) = block_cv(block, index as u64, header.block_size, alone);
            if alone {
                self.first_root = root;
            }
            cv
        };
        if &actual != expected {
            return Err(corrupt(format!("block {index} digest mismatch")));
        }
        Ok(())
    }

    /// Checks the whole-chunk digest, after every block went through [`Checker::block`].
    pub fn finish_whole(self) -> Result<(), FormatError> {
        let header = self.header;
        let actual = if header.version == FORMAT_V1 {
            self.v1_whole.map(|h| *h.finalize().as_bytes())
        } else {
            whole_from_cvs(&header.block_digests, self.first_root)
        };
        if actual != Some(header.whole) {
            return Err(corrupt("whole-chunk digest mismatch"));
        }
        Ok(())
    }
}
