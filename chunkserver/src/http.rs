//! The chunk data RPC over HTTP (see `trireme_api::chunk`) and `FormatDisk` (see
//! `trireme_api::swap`): routes, the cluster-secret middleware, and the mapping of
//! [`StoreError`] onto [`ApiError`] responses. Everything but `GET /metrics` needs the
//! cluster secret.

use crate::error::StoreError;
use crate::shared::Shared;
use crate::{metrics, pull};
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures::StreamExt;
use std::sync::Arc;
use trireme_api::auth::{secrets_equal, CLUSTER_HEADER, SECRET_HEADER};
use trireme_api::chunk::{
    ChunkserverStatusRequest, ChunkserverStatusResponse, PullChunk, PutChunkResponse,
    ReadChunkQuery, VerifyChunk, VerifyChunkResponse, BLAKE3_HEADER,
};
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::swap::{FormatDisk, FormatDiskResponse};
use trireme_api::{ApiError, ErrorCode, Rpc};
use trireme_client::ChunkClient;

pub use crate::store::MAX_CHUNK_BYTES;

/// The path of the Prometheus metrics.
pub const METRICS_PATH: &str = "/metrics";

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct AppState {
    pub shared: Arc<Shared>,
    /// Reads pull sources.
    pub pull_client: ChunkClient,
}

impl AppState {
    pub fn new(shared: Arc<Shared>) -> Self {
        AppState {
            pull_client: pull::client(&shared),
            shared,
        }
    }
}

/// The chunkserver's routes: the chunk RPC behind the cluster-secret check, and
/// `GET /metrics` outside it.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/v1/chunk/{disk}/{chunk}",
            put(put_chunk).get(get_chunk).delete(delete_chunk),
        )
        .route(ChunkserverStatusRequest::PATH, post(status))
        .route(PullChunk::PATH, post(pull_chunk))
        .route(VerifyChunk::PATH, post(verify_chunk))
        .route(FormatDisk::PATH, post(format_disk))
        .layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .route(METRICS_PATH, get(metrics_text))
        .with_state(state)
}

/// An [`ApiError`] as an HTTP response.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        HttpError(e.into())
    }
}

fn invalid(message: impl Into<String>) -> HttpError {
    HttpError(ApiError::invalid(message))
}

/// Refuses requests without the cluster secret (`Unauthorized`) or from another cluster
/// (`WrongCluster`). The secret is compared first so a stranger learns nothing else.
async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let secret = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let cluster_settings = &state.shared.config.cluster;
    if !secrets_equal(secret, cluster_settings.secret.as_bytes()) {
        return HttpError(ApiError::new(
            ErrorCode::Unauthorized,
            "missing or wrong cluster secret",
        ))
        .into_response();
    }
    let cluster = headers
        .get(CLUSTER_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if cluster != cluster_settings.cluster_id.as_bytes() {
        let message = format!(
            "request for cluster {:?}, this is {:?}",
            String::from_utf8_lossy(cluster),
            cluster_settings.cluster_id
        );
        return HttpError(ApiError::new(ErrorCode::WrongCluster, message)).into_response();
    }
    next.run(req).await
}

fn ids(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(DiskId, ChunkId), HttpError> {
    let Path((disk, chunk)) = path.map_err(|e| invalid(e.body_text()))?;
    Ok((DiskId(disk), ChunkId(chunk)))
}

/// `PUT /v1/chunk/{disk}/{chunk}`: the body (its Content-Length is required, at most
/// [`MAX_CHUNK_BYTES`]) goes straight into a pooled buffer, hashed as it arrives, and is
/// written from there (see `store/receive.rs`).
async fn put_chunk(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PutChunkResponse>, HttpError> {
    let (disk, chunk) = ids(path)?;
    let expected = headers
        .get(BLAKE3_HEADER)
        .ok_or_else(|| invalid(format!("missing {BLAKE3_HEADER} header")))?
        .to_str()
        .map_err(|_| invalid(format!("{BLAKE3_HEADER} is not text")))?
        .to_string();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .ok_or_else(|| invalid("a chunk body needs a Content-Length"))?
        .to_str()
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| invalid("the Content-Length is not a number"))?;
    let store = &state.shared.store;
    let mut incoming = store.incoming(length).await?;
    let mut frames = body.into_data_stream();
    while let Some(frame) = frames.next().await {
        let frame = frame.map_err(|e| invalid(format!("cannot read chunk body: {e}")))?;
        incoming.push(&frame)?;
    }
    let received = incoming.finish()?;
    Ok(Json(
        store
            .put_received(&disk, &chunk, &expected, received)
            .await?,
    ))
}

async fn get_chunk(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<ReadChunkQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let (disk, chunk) = ids(path)?;
    let Query(query) = query.map_err(|e| invalid(e.body_text()))?;
    let expected = match headers.get(BLAKE3_HEADER) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| invalid(format!("{BLAKE3_HEADER} is not text")))?,
        ),
        None => None,
    };
    let bytes = state
        .shared
        .store
        .get(&disk, &chunk, query.offset, query.length, expected)
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

async fn delete_chunk(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, HttpError> {
    let (disk, chunk) = ids(path)?;
    state.shared.store.delete(&disk, &chunk).await?;
    Ok(StatusCode::OK)
}

async fn status(
    State(state): State<AppState>,
    req: Result<Json<ChunkserverStatusRequest>, JsonRejection>,
) -> Result<Json<ChunkserverStatusResponse>, HttpError> {
    let Json(ChunkserverStatusRequest {}) = req.map_err(|e| invalid(e.body_text()))?;
    Ok(Json(ChunkserverStatusResponse {
        id: state.shared.config.id,
        cluster_id: state.shared.config.cluster.cluster_id.clone(),
        disks: state.shared.store.reports().await,
    }))
}

async fn pull_chunk(
    State(state): State<AppState>,
    req: Result<Json<PullChunk>, JsonRejection>,
) -> Result<Json<PutChunkResponse>, HttpError> {
    let Json(req) = req.map_err(|e| invalid(e.body_text()))?;
    Ok(Json(
        pull::pull(&state.shared, &state.pull_client, &req).await?,
    ))
}

async fn verify_chunk(
    State(state): State<AppState>,
    req: Result<Json<VerifyChunk>, JsonRejection>,
) -> Result<Json<VerifyChunkResponse>, HttpError> {
    let Json(req) = req.map_err(|e| invalid(e.body_text()))?;
    let store = &state.shared.store;
    let checked = store
        .verify(&req.disk, &req.chunk, req.blake3.as_deref())
        .await?;
    Ok(Json(checked))
}

/// `FormatDisk`: formats the blank disk in a slot and takes it into service. The disks known
/// to be removed are the request's, the last heartbeat answer's and those released here.
async fn format_disk(
    State(state): State<AppState>,
    req: Result<Json<FormatDisk>, JsonRejection>,
) -> Result<Json<FormatDiskResponse>, HttpError> {
    let Json(req) = req.map_err(|e| invalid(e.body_text()))?;
    let mut removed = state.shared.removed();
    removed.extend(req.removed);
    let store = &state.shared.store;
    Ok(Json(store.format_slot(&req.path, &removed).await?))
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let text = metrics::render(&metrics::snapshot(&state.shared).await);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
