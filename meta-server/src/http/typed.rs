//! One generic handler for every typed metadata RPC: decode, serve, and for an audited admin
//! request (`service/audit.rs`) record who did what, why, and the result.

use super::access::Classified;
use super::auth::Caller;
use super::error_response;
use crate::node::MetaNode;
use crate::service::{audit, Serve};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::sync::Arc;
use trireme_api::ApiError;

pub async fn handle<R>(
    State(node): State<Arc<MetaNode>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response
where
    R: Classified,
    MetaNode: Serve<R>,
{
    let req: R = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error_response(ApiError::invalid(format!("bad {} request: {e}", R::PATH)))
        }
    };
    let entry = audit::is_audited(R::ACCESS, R::PATH, &caller.principal)
        .then(|| audit::new_entry(&caller.principal, caller.reason, R::PATH, &body));
    match audit::scope(&node, caller.principal, entry, node.serve(req)).await {
        Ok(resp) => Json(resp).into_response(),
        Err(e) => error_response(e.into_api()),
    }
}
