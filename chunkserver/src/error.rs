//! Errors of the chunkserver: [`StoreError`] for chunk operations (mapped once into the wire's
//! [`ApiError`]) and [`ChunkserverError`] for starting and running the server.

use crate::config::ConfigError;
use std::path::PathBuf;
use trireme_api::{ApiError, ErrorCode};

/// Why a chunk put/get/delete failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("body digest {actual} does not match the expected {expected}")]
    DigestMismatch { expected: String, actual: String },
    /// Stored data failed verification; no bytes of it are returned.
    #[error("{0}")]
    Corrupt(String),
    /// The disk is offline, full, read-only or failing.
    #[error("{0}")]
    DiskUnavailable(String),
    /// Something this request depends on elsewhere (e.g. every pull source) failed; retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl StoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::DigestMismatch { .. } => ErrorCode::DigestMismatch,
            StoreError::Corrupt(_) => ErrorCode::Corrupt,
            StoreError::DiskUnavailable(_) => ErrorCode::DiskUnavailable,
            StoreError::Unavailable(_) => ErrorCode::Unavailable,
            StoreError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

/// Why the chunkserver could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ChunkserverError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot write ready file {path}: {source}")]
    ReadyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}
