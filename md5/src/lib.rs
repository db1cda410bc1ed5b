//! MD5 for many streams at once.
//!
//! S3 names every single-part object and every part by the MD5 of its bytes (the ETag), so a
//! gateway hashes every byte it receives with MD5, a serial function that runs at about
//! 450-650 MiB/s on one core. Concurrent uploads are independent streams, though: [`lanes`]
//! advances sixteen of them together in the 32-bit lanes of AVX-512 or AVX2 registers, at a
//! few times the cost of one. A hashing thread (`worker`) gathers the buffers of every open
//! [`Md5Stream`] onto its lanes; a CPU with neither hashes each stream inline instead.
//!
//! - [`scalar`]: the one-stream compression function and padding (the reference).
//! - [`lanes`]: the 16-lane kernels (AVX-512, AVX2) and the choice between them.
//! - `worker`: the thread that schedules streams onto lanes.
//! - [`Md5Stream`]: the handle a request uses.

pub mod lanes;
pub mod scalar;
mod service;
mod stream;
mod worker;

pub use service::{disable, enabled, stats, Stats, ENV_SWITCH};
pub use stream::{LanesGone, Md5Stream};
