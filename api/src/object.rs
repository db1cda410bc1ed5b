//! The object record: what one `CommitObject` Raft command stores under (bucket, key).

use crate::ids::{ChunkId, ChunkserverId, DiskId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where one replica of a chunk lives.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Replica {
    pub chunkserver: ChunkserverId,
    pub disk: DiskId,
}

/// One chunk of an object, in object order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    pub id: ChunkId,
    /// Length of this chunk in bytes.
    pub length: u64,
    /// BLAKE3 of the chunk's bytes, lowercase hex.
    pub blake3: String,
    pub replicas: Vec<Replica>,
}

/// The metadata of one object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    pub size: u64,
    /// MD5 of the content (hex, unquoted) for single-part uploads.
    pub etag: String,
    /// Milliseconds since the Unix epoch, stamped by the meta leader when it commits.
    pub last_modified_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Standard headers stored with the object (content-encoding, cache-control, ...), lowercase names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `x-amz-meta-*` metadata, names without the prefix, lowercase.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_metadata: BTreeMap<String, String>,
    /// Checksums by algorithm name (e.g. "blake3", "crc32"), as the S3 API encodes them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
    pub chunks: Vec<ChunkRef>,
    /// For multipart objects: each part's size, in order (for `partNumber` reads).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
    /// A small object's bytes, kept in the record itself (replicated by Raft with the rest of
    /// the metadata) instead of in chunk files: one Raft commit instead of an allocation and
    /// three fsynced chunk writes. `chunks` is empty then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<InlineData>,
}

/// The largest object stored inline in its record (a Raft entry carries it).
pub const MAX_INLINE_BYTES: u64 = 1024 * 1024;

/// A small object's bytes (see [`ObjectRecord::inline`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineData {
    /// The bytes (base64 in JSON).
    #[serde(with = "b64")]
    pub bytes: Vec<u8>,
    /// BLAKE3 of the bytes, lowercase hex: every read checks it.
    pub blake3: String,
}

mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

impl ObjectRecord {
    /// Checks the record is self-consistent: chunk lengths add up to the size, ids are valid.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(inline) = &self.inline {
            if !self.chunks.is_empty() {
                return Err("an inline object has no chunks".into());
            }
            if self.size > MAX_INLINE_BYTES {
                return Err(format!(
                    "inline data is limited to {MAX_INLINE_BYTES} bytes, not {}",
                    self.size
                ));
            }
            if inline.bytes.len() as u64 != self.size {
                return Err(format!(
                    "inline data is {} bytes, size is {}",
                    inline.bytes.len(),
                    self.size
                ));
            }
            return Ok(());
        }
        let total: u64 = self.chunks.iter().map(|c| c.length).sum();
        if total != self.size {
            return Err(format!(
                "chunk lengths add to {total}, size is {}",
                self.size
            ));
        }
        for c in &self.chunks {
            if !c.id.is_valid() {
                return Err(format!("invalid chunk id {}", c.id));
            }
            if c.replicas.is_empty() {
                return Err(format!("chunk {} has no replicas", c.id));
            }
        }
        Ok(())
    }
}

/// The persisted form of an object record: versioned from day one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum StoredObject {
    #[serde(rename = "1")]
    V1(ObjectRecord),
}

impl StoredObject {
    pub fn into_record(self) -> ObjectRecord {
        match self {
            StoredObject::V1(r) => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ObjectRecord {
        ObjectRecord {
            size: 5,
            etag: "abc".into(),
            last_modified_ms: 1,
            content_type: None,
            headers: BTreeMap::new(),
            user_metadata: BTreeMap::new(),
            checksums: BTreeMap::new(),
            chunks: vec![ChunkRef {
                id: ChunkId::from_u128(1),
                length: 5,
                blake3: "00".into(),
                replicas: vec![Replica {
                    chunkserver: 1,
                    disk: DiskId("d".into()),
                }],
            }],
            part_sizes: vec![],
            inline: None,
        }
    }

    #[test]
    fn versioned_round_trip() {
        let s = serde_json::to_string(&StoredObject::V1(sample())).unwrap();
        assert!(s.starts_with("{\"v\":\"1\""), "{s}");
        let back: StoredObject = serde_json::from_str(&s).unwrap();
        assert_eq!(back.into_record(), sample());
    }

    #[test]
    fn validate_catches_size_mismatch() {
        let mut r = sample();
        assert!(r.validate().is_ok());
        r.size = 6;
        assert!(r.validate().is_err());
    }
}
