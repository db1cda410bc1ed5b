//! The one error shape on the internal wire. Each layer has its own `thiserror` enum and maps
//! into an [`ApiError`] at its RPC boundary; the gateway maps [`ErrorCode`] to S3 error codes
//! in exactly one place.

use serde::{Deserialize, Serialize};

/// What went wrong, as far as a caller needs to act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// This meta node is not the leader; `ApiError::leader` names the leader if known. Retry there.
    NotLeader,
    /// The service cannot answer now (no quorum, shutting down, overloaded). Retry later.
    Unavailable,
    /// Missing or wrong credentials: cluster secret, or an unknown or revoked operator token.
    Unauthorized,
    /// The request came from another cluster.
    WrongCluster,
    /// The request is malformed.
    InvalidArgument,
    NoSuchBucket,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    NoSuchKey,
    NoSuchAccessKey,
    AccessKeyExists,
    /// Multipart: the upload does not exist (aborted, completed, or never created).
    NoSuchUpload,
    /// Multipart: a listed part was not uploaded or its ETag does not match.
    InvalidPart,
    /// Multipart: the part list is not in ascending order.
    InvalidPartOrder,
    /// Multipart: a part other than the last is smaller than 5 MiB.
    EntityTooSmall,
    /// A conditional write lost.
    PreconditionFailed,
    /// Not enough healthy chunkservers/disks to place replicas.
    InsufficientCapacity,
    /// The cluster is not initialised yet / already initialised.
    NotInitialized,
    AlreadyInitialized,
    /// A chunk or file that should exist does not.
    NotFound,
    /// Stored data failed verification; never returned as data.
    Corrupt,
    /// The data sent does not match the digest it claimed.
    DigestMismatch,
    /// The disk is full, read-only or failed.
    DiskUnavailable,
    Internal,
    /// Valid credentials without the permission the request needs (a reader token on an
    /// admin RPC, an operator token on a server-only RPC).
    Forbidden,
}

impl ErrorCode {
    /// Whether retrying the same request (possibly elsewhere) may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::NotLeader | ErrorCode::Unavailable | ErrorCode::DiskUnavailable
        )
    }

    /// The HTTP status an internal server answers with for this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::NotLeader | ErrorCode::Unavailable | ErrorCode::InsufficientCapacity => 503,
            ErrorCode::Unauthorized | ErrorCode::WrongCluster => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::InvalidArgument
            | ErrorCode::DigestMismatch
            | ErrorCode::InvalidPart
            | ErrorCode::InvalidPartOrder
            | ErrorCode::EntityTooSmall => 400,
            ErrorCode::NoSuchBucket
            | ErrorCode::NoSuchKey
            | ErrorCode::NoSuchAccessKey
            | ErrorCode::NoSuchUpload
            | ErrorCode::NotFound => 404,
            ErrorCode::BucketAlreadyExists
            | ErrorCode::BucketAlreadyOwnedByYou
            | ErrorCode::BucketNotEmpty
            | ErrorCode::AccessKeyExists
            | ErrorCode::AlreadyInitialized
            | ErrorCode::NotInitialized => 409,
            ErrorCode::PreconditionFailed => 412,
            ErrorCode::Corrupt => 422,
            ErrorCode::DiskUnavailable => 507,
            ErrorCode::Internal => 500,
        }
    }
}

/// An error as carried in an internal RPC response body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// For `NotLeader`: the leader's RPC address, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            leader: None,
        }
    }

    pub fn not_leader(leader: Option<String>) -> Self {
        ApiError {
            code: ErrorCode::NotLeader,
            message: "not the leader".into(),
            leader,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
}
