//! Multipart upload RPCs (`POST /v1/meta/mpu/...`). An upload is created, parts are written to
//! chunkservers by the gateway and recorded one Raft command each (a part number recorded again
//! replaces the earlier one), and completing is one atomic Raft command that checks the part
//! list against what was recorded (S3's rules: ascending numbers, matching ETags, every part
//! but the last at least 5 MiB) and turns the upload into an object.

use crate::meta::{CommitObjectResponse, Empty, WriteCondition};
use crate::object::ChunkRef;
use crate::rpc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's largest part number.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// What an upload will give its object: set at creation, as S3 does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_metadata: BTreeMap<String, String>,
    /// The checksum algorithm the client announced (e.g. "CRC32"), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    /// "COMPOSITE" or "FULL_OBJECT", if the client announced one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInfo {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub initiated_ms: u64,
    /// Access key that created the upload.
    pub initiator: String,
    pub metadata: UploadMetadata,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateMultipartUpload {
    pub bucket: String,
    pub key: String,
    pub initiator: String,
    pub metadata: UploadMetadata,
}
rpc!(CreateMultipartUpload => UploadInfo, "/v1/meta/mpu/create", leader);

/// Linearizable read of an upload (e.g. before accepting a part's data).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetUpload {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
}
rpc!(GetUpload => UploadInfo, "/v1/meta/mpu/get", leader);

/// One recorded part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    pub part_number: u32,
    pub size: u64,
    /// MD5 of the part's bytes, hex, unquoted.
    pub etag: String,
    pub last_modified_ms: u64,
    /// Checksums of the part by algorithm name, as S3 encodes them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
    pub chunks: Vec<ChunkRef>,
}

/// Records a part whose chunks are durable. `NoSuchUpload` if the upload is gone.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordPart {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub part: PartRecord,
}
rpc!(RecordPart => RecordPartResponse, "/v1/meta/mpu/record_part", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordPartResponse {
    pub last_modified_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListParts {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    /// List parts with numbers strictly greater than this.
    #[serde(default)]
    pub part_number_marker: u32,
    /// 1..=1000 (clamped).
    pub max_parts: u32,
}
rpc!(ListParts => ListPartsResponse, "/v1/meta/mpu/list_parts", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartSummary {
    pub part_number: u32,
    pub size: u64,
    pub etag: String,
    pub last_modified_ms: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListPartsResponse {
    pub upload: UploadInfo,
    pub parts: Vec<PartSummary>,
    pub is_truncated: bool,
    pub next_part_number_marker: Option<u32>,
}

/// Completes an upload atomically. `etag` is the final ETag the gateway computed from the
/// listed part ETags (MD5 of their binary MD5s, "-N"); the state machine checks every listed
/// ETag against the recorded part before using it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompleteMultipartUpload {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    /// (part number, ETag) in the order the client sent them.
    pub parts: Vec<(u32, String)>,
    pub etag: String,
    /// Checksums of the whole object, if the gateway computed them.
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    #[serde(default)]
    pub condition: Option<WriteCondition>,
}
rpc!(CompleteMultipartUpload => CommitObjectResponse, "/v1/meta/mpu/complete", leader);

/// The parts of an upload, for computing composite checksums before completing.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetParts {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
}
rpc!(GetParts => GetPartsResponse, "/v1/meta/mpu/get_parts", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetPartsResponse {
    pub upload: UploadInfo,
    pub parts: Vec<PartSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AbortMultipartUpload {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
}
rpc!(AbortMultipartUpload => Empty, "/v1/meta/mpu/abort", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListMultipartUploads {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub delimiter: Option<String>,
    #[serde(default)]
    pub key_marker: Option<String>,
    #[serde(default)]
    pub upload_id_marker: Option<String>,
    /// 1..=1000 (clamped).
    pub max_uploads: u32,
}
rpc!(ListMultipartUploads => ListMultipartUploadsResponse, "/v1/meta/mpu/list", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListMultipartUploadsResponse {
    pub uploads: Vec<UploadInfo>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    pub next_key_marker: Option<String>,
    pub next_upload_id_marker: Option<String>,
}
