//! Typed request/response pairs. Every internal request type implements [`Rpc`], which names
//! its URL path and its response type, so a client cannot send a request and expect the
//! wrong answer. On the wire: `POST {PATH}` with the request as JSON; a 200 answer carries the
//! response as JSON, any other status an [`crate::ApiError`] as JSON.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A request with a fixed path and response type.
pub trait Rpc: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The URL path, e.g. `/v1/meta/create_bucket`.
    const PATH: &'static str;
    /// Whether only the Raft leader can serve it (writes and linearizable reads).
    const LEADER_ONLY: bool;
    type Response: Serialize + DeserializeOwned + Send + Sync + 'static;
}

/// Declares `impl Rpc for $req` with its path, leader requirement and response type.
#[macro_export]
macro_rules! rpc {
    ($req:ty => $resp:ty, $path:expr, leader) => {
        impl $crate::rpc::Rpc for $req {
            const PATH: &'static str = $path;
            const LEADER_ONLY: bool = true;
            type Response = $resp;
        }
    };
    ($req:ty => $resp:ty, $path:expr, any) => {
        impl $crate::rpc::Rpc for $req {
            const PATH: &'static str = $path;
            const LEADER_ONLY: bool = false;
            type Response = $resp;
        }
    };
}
