//! # trireme-client: typed clients for Trireme's internal RPC
//!
//! Used by the gateway, the chunkservers, the CLI and the meta-servers themselves (for Raft
//! traffic they use their own network module). Nothing here knows about server internals.
//!
//! # Layout
//! - [`error`]: [`ClientError`], transport vs API errors, retryable or not.
//! - [`transport`]: the shared HTTP client (TCP_NODELAY, timeouts) and the authenticated
//!   typed `POST` of one [`trireme_api::Rpc`] to one address.
//! - [`meta`]: [`MetaClient`], which finds the Raft leader, follows `NotLeader` answers and
//!   retries across members until a deadline.
//! - [`chunk`]: [`ChunkClient`], the chunk data RPC (put/get/delete a chunk replica).

pub mod chunk;
pub mod error;
pub mod meta;
pub mod transport;

pub use chunk::ChunkClient;
pub use error::ClientError;
pub use meta::MetaClient;
pub use transport::Transport;
