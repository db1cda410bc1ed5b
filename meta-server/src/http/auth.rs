//! The middleware in front of every route but `/metrics`: who is calling (the cluster secret,
//! compared in constant time, or an operator token, looked up by its SHA-256 in the
//! replicated state), from which cluster, and may they call this path (`access.rs`).
//!
//! Tokens are checked against this node's state machine. A follower that has not applied a
//! revocation yet accepts the token for a few milliseconds more, but only for requests it
//! answers itself (status); everything else it sends to the leader, which has applied it.

use super::access::{access_of, authorize, Principal};
use super::error_response;
use crate::node::MetaNode;
use crate::service::admin::token_hash;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use trireme_api::admin::{decode_reason, MAX_REASON_LEN, REASON_HEADER, TOKEN_HEADER};
use trireme_api::auth::{secrets_equal, CLUSTER_HEADER, SECRET_HEADER};
use trireme_api::{ApiError, ErrorCode};

/// The authenticated caller of one request (a request extension for the handlers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    /// The operator's `--reason`, for the audit log.
    pub reason: Option<String>,
}

pub async fn authenticate(
    State(node): State<Arc<MetaNode>>,
    mut req: Request,
    next: Next,
) -> Response {
    let caller = identify(&node, req.headers()).and_then(|caller| {
        authorize(&caller.principal, access_of(req.uri().path()))?;
        Ok(caller)
    });
    match caller {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => error_response(e),
    }
}

/// Authenticates a request's headers.
pub fn identify(node: &MetaNode, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let settings = &node.config.cluster;
    let unauthorized = |m: &str| ApiError::new(ErrorCode::Unauthorized, m);
    let principal = if let Some(secret) = headers.get(SECRET_HEADER) {
        if !secrets_equal(secret.as_bytes(), settings.secret.as_bytes()) {
            return Err(unauthorized("missing or wrong cluster secret"));
        }
        Principal::Server
    } else if let Some(token) = headers.get(TOKEN_HEADER) {
        // A lookup by hash: timing reveals nothing about the token itself.
        match node.reader.token_by_hash(&token_hash(token.as_bytes()))? {
            Some(t) => Principal::Operator {
                name: t.name,
                role: t.role,
            },
            None => return Err(unauthorized("unknown or revoked operator token")),
        }
    } else {
        return Err(unauthorized(
            "missing credentials (cluster secret or operator token)",
        ));
    };
    let cluster = headers
        .get(CLUSTER_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if cluster != settings.cluster_id.as_bytes() {
        return Err(ApiError::new(
            ErrorCode::WrongCluster,
            "request from another cluster",
        ));
    }
    Ok(Caller {
        principal,
        reason: reason(headers)?,
    })
}

fn reason(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get(REASON_HEADER) else {
        return Ok(None);
    };
    let text = decode_reason(raw.as_bytes())
        .ok_or_else(|| ApiError::invalid(format!("malformed {REASON_HEADER} header")))?;
    if text.len() > MAX_REASON_LEN {
        return Err(ApiError::invalid(format!(
            "the reason is longer than {MAX_REASON_LEN} bytes"
        )));
    }
    Ok(Some(text).filter(|t| !t.trim().is_empty()))
}
