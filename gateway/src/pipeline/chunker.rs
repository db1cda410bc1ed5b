//! Cutting a PUT body into chunks while hashing it: BLAKE3 per chunk (stored in the chunk
//! list and checked by chunkservers), MD5 over the whole object (the ETag).
//!
//! MD5 of bodies of a megabyte and more goes to the process's MD5 lanes (`trireme-md5`), which
//! hash sixteen concurrent uploads for about the CPU of one; each finished chunk is handed over
//! whole, and the digest is awaited at the end of the body.
//!
//! [`Chunker`] is the pure part (bytes in, chunks out); [`ChunkSource`] drives it from the
//! client's body stream, enforcing the size limit and classifying body errors.

use crate::error::{BodyError, PutError, ReadError};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use s3s::checksum::ChecksumHasher;
use s3s::dto::Checksum;
use trireme_md5::Md5Stream;

/// One chunk of an object, ready to be written.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Position of the chunk in the object (0-based).
    pub index: usize,
    pub data: Bytes,
    /// BLAKE3 of `data`, lowercase hex.
    pub blake3: String,
}

/// What the whole object hashed to.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectDigest {
    pub size: u64,
    pub md5: [u8; 16],
    /// The S3 additional checksums that were asked for.
    pub checksums: Option<Checksum>,
}

impl ObjectDigest {
    /// The S3 ETag of a single-part upload: hex MD5, unquoted.
    pub fn etag(&self) -> String {
        hex::encode(self.md5)
    }
}

/// Bodies at least this long (or of unknown length) are MD5-hashed on the lanes.
pub const LANES_MIN_LEN: u64 = 1 << 20;

/// The object's digest once its MD5 is in: what [`Chunker::finish`] leaves to await.
pub struct PendingDigest {
    size: u64,
    md5: Md5Stream,
    checksums: Option<Checksum>,
}

impl PendingDigest {
    pub async fn resolve(self) -> Result<ObjectDigest, PutError> {
        let md5 = self
            .md5
            .finish()
            .await
            .map_err(|e| PutError::Internal(e.to_string()))?;
        Ok(ObjectDigest {
            size: self.size,
            md5,
            checksums: self.checksums,
        })
    }
}

/// Accumulates bytes into chunks of exactly `chunk_size` (the last one shorter).
pub struct Chunker {
    chunk_size: usize,
    buf: BytesMut,
    chunk_hasher: blake3::Hasher,
    md5: Md5Stream,
    extra: Option<ChecksumHasher>,
    total: u64,
    next_index: usize,
    /// Bytes still expected, when the length is known: sizes buffers without regrowth.
    remaining_hint: Option<u64>,
}

impl Chunker {
    pub fn new(chunk_size: usize, expected_len: Option<u64>) -> Self {
        Chunker {
            chunk_size: chunk_size.max(1),
            buf: BytesMut::new(),
            chunk_hasher: blake3::Hasher::new(),
            md5: if expected_len.is_none_or(|n| n >= LANES_MIN_LEN) {
                Md5Stream::new()
            } else {
                Md5Stream::inline()
            },
            extra: None,
            total: 0,
            next_index: 0,
            remaining_hint: expected_len,
        }
    }

    /// Also computes these S3 checksums over the whole object.
    pub fn with_checksums(mut self, extra: Option<ChecksumHasher>) -> Self {
        self.extra = extra;
        self
    }

    /// Bytes consumed so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Consumes bytes from the front of `data`, at most up to the end of the current chunk,
    /// and returns the chunk if it became full. Call again while `data` is not empty.
    pub fn push(&mut self, data: &mut Bytes) -> Option<Chunk> {
        if data.is_empty() {
            return None;
        }
        let room = self.chunk_size - self.buf.len();
        let take = room.min(data.len());
        let piece = data.split_to(take);
        self.chunk_hasher.update(&piece);
        if let Some(h) = self.extra.as_mut() {
            h.update(&piece);
        }
        self.total += take as u64;
        if self.buf.is_empty() && take == self.chunk_size {
            // A whole chunk in one piece: no copy.
            return Some(self.emit(piece));
        }
        if self.buf.is_empty() {
            let want = self
                .remaining_hint
                .map_or(self.chunk_size as u64, |r| r.min(self.chunk_size as u64));
            self.buf
                .reserve(usize::try_from(want).unwrap_or(self.chunk_size).max(take));
        }
        self.buf.extend_from_slice(&piece);
        if self.buf.len() == self.chunk_size {
            let data = self.buf.split().freeze();
            return Some(self.emit(data));
        }
        None
    }

    /// Waits while the MD5 lanes still hold too many of this body's chunks.
    pub async fn md5_ready(&mut self) {
        self.md5.ready().await;
    }

    /// Ends the input: returns the last partial chunk (if any) and the object digest.
    pub fn finish(mut self) -> (Option<Chunk>, PendingDigest) {
        let last = if self.buf.is_empty() {
            None
        } else {
            let data = self.buf.split().freeze();
            Some(self.emit(data))
        };
        let checksums = self.extra.take().map(ChecksumHasher::finalize);
        let digest = PendingDigest {
            size: self.total,
            md5: self.md5,
            checksums,
        };
        (last, digest)
    }

    fn emit(&mut self, data: Bytes) -> Chunk {
        let hasher = std::mem::take(&mut self.chunk_hasher);
        let index = self.next_index;
        self.next_index += 1;
        if let Some(r) = self.remaining_hint.as_mut() {
            *r = r.saturating_sub(data.len() as u64);
        }
        self.md5.push(data.clone());
        Chunk {
            index,
            data,
            blake3: hasher.finalize().to_hex().to_string(),
        }
    }
}

/// Pulls chunks out of a client body stream.
pub struct ChunkSource<S> {
    body: Option<S>,
    chunker: Option<Chunker>,
    pending: Bytes,
    limit: u64,
    digest: Option<ObjectDigest>,
}

/// The error type of s3s body streams.
pub type StdError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl<S> ChunkSource<S>
where
    S: Stream<Item = Result<Bytes, StdError>> + Unpin,
{
    /// A source over `body` (None: empty body) refusing more than `limit` bytes.
    pub fn new(
        body: Option<S>,
        chunk_size: usize,
        expected_len: Option<u64>,
        limit: u64,
        checksums: Option<ChecksumHasher>,
    ) -> Self {
        ChunkSource {
            body,
            chunker: Some(Chunker::new(chunk_size, expected_len).with_checksums(checksums)),
            pending: Bytes::new(),
            limit,
            digest: None,
        }
    }

    /// The next full chunk, the last partial one, or None at the end (then [`Self::digest`]
    /// is set). Fails on a body error or when the body exceeds the limit.
    pub async fn next_chunk(&mut self) -> Result<Option<Chunk>, PutError> {
        loop {
            let Some(chunker) = self.chunker.as_mut() else {
                return Ok(None);
            };
            if !self.pending.is_empty() {
                if let Some(c) = chunker.push(&mut self.pending) {
                    chunker.md5_ready().await;
                    return Ok(Some(c));
                }
                continue;
            }
            let next = match self.body.as_mut() {
                Some(b) => b.next().await,
                None => None,
            };
            match next {
                Some(Ok(bytes)) => {
                    if chunker.total() + bytes.len() as u64 > self.limit {
                        return Err(PutError::TooLarge { limit: self.limit });
                    }
                    self.pending = bytes;
                }
                Some(Err(e)) => {
                    // A copy's source stream carries the reader's own error.
                    return Err(match e.downcast::<ReadError>() {
                        Ok(r) => PutError::Source(*r),
                        Err(e) => PutError::Body(BodyError::classify(e.as_ref())),
                    });
                }
                None => {
                    let Some(chunker) = self.chunker.take() else {
                        return Ok(None);
                    };
                    let (last, digest) = chunker.finish();
                    self.digest = Some(digest.resolve().await?);
                    return Ok(last);
                }
            }
        }
    }

    /// The object's size and MD5, once [`Self::next_chunk`] returned None (or the last chunk
    /// and then None).
    pub fn digest(&self) -> Option<&ObjectDigest> {
        self.digest.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};
    use proptest::prelude::*;

    fn run(data: &[u8], chunk_size: usize, frames: &[usize]) -> (Vec<Chunk>, ObjectDigest) {
        let mut c = Chunker::new(chunk_size, Some(data.len() as u64));
        let mut out = Vec::new();
        let mut pos = 0;
        let mut fi = 0;
        while pos < data.len() {
            let n = frames
                .get(fi)
                .copied()
                .unwrap_or(7)
                .max(1)
                .min(data.len() - pos);
            fi += 1;
            let mut b = Bytes::copy_from_slice(&data[pos..pos + n]);
            pos += n;
            while !b.is_empty() {
                if let Some(ch) = c.push(&mut b) {
                    out.push(ch);
                }
            }
        }
        let (last, d) = c.finish();
        out.extend(last);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        (out, rt.block_on(d.resolve()).expect("digest"))
    }

    fn check(data: &[u8], chunk_size: usize, frames: &[usize]) {
        let (chunks, digest) = run(data, chunk_size, frames);
        assert_eq!(digest.size, data.len() as u64);
        let md5: [u8; 16] = Md5::digest(data).into();
        assert_eq!(digest.md5, md5);
        let want = data.len().div_ceil(chunk_size);
        assert_eq!(chunks.len(), want);
        let mut joined = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.index, i);
            if i + 1 < chunks.len() {
                assert_eq!(c.data.len(), chunk_size);
            }
            assert!(!c.data.is_empty());
            assert_eq!(c.blake3, blake3::hash(&c.data).to_hex().to_string());
            joined.extend_from_slice(&c.data);
        }
        assert_eq!(joined, data);
    }

    #[test]
    fn boundaries() {
        let cs = 16;
        for size in [0, 1, cs - 1, cs, cs + 1, 2 * cs, 5 * cs + 3] {
            let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            for frames in [vec![1], vec![cs], vec![cs + 5], vec![3, 100], vec![1000]] {
                check(&data, cs, &frames);
            }
        }
    }

    #[test]
    fn empty_object_has_no_chunks_and_md5_of_nothing() {
        let (chunks, d) = run(&[], 16, &[]);
        assert!(chunks.is_empty());
        assert_eq!(d.etag(), "d41d8cd98f00b204e9800998ecf8427e");
    }

    proptest! {
        #[test]
        fn any_split(data in proptest::collection::vec(any::<u8>(), 0..600),
                     cs in 1usize..80,
                     frames in proptest::collection::vec(1usize..200, 0..20)) {
            check(&data, cs, &frames);
        }
    }

    #[tokio::test]
    async fn source_enforces_limit_and_classifies_errors() {
        type Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>;
        let body =
            futures::stream::iter(vec![Ok::<_, _>(Bytes::from_static(b"0123456789"))] as Vec<Item>);
        let mut src = ChunkSource::new(Some(body), 4, None, 8, None);
        assert!(matches!(
            src.next_chunk().await,
            Err(PutError::TooLarge { limit: 8 })
        ));

        #[derive(Debug, thiserror::Error)]
        #[error("UploadStreamError: Sha256Mismatch")]
        struct Mismatch;
        let items: Vec<Item> = vec![Ok(Bytes::from_static(b"abcd")), Err(Box::new(Mismatch))];
        let mut src = ChunkSource::new(Some(futures::stream::iter(items)), 4, None, 100, None);
        assert_eq!(
            src.next_chunk().await.unwrap().unwrap().data,
            Bytes::from_static(b"abcd")
        );
        assert!(matches!(
            src.next_chunk().await,
            Err(PutError::Body(BodyError::Sha256Mismatch))
        ));

        let items: Vec<Item> = vec![Ok(Bytes::from_static(b"abcdef"))];
        let mut src = ChunkSource::new(Some(futures::stream::iter(items)), 4, Some(6), 100, None);
        assert_eq!(src.next_chunk().await.unwrap().unwrap().data.len(), 4);
        assert_eq!(src.next_chunk().await.unwrap().unwrap().data.len(), 2);
        assert!(src.next_chunk().await.unwrap().is_none());
        assert_eq!(src.digest().unwrap().size, 6);
    }
}
