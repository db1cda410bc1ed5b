//! The meta-server's HTTP surface: authentication of every request, the Raft RPC endpoints,
//! and one typed route per metadata RPC.

mod raft;
mod typed;

use crate::node::MetaNode;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use trireme_api::auth::{secrets_equal, CLUSTER_HEADER, SECRET_HEADER};
use trireme_api::config::ClusterSettings;
use trireme_api::durability::*;
use trireme_api::inventory::ReportInventory;
use trireme_api::meta::*;
use trireme_api::multipart::*;
use trireme_api::{ApiError, ErrorCode, Rpc};

/// Largest request body: Raft append batches and snapshot chunks.
const MAX_BODY: usize = 256 * 1024 * 1024;

pub fn router(node: Arc<MetaNode>) -> Router {
    let settings = Arc::new(node.config.cluster.clone());
    // Prometheus scrapes without the cluster secret; metrics reveal no data or names.
    let open = Router::new()
        .route("/metrics", get(metrics))
        .with_state(node.clone());
    Router::new()
        .route(crate::network::PATH_APPEND, post(raft::append))
        .route(crate::network::PATH_VOTE, post(raft::vote))
        .route(crate::network::PATH_SNAPSHOT, post(raft::snapshot))
        .route(InitCluster::PATH, post(typed::handle::<InitCluster>))
        .route(ClusterStatus::PATH, post(typed::handle::<ClusterStatus>))
        .route(CreateBucket::PATH, post(typed::handle::<CreateBucket>))
        .route(DeleteBucket::PATH, post(typed::handle::<DeleteBucket>))
        .route(GetBucket::PATH, post(typed::handle::<GetBucket>))
        .route(ListBuckets::PATH, post(typed::handle::<ListBuckets>))
        .route(CommitObject::PATH, post(typed::handle::<CommitObject>))
        .route(GetObject::PATH, post(typed::handle::<GetObject>))
        .route(DeleteObject::PATH, post(typed::handle::<DeleteObject>))
        .route(ListObjects::PATH, post(typed::handle::<ListObjects>))
        .route(
            CreateAccessKey::PATH,
            post(typed::handle::<CreateAccessKey>),
        )
        .route(GetAccessKey::PATH, post(typed::handle::<GetAccessKey>))
        .route(ListAccessKeys::PATH, post(typed::handle::<ListAccessKeys>))
        .route(AllocateChunks::PATH, post(typed::handle::<AllocateChunks>))
        .route(
            ReportBadReplica::PATH,
            post(typed::handle::<ReportBadReplica>),
        )
        .route(Heartbeat::PATH, post(typed::handle::<Heartbeat>))
        .route(
            ListChunkservers::PATH,
            post(typed::handle::<ListChunkservers>),
        )
        .route(SetBucketGrant::PATH, post(typed::handle::<SetBucketGrant>))
        .route(
            DeleteAccessKey::PATH,
            post(typed::handle::<DeleteAccessKey>),
        )
        .route(CopyObject::PATH, post(typed::handle::<CopyObject>))
        .route(DeleteObjects::PATH, post(typed::handle::<DeleteObjects>))
        .route(
            CreateMultipartUpload::PATH,
            post(typed::handle::<CreateMultipartUpload>),
        )
        .route(GetUpload::PATH, post(typed::handle::<GetUpload>))
        .route(RecordPart::PATH, post(typed::handle::<RecordPart>))
        .route(ListParts::PATH, post(typed::handle::<ListParts>))
        .route(GetParts::PATH, post(typed::handle::<GetParts>))
        .route(
            CompleteMultipartUpload::PATH,
            post(typed::handle::<CompleteMultipartUpload>),
        )
        .route(
            AbortMultipartUpload::PATH,
            post(typed::handle::<AbortMultipartUpload>),
        )
        .route(
            ListMultipartUploads::PATH,
            post(typed::handle::<ListMultipartUploads>),
        )
        .route(
            ReportInventory::PATH,
            post(typed::handle::<ReportInventory>),
        )
        .route(RepairStatus::PATH, post(typed::handle::<RepairStatus>))
        .route(ListLost::PATH, post(typed::handle::<ListLost>))
        .route(ListWorkers::PATH, post(typed::handle::<ListWorkers>))
        .route(
            SetWorkerSetting::PATH,
            post(typed::handle::<SetWorkerSetting>),
        )
        .route(ControlScrub::PATH, post(typed::handle::<ControlScrub>))
        .route(ScrubStatus::PATH, post(typed::handle::<ScrubStatus>))
        .with_state(node)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(settings, authenticate))
        .merge(open)
}

async fn metrics(State(node): State<Arc<MetaNode>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::durability::metrics::render(&node),
    )
        .into_response()
}

/// An [`ApiError`] as an HTTP response.
pub fn error_response(e: ApiError) -> Response {
    let status = axum::http::StatusCode::from_u16(e.code.http_status())
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(e)).into_response()
}

async fn authenticate(
    State(settings): State<Arc<ClusterSettings>>,
    req: Request,
    next: Next,
) -> Response {
    if let Err(e) = check_credentials(req.headers(), &settings) {
        return error_response(e);
    }
    next.run(req).await
}

fn check_credentials(
    headers: &axum::http::HeaderMap,
    settings: &ClusterSettings,
) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).map(|v| v.as_bytes()).unwrap_or_default();
    if !secrets_equal(header(SECRET_HEADER), settings.secret.as_bytes()) {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "missing or wrong cluster secret",
        ));
    }
    if header(CLUSTER_HEADER) != settings.cluster_id.as_bytes() {
        return Err(ApiError::new(
            ErrorCode::WrongCluster,
            "request from another cluster",
        ));
    }
    Ok(())
}
