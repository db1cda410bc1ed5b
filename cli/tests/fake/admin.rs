//! The fake meta-server's credentials: the cluster secret or an operator token, the access
//! class of each RPC (like `meta-server/src/http/access.rs`), the audit log of admin actions
//! by tokens, and the token RPCs. Tokens it knows at start come from `tokens.json` in its data
//! directory (written by [`super::cluster::FakeCluster`]); `trireme up` creates its own.

use super::{route, FakeMeta, Shared};
use axum::http::HeaderMap;
use axum::Router;
use serde::{Deserialize, Serialize};
use trireme_api::admin::*;
use trireme_api::auth::SECRET_HEADER;
use trireme_api::durability::{ControlScrub, SetWorkerSetting};
use trireme_api::meta::*;
use trireme_api::{ApiError, ErrorCode, Rpc};

/// The file holding the fake cluster's tokens.
pub const TOKENS_FILE: &str = "fake-tokens.json";

/// One token the fake knows (the token itself: it is a fake).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FakeToken {
    pub token: String,
    pub name: String,
    pub role: Role,
}

/// RPCs only the cluster secret may call.
const SERVER_ONLY: [&str; 2] = [InitCluster::PATH, Heartbeat::PATH];
/// RPCs that need an admin token (others take any token).
const ADMIN: [&str; 11] = [
    CreateBucket::PATH,
    DeleteBucket::PATH,
    SetBucketGrant::PATH,
    CreateAccessKey::PATH,
    GetAccessKey::PATH,
    DeleteAccessKey::PATH,
    SetWorkerSetting::PATH,
    ControlScrub::PATH,
    CreateToken::PATH,
    ListTokens::PATH,
    RevokeToken::PATH,
];

/// Who called: None for the cluster secret, else the token's name and role.
pub type Caller = Option<(String, Role)>;

/// Authenticates and authorizes one request to `path`.
pub(super) fn check(m: &FakeMeta, headers: &HeaderMap, path: &str) -> Result<Caller, ApiError> {
    let header = |n: &str| headers.get(n).map(|v| v.as_bytes().to_vec());
    if let Some(secret) = header(SECRET_HEADER) {
        if secret != m.config.cluster.secret.as_bytes() {
            return Err(ApiError::new(ErrorCode::Unauthorized, "bad secret"));
        }
        return Ok(None);
    }
    let token = header(TOKEN_HEADER).unwrap_or_default();
    let Some(t) = load(m).into_iter().find(|t| t.token.as_bytes() == token) else {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "unknown or revoked operator token",
        ));
    };
    if SERVER_ONLY.contains(&path) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "permission denied: servers only",
        ));
    }
    if ADMIN.contains(&path) && t.role == Role::Reader {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "permission denied: needs an admin token; token {:?} is a reader token",
                t.name
            ),
        ));
    }
    Ok(Some((t.name, t.role)))
}

/// Records an admin action by a token.
pub(super) fn record(
    m: &mut FakeMeta,
    caller: &Caller,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
    result: &Result<(), ApiError>,
) {
    let Some((who, role)) = caller else { return };
    if !ADMIN.contains(&path) {
        return;
    }
    let reason = headers
        .get(REASON_HEADER)
        .and_then(|v| decode_reason(v.as_bytes()));
    let mut args: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    if let Some(s) = args.get_mut("secret_key").filter(|s| !s.is_null()) {
        *s = "<redacted>".into();
    }
    let index = m.audit.len() as u64 + 10;
    m.audit.push(AuditEntry {
        index,
        at_ms: 1_700_000_000_000 + index * 1000,
        who: who.clone(),
        role: Some(*role),
        action: path.trim_start_matches("/v1/meta/").to_string(),
        args,
        reason,
        ok: result.is_ok(),
        result: match result {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        },
    });
}

pub(super) fn routes(router: Router<Shared>) -> Router<Shared> {
    let router = route::<CreateToken>(router, |m, req| {
        let mut tokens = load(m);
        if tokens.iter().any(|t| t.name == req.name) {
            return Err(ApiError::invalid(format!(
                "a token named {:?} exists",
                req.name
            )));
        }
        let t = FakeToken {
            token: format!("trt_fake{}{}", req.name, tokens.len() + 1),
            name: req.name.clone(),
            role: req.role,
        };
        tokens.push(t.clone());
        save(m, &tokens);
        Ok(CreateTokenResponse {
            token: t.token.clone(),
            info: info(&t),
        })
    });
    let router = route::<ListTokens>(router, |m, _| {
        Ok(ListTokensResponse {
            tokens: load(m).iter().map(info).collect(),
        })
    });
    let router = route::<RevokeToken>(router, |m, req| {
        let mut tokens = load(m);
        let t = tokens
            .iter()
            .find(|t| t.name == req.name)
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NotFound,
                    format!("no token named {:?}", req.name),
                )
            })?;
        tokens.retain(|x| x.name != req.name);
        save(m, &tokens);
        Ok(info(&t))
    });
    route::<ListAudit>(router, |m, req| {
        let limit = if req.limit == 0 {
            100
        } else {
            req.limit as usize
        };
        let entries: Vec<AuditEntry> = m.audit.iter().rev().take(limit).cloned().collect();
        Ok(ListAuditResponse {
            more: m.audit.len() > entries.len(),
            entries,
        })
    })
}

fn load(m: &FakeMeta) -> Vec<FakeToken> {
    std::fs::read_to_string(m.tokens_file())
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn save(m: &FakeMeta, tokens: &[FakeToken]) {
    let tmp = m.tokens_file().with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(tokens).expect("json")).expect("write tokens");
    std::fs::rename(&tmp, m.tokens_file()).expect("rename tokens");
}

fn info(t: &FakeToken) -> TokenInfo {
    TokenInfo {
        name: t.name.clone(),
        role: t.role,
        id: format!("{:0>12}", t.name.len()),
        created_ms: 1_700_000_000_000,
        created_by: SERVER_PRINCIPAL.to_string(),
    }
}
