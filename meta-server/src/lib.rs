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
//!   (applying a command; `apply_multipart.rs`, `apply_durability.rs`, `apply_admin.rs`:
//!   operator tokens and the audit log, with their reads), `chunks.rs` (the chunk
//!   and location indexes, reference counting), `read.rs` (queries, listing), `snapshot.rs`
//!   (the dump format, install) and `snapshot_file.rs` (snapshot files built from a RocksDB
//!   checkpoint off the apply path), `keys.rs`, `records.rs`.
//! - `snapshots.rs`: the `snapshot` worker, which triggers builds scaled to the state's size.
//! - `durability/`: the leader's durability engine: health view, ledger sweep, liveness and
//!   repair workers, `/metrics`.
//! - `network.rs`: Raft RPC client over HTTP.
//! - `http/`: the axum router: `auth.rs` (the cluster secret or an operator token),
//!   `access.rs` (the one classification of every RPC: server-only, read, admin), Raft RPC
//!   endpoints, typed metadata RPCs (`typed.rs`).
//! - `service/`: one file per RPC family (cluster, buckets, objects, keys, chunkservers and
//!   placement; `inspect.rs` and `inspect_risk.rs`: object explain, chunkserver and disk show
//!   with what is at risk if they failed; `admin.rs`: operator tokens and `trireme audit`;
//!   `audit.rs`: recording admin actions in the audit log; `membership.rs` and
//!   `membership_view.rs`: meta members, add a learner, promote, remove, with the quorum
//!   checks; `transfer.rs`: leadership transfer); [`node::MetaNode`] ties Raft, storage and
//!   soft state together.
//! - `gate.rs`: holds writes and linearizable reads during a leadership transfer.
//! - `group_commit.rs`: concurrent writes share Raft entries (one entry, one fsync per node).
//! - `read_batch.rs`: concurrent linearizable reads share ReadIndex rounds.
//! - `config.rs`, `error.rs`, `server.rs` (`run`).

pub mod config;
pub mod durability;
pub mod error;
pub mod gate;
pub mod group_commit;
pub mod http;
pub mod network;
pub mod node;
pub mod read_batch;
pub mod server;
pub mod service;
pub mod snapshots;
pub mod store;
pub mod types;

pub use config::MetaConfig;
pub use server::run;
