//! The meta-server's HTTP surface: authentication of every request, the Raft RPC endpoints,
//! and one typed route per metadata RPC.

pub mod access;
pub mod auth;
mod raft;
mod typed;

use crate::node::MetaNode;
use axum::extract::{DefaultBodyLimit, State};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use trireme_api::durability::*;
use trireme_api::inventory::ReportInventory;
use trireme_api::meta::*;
use trireme_api::multipart::*;
use trireme_api::ops::*;
use trireme_api::{ApiError, Rpc};

/// Largest request body: Raft append batches and snapshot chunks.
const MAX_BODY: usize = 256 * 1024 * 1024;

pub fn router(node: Arc<MetaNode>) -> Router {
    let auth_state = node.clone();
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
        .route(DrainDisk::PATH, post(typed::handle::<DrainDisk>))
        .route(DrainStatus::PATH, post(typed::handle::<DrainStatus>))
        .route(RemoveDisk::PATH, post(typed::handle::<RemoveDisk>))
        .route(PlanDiskRemove::PATH, post(typed::handle::<PlanDiskRemove>))
        .route(
            trireme_api::inspect::ExplainObject::PATH,
            post(typed::handle::<trireme_api::inspect::ExplainObject>),
        )
        .route(
            trireme_api::inspect::ShowChunkserver::PATH,
            post(typed::handle::<trireme_api::inspect::ShowChunkserver>),
        )
        .route(
            trireme_api::inspect::ShowDisk::PATH,
            post(typed::handle::<trireme_api::inspect::ShowDisk>),
        )
        .merge(membership_routes())
        .merge(admin_routes())
        .merge(swap_routes())
        .with_state(node)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(
            auth_state,
            auth::authenticate,
        ))
        .merge(open)
}

/// `trireme meta members|add|remove|transfer-leader` (service/membership.rs, transfer.rs).
fn membership_routes() -> Router<Arc<MetaNode>> {
    use trireme_api::membership::*;
    Router::new()
        .route(MetaMembers::PATH, post(typed::handle::<MetaMembers>))
        .route(AddLearner::PATH, post(typed::handle::<AddLearner>))
        .route(PromoteVoter::PATH, post(typed::handle::<PromoteVoter>))
        .route(RemoveMember::PATH, post(typed::handle::<RemoveMember>))
        .route(TransferLeader::PATH, post(typed::handle::<TransferLeader>))
        .route(StartElection::PATH, post(typed::handle::<StartElection>))
}

/// `trireme disk swap|replace` (service/swap.rs, swap_status.rs).
fn swap_routes() -> Router<Arc<MetaNode>> {
    use trireme_api::swap::*;
    Router::new()
        .route(AdmitDisk::PATH, post(typed::handle::<AdmitDisk>))
        .route(SwapStatus::PATH, post(typed::handle::<SwapStatus>))
        .route(ListSwaps::PATH, post(typed::handle::<ListSwaps>))
        .route(
            VerifyDiskCopies::PATH,
            post(typed::handle::<VerifyDiskCopies>),
        )
}

/// `trireme token ...` and `trireme audit` (service/admin.rs).
fn admin_routes() -> Router<Arc<MetaNode>> {
    use trireme_api::admin::*;
    Router::new()
        .route(CreateToken::PATH, post(typed::handle::<CreateToken>))
        .route(ListTokens::PATH, post(typed::handle::<ListTokens>))
        .route(RevokeToken::PATH, post(typed::handle::<RevokeToken>))
        .route(ListAudit::PATH, post(typed::handle::<ListAudit>))
        .route(RecordAudit::PATH, post(typed::handle::<RecordAudit>))
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
