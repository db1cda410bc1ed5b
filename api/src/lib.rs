//! # trireme-api: the contract between Trireme's processes
//!
//! Everything that crosses a process boundary is defined here and nowhere else: the typed
//! request/response pairs of the metadata RPC, the chunkserver data RPC, the persisted object
//! record, the on-disk config files written by `trireme up`, and the `cluster.json` that
//! scripts and tests read. Servers, the gateway and the CLI depend on this crate; this crate
//! depends on nothing of theirs.
//!
//! # Layout
//! - [`ids`]: identifiers (chunkserver, disk, chunk, node) and their text forms.
//! - [`error`]: [`error::ApiError`], the one error shape on the wire, with retryable vs fatal codes.
//! - [`rpc`]: the [`rpc::Rpc`] trait tying a request type to its path and response type.
//! - [`durability`]: the durability ledger, repair, scrub control and background workers.
//! - [`inventory`]: chunk inventories and garbage collection (HDFS-style block reports).
//! - [`meta`]: metadata RPCs (cluster, buckets, objects, keys, placement, chunkservers).
//! - [`multipart`]: multipart upload RPCs.
//! - [`object`]: the object record committed through Raft.
//! - [`chunk`]: the chunkserver data RPC (headers, query parameters, responses).
//! - [`config`]: the TOML config files of each server.
//! - [`cluster_file`]: `cluster.json`, the description of a running local cluster.
//! - [`auth`]: the header names carrying the cluster secret and identity.

pub mod auth;
pub mod chunk;
pub mod cluster_file;
pub mod config;
pub mod durability;
pub mod error;
pub mod ids;
pub mod inventory;
pub mod meta;
pub mod multipart;
pub mod object;
pub mod rpc;

pub use error::{ApiError, ErrorCode};
pub use rpc::Rpc;
