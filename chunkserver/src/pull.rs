//! `POST /v1/chunk/pull` ([`PullChunk`]): the repair copy. The target chunkserver fetches the
//! whole chunk from each source in turn (the source verifies every block and the digest the
//! request names), checks the length and whole BLAKE3 itself, and stores it through the
//! normal put path (tmp, fsync, rename, fsync the directory) before answering. Idempotent: a
//! replica already intact on the disk answers at once. Counted by the "pull" worker.

use crate::error::StoreError;
use crate::shared::Shared;
use crate::store::{parse_digest, Received};
use std::time::Duration;
use trireme_api::chunk::{PullChunk, PullSource, PutChunkResponse};
use trireme_api::ErrorCode;
use trireme_client::{ChunkClient, Transport};

/// How long one source may take to send a chunk.
pub const SOURCE_TIMEOUT: Duration = Duration::from_secs(120);

/// The client pulls use to read sources.
pub fn client(shared: &Shared) -> ChunkClient {
    ChunkClient::new(Transport::new(
        shared.config.cluster.clone(),
        SOURCE_TIMEOUT,
    ))
}

/// Copies the chunk onto `req.disk`. Errors: `DiskUnavailable` when the disk is failed,
/// offline or full; `Unavailable` (with every source's reason) when no source served it
/// intact.
pub async fn pull(
    shared: &Shared,
    client: &ChunkClient,
    req: &PullChunk,
) -> Result<PutChunkResponse, StoreError> {
    let worker = &shared.workers.pull;
    worker.begin();
    let result = copy(shared, client, req).await;
    match &result {
        Ok(r) => worker.done(1, r.length),
        Err(e) => worker.error(format!("chunk {}: {e}", req.chunk)),
    }
    worker.end();
    result
}

async fn copy(
    shared: &Shared,
    client: &ChunkClient,
    req: &PullChunk,
) -> Result<PutChunkResponse, StoreError> {
    let expected = parse_digest(&req.blake3)?;
    let store = &shared.store;
    if store.holds(&req.disk, &req.chunk, expected).await? {
        return Ok(PutChunkResponse {
            length: req.length,
            blake3: hex::encode(expected),
        });
    }
    // The header adds 32 bytes per 64 KiB block; a MiB of slack covers it.
    store
        .writable(&req.disk, req.length.saturating_add(1 << 20))
        .await?;
    let mut reasons = Vec::new();
    for source in &req.sources {
        match fetch(shared, client, source, req, &expected).await {
            Ok(received) => {
                return store
                    .put_received(&req.disk, &req.chunk, &req.blake3, received)
                    .await
            }
            Err(reason) => {
                tracing::info!(chunk = %req.chunk, source = %source.addr, %reason, "pull source failed");
                reasons.push(format!("{} disk {}: {reason}", source.addr, source.disk));
            }
        }
    }
    if reasons.is_empty() {
        reasons.push("no sources given".to_string());
    }
    Err(StoreError::Unavailable(format!(
        "no source served chunk {} intact: {}",
        req.chunk,
        reasons.join("; ")
    )))
}

/// The whole chunk from one source, received into a pooled buffer (and so hashed once) and
/// checked against the request; or why not.
async fn fetch(
    shared: &Shared,
    client: &ChunkClient,
    source: &PullSource,
    req: &PullChunk,
    expected: &[u8; 32],
) -> Result<Received, String> {
    let data = client
        .get_chunk(
            &source.addr,
            &source.disk,
            &req.chunk,
            None,
            Some(&req.blake3),
        )
        .await
        .map_err(|e| match e.code() {
            Some(ErrorCode::Corrupt) => format!("corrupt at the source: {e}"),
            _ => e.to_string(),
        })?;
    if data.len() as u64 != req.length {
        return Err(format!(
            "sent {} bytes, the chunk has {}",
            data.len(),
            req.length
        ));
    }
    let mut incoming = shared
        .store
        .incoming(req.length)
        .await
        .map_err(|e| e.to_string())?;
    incoming.push(&data).map_err(|e| e.to_string())?;
    drop(data);
    let received = incoming.finish().map_err(|e| e.to_string())?;
    if &received.whole() != expected {
        return Err(format!(
            "sent bytes with digest {}, expected {}",
            hex::encode(received.whole()),
            req.blake3
        ));
    }
    Ok(received)
}
