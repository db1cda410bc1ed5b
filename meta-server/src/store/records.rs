//! Versioned persisted forms of the state machine's records. Every value stored in a state
//! machine column family carries a version tag (`"v"`) from day one.

use crate::types::ChunkserverRecord;
use serde::{Deserialize, Serialize};
use trireme_api::meta::{AccessKeyInfo, BucketInfo};
use trireme_api::multipart::{PartRecord, UploadInfo};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum StoredBucket {
    #[serde(rename = "1")]
    V1(BucketInfo),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum StoredAccessKey {
    #[serde(rename = "1")]
    V1(AccessKeyInfo),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum StoredChunkserver {
    #[serde(rename = "1")]
    V1(ChunkserverRecord),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum StoredUpload {
    #[serde(rename = "1")]
    V1(UploadInfo),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum StoredPart {
    #[serde(rename = "1")]
    V1(PartRecord),
}
