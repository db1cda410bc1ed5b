//! One generic handler for every typed metadata RPC.

use super::error_response;
use crate::node::MetaNode;
use crate::service::Serve;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;
use trireme_api::{ApiError, Rpc};

pub async fn handle<R>(State(node): State<Arc<MetaNode>>, body: Bytes) -> Response
where
    R: Rpc,
    MetaNode: Serve<R>,
{
    let req: R = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error_response(ApiError::invalid(format!("bad {} request: {e}", R::PATH)))
        }
    };
    match node.serve(req).await {
        Ok(resp) => Json(resp).into_response(),
        Err(e) => error_response(e.into_api()),
    }
}
