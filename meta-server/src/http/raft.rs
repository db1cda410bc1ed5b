//! Raft RPC endpoints: the body is the openraft request, the answer the JSON of its `Result`.

use super::error_response;
use crate::node::MetaNode;
use crate::types::TypeConfig;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use std::sync::Arc;
use trireme_api::ApiError;

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("bad raft message: {e}")))
}

pub async fn append(State(node): State<Arc<MetaNode>>, body: Bytes) -> Response {
    match parse::<AppendEntriesRequest<TypeConfig>>(&body) {
        Ok(req) => Json(node.raft.append_entries(req).await).into_response(),
        Err(e) => error_response(e),
    }
}

pub async fn vote(State(node): State<Arc<MetaNode>>, body: Bytes) -> Response {
    match parse::<VoteRequest<u64>>(&body) {
        Ok(req) => Json(node.raft.vote(req).await).into_response(),
        Err(e) => error_response(e),
    }
}

pub async fn snapshot(State(node): State<Arc<MetaNode>>, body: Bytes) -> Response {
    match parse::<InstallSnapshotRequest<TypeConfig>>(&body) {
        Ok(req) => Json(node.raft.install_snapshot(req).await).into_response(),
        Err(e) => error_response(e),
    }
}
