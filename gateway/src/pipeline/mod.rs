//! The data path between S3 bodies and chunkservers.
//!
//! - [`chunker`]: cut a body into chunks, hashing BLAKE3 per chunk and MD5 overall.
//! - [`writer`]: write one chunk to `replicas` chunkservers, replacing failed targets.
//! - [`reader`]: replica ordering, bad replica reports, streaming an object's slices.
//! - [`hedge`]: read one chunk slice from its replicas: failover on errors, hedged reads
//!   to the next replica when one is slow, verification of what is returned.
//! - [`inline`]: small objects' bytes kept in their record, verified before serving.
//! - [`range`]: clip a byte range to chunk slices.
//! - [`copy`]: re-chunk a span of stored data (UploadPartCopy) through the upload path.
//!
//! [`DataPath::upload`] overlaps reading chunk N+1 from the client with writing chunk N, so
//! at most two chunks of a request are in memory.

pub mod chunker;
pub mod copy;
pub mod hedge;
pub mod inline;
pub mod range;
pub mod reader;
pub mod writer;

use crate::config::GatewayConfig;
use crate::error::PutError;
use crate::metrics::Metrics;
use bytes::Bytes;
use chunker::{ChunkSource, ObjectDigest, StdError};
use futures::Stream;
use reader::ReplicaHealth;
use s3s::checksum::ChecksumHasher;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use trireme_api::meta::ChunkPlacement;
use trireme_api::object::ChunkRef;
use trireme_client::{ChunkClient, MetaClient};
use writer::WriteAvoidance;

/// Most chunk placements asked for in one AllocateChunks call.
const MAX_ALLOCATION_BATCH: u64 = 16;

/// Everything the data path needs; cheap to clone.
#[derive(Clone, Debug)]
pub struct DataPath {
    pub meta: Arc<MetaClient>,
    pub chunks: ChunkClient,
    pub chunk_size: u64,
    pub replicas: u32,
    pub write_attempts: u32,
    pub health: Arc<ReplicaHealth>,
    pub avoid: Arc<WriteAvoidance>,
    /// Send a slow chunk read to the next replica after this long (None: never).
    pub read_hedge: Option<Duration>,
    pub metrics: Arc<Metrics>,
    /// PutObject bodies up to this size go inline in the object record (0: never).
    pub inline_max: u64,
}

impl DataPath {
    pub fn new(
        config: &GatewayConfig,
        meta: Arc<MetaClient>,
        chunks: ChunkClient,
        metrics: Arc<Metrics>,
    ) -> Self {
        DataPath {
            meta,
            chunks,
            chunk_size: config.chunk_size,
            replicas: config.replicas,
            write_attempts: config.write_attempts.max(1),
            health: Arc::new(ReplicaHealth::new(config.replica_penalty)),
            avoid: Arc::new(WriteAvoidance::new(config.write_penalty)),
            read_hedge: config.read_hedge,
            metrics,
            inline_max: config.inline_max_bytes,
        }
    }

    /// Streams `body` into durable chunks. Returns the chunk list and the object digest once
    /// every chunk has `replicas` acknowledged (fsynced) replicas. Nothing is committed here.
    pub async fn upload<S>(
        &self,
        body: Option<S>,
        expected_len: Option<u64>,
        limit: u64,
        checksums: Option<ChecksumHasher>,
    ) -> Result<(Vec<ChunkRef>, ObjectDigest), PutError>
    where
        S: Stream<Item = Result<Bytes, StdError>> + Unpin,
    {
        match self
            .upload_object(body, expected_len, limit, checksums, 0)
            .await?
        {
            (Stored::Chunks(chunks), digest) => Ok((chunks, digest)),
            (Stored::Inline(_), _) => Err(PutError::Internal("inline without asking".into())),
        }
    }

    /// Like [`DataPath::upload`], but a body of at most `inline_max` bytes is not written to
    /// chunkservers: it comes back as [`Stored::Inline`], to be committed in the object record.
    pub async fn upload_object<S>(
        &self,
        body: Option<S>,
        expected_len: Option<u64>,
        limit: u64,
        checksums: Option<ChecksumHasher>,
        inline_max: u64,
    ) -> Result<(Stored, ObjectDigest), PutError>
    where
        S: Stream<Item = Result<Bytes, StdError>> + Unpin,
    {
        let chunk_size = usize::try_from(self.chunk_size)
            .map_err(|_| PutError::Internal("chunk size".into()))?;
        let mut source = ChunkSource::new(body, chunk_size, expected_len, limit, checksums);
        let mut chunks_left = expected_len.map(|l| l.div_ceil(self.chunk_size));
        let mut placements: VecDeque<ChunkPlacement> = VecDeque::new();
        let mut refs = Vec::new();
        let mut inflight: Option<Task<Result<ChunkRef, PutError>>> = None;

        // Only a body shorter than one chunk can be inline: its first chunk is its last.
        let inline_max = inline_max.min(self.chunk_size.saturating_sub(1));
        let mut next = source.next_chunk().await?;
        if let Some(first) = next.take_if(|c| c.data.len() as u64 <= inline_max) {
            if source.next_chunk().await?.is_some() {
                return Err(PutError::Internal("a short chunk was not the last".into()));
            }
            let digest = source
                .digest()
                .cloned()
                .ok_or_else(|| PutError::Internal("body not finished".into()))?;
            return Ok((Stored::Inline(first), digest));
        }
        while let Some(chunk) = next.take() {
            if placements.is_empty() {
                let count = chunks_left.unwrap_or(4).clamp(1, MAX_ALLOCATION_BATCH);
                placements.extend(
                    writer::allocate_avoiding(&self.meta, &self.avoid, count as u32, self.replicas)
                        .await?,
                );
            }
            let placement = placements
                .pop_front()
                .ok_or_else(|| PutError::Internal("AllocateChunks returned no placement".into()))?;
            chunks_left = chunks_left.map(|n| n.saturating_sub(1));
            // Wait for the previous chunk before starting this one: two chunks in memory.
            if let Some(prev) = inflight.take() {
                refs.push(prev.join().await?);
            }
            let dp = self.clone();
            inflight = Some(Task(tokio::spawn(async move {
                dp.write_chunk(placement, chunk).await
            })));
            next = source.next_chunk().await?;
        }
        if let Some(prev) = inflight.take() {
            refs.push(prev.join().await?);
        }
        let digest = source
            .digest()
            .cloned()
            .ok_or_else(|| PutError::Internal("body not finished".into()))?;
        Ok((Stored::Chunks(refs), digest))
    }
}

/// Where an uploaded body went.
#[derive(Debug)]
pub enum Stored {
    /// Durable chunks on chunkservers.
    Chunks(Vec<ChunkRef>),
    /// Not written anywhere yet: small enough to go in the object record.
    Inline(chunker::Chunk),
}

/// A spawned task aborted when dropped (the request went away or failed).
struct Task<T>(JoinHandle<T>);

impl<T> Task<Result<T, PutError>> {
    async fn join(mut self) -> Result<T, PutError> {
        match (&mut self.0).await {
            Ok(r) => r,
            Err(e) => Err(PutError::Internal(format!("chunk writer task failed: {e}"))),
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
