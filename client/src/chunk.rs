//! [`ChunkClient`]: the chunk data RPC (see `trireme_api::chunk` for the protocol).

use crate::error::ClientError;
use crate::transport::{decode_json, error_from, transport_error, Transport};
use bytes::Bytes;
use trireme_api::chunk::{chunk_path, PutChunkResponse, BLAKE3_HEADER};
use trireme_api::ids::{ChunkId, DiskId};

#[derive(Clone, Debug)]
pub struct ChunkClient {
    transport: Transport,
}

impl ChunkClient {
    pub fn new(transport: Transport) -> Self {
        ChunkClient { transport }
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Stores a chunk replica; returns once the chunkserver has fsynced it.
    pub async fn put_chunk(
        &self,
        addr: &str,
        disk: &DiskId,
        chunk: &ChunkId,
        blake3_hex: &str,
        data: Bytes,
    ) -> Result<PutChunkResponse, ClientError> {
        let resp = self
            .transport
            .request(reqwest::Method::PUT, addr, &chunk_path(disk, chunk))
            .header(BLAKE3_HEADER, blake3_hex)
            .body(data)
            .send()
            .await
            .map_err(|e| transport_error(addr, e))?;
        decode_json(addr, resp).await
    }

    /// Reads `[offset, offset+length)` of a chunk replica (the whole chunk when `range` is
    /// None). The chunkserver verifies every block it returns; `expected_blake3` lets it also
    /// check the chunk is the one the metadata names.
    pub async fn get_chunk(
        &self,
        addr: &str,
        disk: &DiskId,
        chunk: &ChunkId,
        range: Option<(u64, u64)>,
        expected_blake3: Option<&str>,
    ) -> Result<Bytes, ClientError> {
        let mut path = chunk_path(disk, chunk);
        if let Some((offset, length)) = range {
            path.push_str(&format!("?offset={offset}&length={length}"));
        }
        let mut req = self.transport.request(reqwest::Method::GET, addr, &path);
        if let Some(d) = expected_blake3 {
            req = req.header(BLAKE3_HEADER, d);
        }
        let resp = req.send().await.map_err(|e| transport_error(addr, e))?;
        if !resp.status().is_success() {
            return Err(error_from(addr, resp).await);
        }
        resp.bytes().await.map_err(|e| transport_error(addr, e))
    }

    /// Deletes a chunk replica (absent is not an error).
    pub async fn delete_chunk(
        &self,
        addr: &str,
        disk: &DiskId,
        chunk: &ChunkId,
    ) -> Result<(), ClientError> {
        let resp = self
            .transport
            .request(reqwest::Method::DELETE, addr, &chunk_path(disk, chunk))
            .send()
            .await
            .map_err(|e| transport_error(addr, e))?;
        if !resp.status().is_success() {
            return Err(error_from(addr, resp).await);
        }
        Ok(())
    }
}
