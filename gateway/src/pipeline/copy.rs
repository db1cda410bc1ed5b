//! Re-chunking stored data for UploadPartCopy: a byte span of a source object is read from
//! its replicas (the GET path: verified reads, failover, bad replicas reported) and written
//! as new chunks through the PUT path ([`DataPath::upload`]: BLAKE3 per chunk, MD5, S3
//! checksums). The bytes stay inside the gateway; at most a few chunks are in memory.

use super::chunker::{ObjectDigest, StdError};
use super::{range, DataPath};
use crate::error::PutError;
use bytes::Bytes;
use futures::StreamExt;
use s3s::checksum::ChecksumHasher;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use trireme_api::ids::ChunkserverId;
use trireme_api::object::{ChunkRef, ObjectRecord};

impl DataPath {
    /// Copies `span` of the object made of `chunks` (replica addresses in `addrs`) into new
    /// durable chunks. Nothing is committed here. A source read failure is
    /// [`PutError::Source`].
    pub async fn copy_span(
        &self,
        source: &ObjectRecord,
        addrs: BTreeMap<ChunkserverId, String>,
        span: Range<u64>,
        checksums: Option<ChecksumHasher>,
    ) -> Result<(Vec<ChunkRef>, ObjectDigest), PutError> {
        let len = span.end.saturating_sub(span.start);
        if let Some(data) = &source.inline {
            let bytes = super::inline::verified_slice(data, span)?;
            let stream = super::inline::body(bytes).map(|r| r.map_err(|e| Box::new(e) as StdError));
            return self
                .upload(Some(Box::pin(stream)), Some(len), len, checksums)
                .await;
        }
        let chunks = source.chunks.clone();
        let lengths: Vec<u64> = chunks.iter().map(|c| c.length).collect();
        let slices = range::slices_for(&lengths, span);
        if slices.is_empty() {
            let none: Option<futures::stream::Empty<Result<Bytes, StdError>>> = None;
            return self.upload(none, Some(0), 0, checksums).await;
        }
        let body = self
            .open_stream(Arc::new(chunks), Arc::new(addrs), slices)
            .await?;
        let stream = body.map(|r| r.map_err(|e| Box::new(e) as StdError));
        self.upload(Some(stream), Some(len), len, checksums).await
    }
}
