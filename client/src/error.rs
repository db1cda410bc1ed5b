//! Errors of the internal RPC clients.

use trireme_api::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// The request could not be sent or its answer not received (connection refused, reset,
    /// timed out). Whether a write took effect is unknown.
    #[error("transport error talking to {addr}: {message}")]
    Transport { addr: String, message: String },
    /// The answer could not be decoded.
    #[error("bad answer from {addr}: {message}")]
    Decode { addr: String, message: String },
}

impl ClientError {
    /// Whether trying again (possibly elsewhere) may help.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Api(e) => e.code.is_retryable(),
            ClientError::Transport { .. } => true,
            ClientError::Decode { .. } => false,
        }
    }

    /// The API error code, if the server answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api(e) => Some(e.code),
            _ => None,
        }
    }
}
