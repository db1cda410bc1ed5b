//! Identifiers. Chunk and disk ids are random, generated where they are born (the meta leader
//! for chunks, the chunkserver when it formats a disk), and travel as lowercase hex text.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A meta-server (Raft) node id.
pub type NodeId = u64;
/// A chunkserver id, fixed in its config.
pub type ChunkserverId = u64;

/// A disk's identity, written in the disk's identity file when it is formatted.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DiskId(pub String);

impl DiskId {
    /// A new random disk id (16 hex digits).
    pub fn random() -> Self {
        DiskId(format!("{:016x}", random_u64()))
    }

    /// True if the id is 1..=64 characters of `[0-9a-z-]` (safe in paths and URLs).
    pub fn is_valid(&self) -> bool {
        valid_token(&self.0)
    }
}

impl fmt::Display for DiskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A chunk id: 128 random bits as 32 hex digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChunkId(pub String);

impl ChunkId {
    /// Builds a chunk id from 128 bits.
    pub fn from_u128(v: u128) -> Self {
        ChunkId(format!("{v:032x}"))
    }

    /// True if the id is exactly 32 lowercase hex digits.
    pub fn is_valid(&self) -> bool {
        self.0.len() == 32
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-')
}

/// A random u64 from the OS, without pulling a RNG crate into the contract crate.
fn random_u64() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_id_validation() {
        assert!(ChunkId::from_u128(7).is_valid());
        assert!(!ChunkId("../etc".into()).is_valid());
        assert!(!ChunkId("ABCDEF00000000000000000000000000".into()).is_valid());
    }

    #[test]
    fn disk_ids_are_valid_and_distinct() {
        let a = DiskId::random();
        let b = DiskId::random();
        assert!(a.is_valid());
        assert_ne!(a, b);
        assert!(!DiskId("a/b".into()).is_valid());
    }
}
