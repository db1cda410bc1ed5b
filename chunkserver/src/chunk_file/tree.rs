//! Version-2 block digests: each block's BLAKE3 chaining value at its offset, and the
//! whole-chunk BLAKE3 merged from them with BLAKE3's tree rule, so that the data is hashed
//! once (see the format doc in `chunk_file.rs`).
//!
//! Why this is sound: BLAKE3 hashes 1 KiB chunks into a binary tree whose left subtrees are
//! complete (a power of two of chunks) and at least as large as their right siblings. A block
//! of `2^k` KiB starting at a multiple of its size is therefore exactly one subtree (the last
//! block, possibly short, is the right edge), and the tree above the blocks splits `n` blocks
//! into the largest power of two below `n` on the left and the rest on the right, recursively.
//! The tests compare the result with `blake3::hash` for many lengths.

use super::{ChunkHeader, FORMAT_VERSION};
use blake3::hazmat::{merge_subtrees_non_root, merge_subtrees_root, HasherExt, Mode};

/// A 32-byte digest or chaining value.
pub type Digest = [u8; 32];

/// The chaining value of `block`, block number `index` of a chunk in blocks of `block_size`
/// bytes, and with `root` its root hash too (the whole-chunk digest of a one-block chunk).
///
/// `block` must be non-empty and at most `block_size` long, `block_size` a power of two of
/// at least 1 KiB: both hold for the blocks of a decoded or built header.
pub fn block_cv(block: &[u8], index: u64, block_size: u32, root: bool) -> (Digest, Option<Digest>) {
    let mut hasher = blake3::Hasher::new();
    hasher.set_input_offset(index * block_size as u64);
    hasher.update(block);
    let cv = hasher.finalize_non_root();
    let root = root.then(|| *hasher.finalize().as_bytes());
    (cv, root)
}

/// The whole-chunk BLAKE3 of a chunk whose blocks have chaining values `cvs`; `first_root`
/// is the root hash of block 0, needed (and only used) when there is exactly one block.
/// `None` when a one-block chunk comes without it.
pub fn whole_from_cvs(cvs: &[Digest], first_root: Option<Digest>) -> Option<Digest> {
    match cvs.len() {
        0 => Some(*blake3::hash(&[]).as_bytes()),
        1 => first_root,
        n => {
            let split = left_blocks(n);
            let (left, right) = (subtree(&cvs[..split]), subtree(&cvs[split..]));
            Some(*merge_subtrees_root(&left, &right, Mode::Hash).as_bytes())
        }
    }
}

/// The chaining value of the (non-root) subtree over `cvs` (at least one).
fn subtree(cvs: &[Digest]) -> Digest {
    if cvs.len() == 1 {
        return cvs[0];
    }
    let split = left_blocks(cvs.len());
    merge_subtrees_non_root(&subtree(&cvs[..split]), &subtree(&cvs[split..]), Mode::Hash)
}

/// How many of `n >= 2` blocks the left subtree holds: the largest power of two below `n`.
fn left_blocks(n: usize) -> usize {
    1 << ((n - 1).ilog2())
}

/// Hashes a chunk's data block by block, in order, into its version-2 header: the only pass
/// over the bytes a write makes.
#[derive(Debug)]
pub struct Digester {
    block_size: u32,
    data_len: u64,
    cvs: Vec<Digest>,
    first_root: Option<Digest>,
}

impl Digester {
    /// For a chunk of `data_len` bytes in blocks of `block_size` (a power of two, >= 1 KiB).
    pub fn new(block_size: u32, data_len: u64) -> Self {
        let blocks = data_len.div_ceil(block_size as u64);
        Digester {
            block_size,
            data_len,
            cvs: Vec::with_capacity(usize::try_from(blocks).unwrap_or(0)),
            first_root: None,
        }
    }

    /// Hashes the next block: every block but the last is exactly `block_size` long, the last
    /// one is not empty.
    pub fn block(&mut self, block: &[u8]) {
        let index = self.cvs.len() as u64;
        let alone = index == 0 && self.data_len <= self.block_size as u64;
        let (cv, root) = block_cv(block, index, self.block_size, alone);
        self.cvs.push(cv);
        if alone {
            self.first_root = root;
        }
    }

    /// Blocks hashed so far.
    pub fn blocks(&self) -> usize {
        self.cvs.len()
    }

    /// The whole-chunk BLAKE3, once every block is hashed (`None` before).
    pub fn whole(&self) -> Option<Digest> {
        let expected = self.data_len.div_ceil(self.block_size as u64);
        if self.cvs.len() as u64 != expected {
            return None;
        }
        whole_from_cvs(&self.cvs, self.first_root)
    }

    /// The header of the chunk, once every block is hashed (else its whole digest is zero,
    /// which no reader accepts).
    pub fn finish(self, chunk_id: u128) -> ChunkHeader {
        let whole = self.whole().unwrap_or([0; 32]);
        ChunkHeader {
            version: FORMAT_VERSION,
            chunk_id,
            data_len: self.data_len,
            block_size: self.block_size,
            block_digests: self.cvs,
            whole,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{RngCore, SeedableRng};

    const KIB: usize = 1024;

    fn data(len: usize, seed: u64) -> Vec<u8> {
        let mut v = vec![0u8; len];
        rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut v);
        v
    }

    fn whole(data: &[u8], block_size: u32) -> Digest {
        let mut d = Digester::new(block_size, data.len() as u64);
        for block in data.chunks(block_size as usize) {
            d.block(block);
        }
        d.whole().expect("every block hashed")
    }

    #[test]
    fn merged_block_cvs_equal_blake3_of_the_data() {
        let lengths = [
            0,
            1,
            1023,
            1024,
            1025,
            4 * KIB - 1,
            4 * KIB,
            4 * KIB + 1,
            64 * KIB - 1,
            64 * KIB,
            64 * KIB + 1,
            2 * 64 * KIB,
            3 * 64 * KIB + 5,
            5 * 64 * KIB,
            4096 * KIB - 1,
            4096 * KIB,
            4096 * KIB + 1,
        ];
        for (i, len) in lengths.into_iter().enumerate() {
            let d = data(len, i as u64);
            for block_size in [4 * KIB as u32, 64 * KIB as u32, 1 << 20] {
                assert_eq!(
                    whole(&d, block_size),
                    *blake3::hash(&d).as_bytes(),
                    "length {len}, block size {block_size}"
                );
            }
        }
    }

    #[test]
    fn left_subtree_is_the_largest_power_of_two_below() {
        let cases = [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (64, 32),
            (65, 64),
        ];
        for (n, left) in cases {
            assert_eq!(left_blocks(n), left, "{n} blocks");
        }
    }

    #[test]
    fn a_block_cv_depends_on_its_offset() {
        let block = data(64 * KIB, 7);
        let (a, _) = block_cv(&block, 1, 64 * KIB as u32, false);
        let (b, _) = block_cv(&block, 2, 64 * KIB as u32, false);
        assert_ne!(a, b);
        assert_ne!(a, *blake3::hash(&block).as_bytes());
    }

    #[test]
    fn whole_is_none_until_every_block_is_hashed() {
        let d = data(3 * 64 * KIB, 8);
        let mut digester = Digester::new(64 * KIB as u32, d.len() as u64);
        for block in d.chunks(64 * KIB).take(2) {
            digester.block(block);
        }
        assert_eq!(digester.whole(), None);
        assert_eq!(whole_from_cvs(&[[1; 32]], None), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn random_lengths_hash_like_blake3(len in 0usize..2_000_000, seed: u64, shift in 0u32..5) {
            let d = data(len, seed);
            let block_size = (4 * KIB as u32) << (2 * shift);
            prop_assert_eq!(whole(&d, block_size), *blake3::hash(&d).as_bytes());
        }
    }
}
