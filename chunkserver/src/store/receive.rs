//! Receiving a chunk PUT body: the bytes are copied once, from the HTTP frames straight to
//! where they will sit in the chunk file, in a pooled aligned buffer (`store/pool.rs`) with
//! room for the header in front (its length follows from the data length, which the
//! request's Content-Length gives). Each 64 KiB block is hashed as soon as it is complete,
//! while it is still in the CPU cache: the only pass of BLAKE3 over the data, giving the
//! block digests and the whole-chunk digest at once (`chunk_file/tree.rs`). The write then
//! goes to the disk from that same buffer (`store/direct.rs`).
//!
//! A body longer or shorter than announced is `InvalidArgument` and nothing is stored.

use super::pool::{BufferPool, Lease, ALIGN};
use crate::chunk_file::{ChunkHeader, Digester, BLOCK_SIZE};
use crate::error::StoreError;
use std::sync::Arc;

/// Largest chunk body a PUT accepts.
pub const MAX_CHUNK_BYTES: usize = 64 * 1024 * 1024;

/// A chunk body being received (see the module doc).
#[derive(Debug)]
pub struct Incoming {
    lease: Lease,
    header_len: usize,
    data_len: usize,
    filled: usize,
    digester: Digester,
}

impl Incoming {
    /// Room for a chunk of `data_len` bytes (at most [`MAX_CHUNK_BYTES`]) and its header;
    /// waits while the pool lends out all it may.
    pub(super) async fn new(pool: &Arc<BufferPool>, data_len: u64) -> Result<Self, StoreError> {
        let data_len = usize::try_from(data_len)
            .ok()
            .filter(|len| *len <= MAX_CHUNK_BYTES)
            .ok_or_else(|| {
                StoreError::InvalidArgument(format!(
                    "a chunk of {data_len} bytes is larger than the limit of {MAX_CHUNK_BYTES}"
                ))
            })?;
        let header_len = ChunkHeader::encoded_len_for(data_len as u64) as usize;
        Ok(Incoming {
            lease: pool.take(header_len + data_len).await,
            header_len,
            data_len,
            filled: 0,
            digester: Digester::new(BLOCK_SIZE, data_len as u64),
        })
    }

    /// Appends the next bytes of the body, hashing every block they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes.len() > self.data_len - self.filled {
            return Err(StoreError::InvalidArgument(format!(
                "the chunk body is longer than its announced {} bytes",
                self.data_len
            )));
        }
        let at = self.header_len + self.filled;
        self.lease.buf_mut().bytes_mut()[at..at + bytes.len()].copy_from_slice(bytes);
        self.filled += bytes.len();
        self.hash_complete_blocks();
        Ok(())
    }

    /// Hashes the blocks received in full and not hashed yet (the last, short block once the
    /// body is complete).
    fn hash_complete_blocks(&mut self) {
        let bs = BLOCK_SIZE as usize;
        loop {
            let start = self.digester.blocks() * bs;
            let end = (start + bs).min(self.data_len);
            if start >= self.data_len || end > self.filled {
                return;
            }
            let data = self.lease.buf().bytes();
            self.digester
                .block(&data[self.header_len + start..self.header_len + end]);
        }
    }

    /// The received chunk, once the body is complete.
    pub fn finish(self) -> Result<Received, StoreError> {
        if self.filled != self.data_len {
            return Err(StoreError::InvalidArgument(format!(
                "the chunk body ended after {} of its announced {} bytes",
                self.filled, self.data_len
            )));
        }
        Ok(Received {
            header: self.digester.finish(0),
            lease: self.lease,
            header_len: self.header_len,
        })
    }
}

/// A complete chunk body, hashed, in its buffer.
#[derive(Debug)]
pub struct Received {
    lease: Lease,
    header_len: usize,
    /// Its header, but for the chunk id (given by [`Received::seal`]).
    header: ChunkHeader,
}

impl Received {
    /// Data length.
    pub fn data_len(&self) -> u64 {
        self.header.data_len
    }

    /// BLAKE3 of the data.
    pub fn whole(&self) -> [u8; 32] {
        self.header.whole
    }

    /// Writes the header for chunk `id` in front of the data, and returns it.
    pub fn seal(&mut self, id: u128) -> Result<ChunkHeader, StoreError> {
        self.header.chunk_id = id;
        let encoded = self.header.encode();
        if encoded.len() != self.header_len {
            return Err(StoreError::Internal(format!(
                "chunk header is {} bytes, {} were set aside",
                encoded.len(),
                self.header_len
            )));
        }
        self.lease.buf_mut().bytes_mut()[..encoded.len()].copy_from_slice(&encoded);
        Ok(self.header.clone())
    }

    /// Length of the chunk file (header and data).
    pub fn file_len(&self) -> usize {
        self.header_len + self.header.data_len as usize
    }

    /// The chunk file, once sealed.
    pub fn file(&self) -> &[u8] {
        &self.lease.buf().bytes()[..self.file_len()]
    }

    /// The chunk file padded with zeros to a multiple of [`ALIGN`] bytes, starting at an
    /// aligned address: what an `O_DIRECT` write takes.
    pub fn padded_file(&mut self) -> &[u8] {
        let len = self.file_len();
        let padded = len.div_ceil(ALIGN) * ALIGN;
        let bytes = self.lease.buf_mut().bytes_mut();
        bytes[len..padded].fill(0);
        &bytes[..padded]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk_file::read_range;
    use crate::store::pool::{IDLE_LIMIT, IN_USE_LIMIT};
    use rand::{Rng, RngCore, SeedableRng};
    use std::io::Cursor;

    fn data(len: usize, seed: u64) -> Vec<u8> {
        let mut v = vec![0u8; len];
        rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut v);
        v
    }

    fn pool() -> Arc<BufferPool> {
        BufferPool::new(IN_USE_LIMIT, IDLE_LIMIT)
    }

    /// Receives `d` in frames of random sizes.
    async fn receive(pool: &Arc<BufferPool>, d: &[u8], seed: u64) -> Received {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut incoming = Incoming::new(pool, d.len() as u64).await.expect("incoming");
        let mut rest = d;
        while !rest.is_empty() {
            let n = rng.gen_range(1..=rest.len().min(200_000));
            incoming.push(&rest[..n]).expect("push");
            rest = &rest[n..];
        }
        incoming.finish().expect("finish")
    }

    #[tokio::test]
    async fn a_received_chunk_is_its_chunk_file() {
        let pool = pool();
        let bs = BLOCK_SIZE as usize;
        for (i, len) in [0, 1, 1023, bs - 1, bs, bs + 1, 3 * bs + 5, 4 << 20]
            .into_iter()
            .enumerate()
        {
            let d = data(len, i as u64);
            let mut received = receive(&pool, &d, i as u64).await;
            assert_eq!(received.whole(), *blake3::hash(&d).as_bytes(), "{len}");
            let header = received.seal(77).expect("seal");
            assert_eq!(header, ChunkHeader::build(77, &d));
            assert_eq!(received.padded_file().as_ptr() as usize % ALIGN, 0);
            let padded = received.padded_file().to_vec();
            assert_eq!(padded.len() % ALIGN, 0);
            let file = received.file();
            assert!(padded.starts_with(file) && padded[file.len()..].iter().all(|b| *b == 0));
            let mut cur = Cursor::new(file);
            let h = ChunkHeader::decode(&mut cur, file.len() as u64, 77).expect("decode");
            let back = read_range(&mut cur, &h, 0, len as u64).expect("read");
            assert_eq!(back, d);
        }
    }

    #[tokio::test]
    async fn bodies_longer_or_shorter_than_announced_are_refused() {
        let pool = pool();
        let mut incoming = Incoming::new(&pool, 10).await.expect("incoming");
        incoming.push(&[1; 6]).expect("push");
        assert!(matches!(
            incoming.push(&[1; 5]),
            Err(StoreError::InvalidArgument(_))
        ));
        assert!(matches!(
            incoming.finish(),
            Err(StoreError::InvalidArgument(_))
        ));
        let too_big = MAX_CHUNK_BYTES as u64 + 1;
        assert!(matches!(
            Incoming::new(&pool, too_big).await,
            Err(StoreError::InvalidArgument(_))
        ));
        assert!(Incoming::new(&pool, u64::MAX).await.is_err());
    }

    #[tokio::test]
    async fn a_reused_buffer_holds_only_the_new_chunk() {
        let pool = pool();
        let mut first = receive(&pool, &data(300_000, 1), 1).await;
        first.seal(1).expect("seal");
        drop(first);
        let d = data(5000, 2);
        let mut second = receive(&pool, &d, 2).await;
        second.seal(2).expect("seal");
        let padded = second.padded_file().to_vec();
        assert_eq!(pool.idle_bytes(), 0, "the first buffer was reused");
        let len = second.file_len();
        assert!(padded[len..].iter().all(|b| *b == 0));
        assert!(padded[..len].ends_with(&d));
    }
}
