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
//! - [`inspect`]: operators' inspection: `object explain`, `chunkserver show`, `disk show`.
//! - [`inventory`]: chunk inventories and garbage collection (HDFS-style block reports).
//! - [`meta`]: metadata RPCs (cluster, buckets, objects, keys, placement, chunkservers).
//! - [`membership`]: meta membership RPCs (members, add a learner, promote, remove, transfer
//!   leadership).
//! - [`multipart`]: multipart upload RPCs.
//! - [`ops`]: disk drain, the removal gate and what-if plans.
//! - [`swap`]: disk slots, formatting a new disk, its refill, and the swap status.
//! - [`object`]: the object record committed through Raft.
//! - [`chunk`]: the chunkserver data RPC (headers, query parameters, responses).
//! - [`config`]: the TOML config files of each server.
//! - [`cluster_file`]: `cluster.json`, the description of a running local cluster.
//! - [`auth`]: the header names carrying the cluster secret and identity.
//! - [`admin`]: operator tokens (admin/reader roles), their RPCs, and the admin audit log.

pub mod admin;
pub mod auth;
pub mod chunk;
pub mod cluster_file;
pub mod config;
pub mod durability;
pub mod error;
pub mod ids;
pub mod inspect;
pub mod inventory;
pub mod membership;
pub mod meta;
pub mod multipart;
pub mod object;
pub mod ops;
pub mod rpc;
pub mod swap;

pub use error::{ApiError, ErrorCode};
pub use rpc::Rpc;
