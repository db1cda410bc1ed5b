//! # trireme-meta: the metadata server
//!
//! An openraft group (3 or 5 voters) whose log and state machine live in RocksDB. The state
//! machine holds buckets, objects (key -> record with its chunk list), the chunk index
//! (chunk -> reference count and authoritative replica locations), access keys, chunkservers
//! and their disks with their states. Client-visible reads are linearizable (leader +
//! `ensure_linearizable`). The leader also runs the durability engine (ledger, liveness,
//! repair) as named background workers.
//!
//! # Layout
//! - `types.rs`: Raft type config, [`types::Command`] (persisted in the log) and its result.
//! - `store/`: RocksDB storage: `log.rs` (Raft log), `sm.rs` (state machine), `apply.rs`
//!   (applying a command; `apply_multipart.rs`, `apply_durability.rs`), `chunks.rs` (the chunk
//!   and location indexes, reference counting), `read.rs` (queries, listing), `snapshot.rs`,
//!   `keys.rs`, `records.rs`.
//! - `durability/`: the leader's durability engine: health view, ledger sweep, liveness and
//!   repair workers, `/metrics`.
//! - `network.rs`: Raft RPC client over HTTP.
//! - `http/`: the axum router: authentication, Raft RPC endpoints, typed metadata RPCs.
//! - `service/`: one file per RPC family (cluster, buckets, objects, keys, chunkservers and
//!   placement); [`node::MetaNode`] ties Raft, storage and soft state together.
//! - `config.rs`, `error.rs`, `server.rs` (`run`).

pub mod config;
pub mod durability;
pub mod error;
pub mod http;
pub mod network;
pub mod node;
pub mod server;
pub mod service;
pub mod store;
pub mod types;

pub use config::MetaConfig;
pub use server::run;
