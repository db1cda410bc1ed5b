//! The metadata RPCs, one file per family. Each request type gets an `impl Serve<R> for
//! MetaNode`; the HTTP layer routes `R::PATH` to it.

pub mod admin;
pub mod audit;
pub mod bucket;
pub mod chunkserver;
pub mod cluster;
pub mod drain;
pub mod durability;
pub mod inspect;
pub mod inspect_risk;
pub mod inventory;
pub mod keys;
pub mod membership;
pub mod membership_view;
pub mod multipart;
pub mod object;
pub mod placement;
pub mod swap;
pub mod swap_status;
pub mod transfer;

use crate::error::MetaResult;
use std::future::Future;
use trireme_api::Rpc;

/// Serving one typed request.
pub trait Serve<R: Rpc> {
    fn serve(&self, req: R) -> impl Future<Output = MetaResult<R::Response>> + Send;
}
