//! # trireme-gateway: the stateless S3 endpoint
//!
//! Speaks the S3 REST API (through `s3s`: SigV4 header and presigned auth, DTOs, XML) and
//! turns it into metadata RPCs on the meta leader and chunk transfers to chunkservers. It
//! keeps no state beyond short-lived caches, so any number can run behind a load balancer.
//!
//! A PUT streams the body into chunks (BLAKE3 per chunk, MD5 for the ETag), writes each chunk
//! to `replicas` chunkservers in parallel, and commits the object record only when every
//! chunk is durable. A GET reads the record linearizably, then streams the chunk slices
//! covering the range, failing over between replicas, hedging slow ones (`read_hedge_ms`)
//! and reporting bad ones; a chunk with no healthy replica is a 503 naming it, before any
//! header. `GET /metrics` without a signature answers the gateway's Prometheus counters.
//!
//! # Layout
//! - [`config`]: `GatewayConfigFile` (TOML) validated into [`GatewayConfig`].
//! - [`server`]: [`run`]: builds the s3s service, the accept loop (TCP_NODELAY, optional
//!   TLS, hyper HTTP/1.1 keep-alive), graceful shutdown, the ready file.
//! - [`auth`]: [`auth::MetaAuth`], secret keys from GetAccessKey with a short cache
//!   ([`auth::KeyCache`]); what s3s verifies itself.
//! - [`access`]: [`access::BucketAccess`], the authorization of every operation (bucket
//!   owner, read/write/owner grants, CreateBucket permission).
//! - [`guard`]: checks before s3s (path encoding, presigned URL lifetime, SigV4 only, the
//!   [`sigcheck`] checks), the `/metrics` scrape, request counting and body idle timeouts
//!   around the s3s service.
//! - [`sigcheck`]: SigV4 algorithm, credential scope (day, region, service) and signed
//!   headers (every `x-amz-*` header signed), as Amazon S3 checks them.
//! - [`timeouts`]: slow clients: the request-body idle timeout ([`timeouts::IdleBody`]);
//!   the request-head timeout is hyper's, set in [`server`].
//! - [`metrics`]: the gateway's counters (requests by operation and status class, bytes,
//!   hedged reads, failovers, bad replica reports, in-flight requests) as Prometheus text.
//! - [`tls`]: HTTPS with rustls when `tls_cert`/`tls_key` are configured.
//! - [`error`]: the gateway's error types and the one mapping to S3 errors.
//! - [`s3`]: the S3 operations, one file per family (bucket, put, get/head, delete, list,
//!   batch delete, copy, versions, and `s3::multipart` for multipart uploads), plus stored
//!   headers, S3 additional checksums, copy sources, write conditions and naming rules.
//! - [`pipeline`]: the data path: chunker (cut + hash), writer (replica writes with
//!   retries), reader (replica order, bad replica reports, body streaming), hedge (one
//!   slice's replica reads: failover, hedging, verification), range (range -> chunk
//!   slices), copy (re-chunking stored data for UploadPartCopy).
//! - `main.rs`: the `trireme-gateway --config FILE` binary.

pub mod access;
pub mod auth;
pub mod config;
pub mod error;
pub mod guard;
pub mod metrics;
pub mod pipeline;
pub mod s3;
pub mod server;
pub mod sigcheck;
pub mod timeouts;
pub mod tls;

pub use config::{ConfigError, GatewayConfig};
pub use server::{run, ServeError};
