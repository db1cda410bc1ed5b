//! Recording admin actions in the audit log.
//!
//! The typed handler runs every request inside [`scope`], which holds the caller and, for an
//! audited request, its pending [`AuditEntry`] (who, when, the RPC and its arguments without
//! secrets, the reason). The first Raft command the request proposes ([`MetaNode::write`]
//! calls [`attach`]) carries the entry: `Command::Audited` applies the action and records the
//! entry with its result in one write batch, so an action is never applied without its entry
//! and the entry's result is the state machine's own. A request that proposes no command
//! (a read of secrets, a refusal before any write, a membership change, a leadership
//! transfer) gets a separate `RecordAudit` command right after it finishes, forwarded to the
//! new leader if leadership moved; a request answered `NotLeader` before anything happened is
//! recorded by the leader it is retried on.
//!
//! Audited: admin RPCs called with an operator token, and token creation and revocation
//! whoever calls them (`trireme up` creates the first tokens with the cluster secret).

use crate::error::{MetaError, MetaResult};
use crate::http::access::{Access, Principal};
use crate::node::{now_ms, MetaNode};
use crate::types::Command;
use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;
use trireme_api::admin::{AuditEntry, CreateToken, RecordAudit, RevokeToken, SERVER_PRINCIPAL};
use trireme_api::Rpc;
use trireme_client::{MetaClient, Transport};

/// Largest `args` recorded; a longer request is recorded as its size.
const MAX_ARGS_BYTES: usize = 4096;
/// Request fields never recorded.
const SECRET_FIELDS: [&str; 5] = [
    "secret_key",
    "secret",
    "token",
    "password",
    "secret_access_key",
];

struct RequestCtx {
    principal: Principal,
    pending: Option<AuditEntry>,
}

tokio::task_local! {
    static REQUEST: RefCell<RequestCtx>;
}

/// Whether a call of an RPC of class `access` at `path` by `principal` is audited.
pub fn is_audited(access: Access, path: &str, principal: &Principal) -> bool {
    match principal {
        Principal::Operator { .. } => access == Access::Admin,
        Principal::Server => path == CreateToken::PATH || path == RevokeToken::PATH,
    }
}

/// The name of the caller of the request being served (None outside a request).
pub fn caller_name() -> Option<String> {
    REQUEST
        .try_with(|r| match &r.borrow().principal {
            Principal::Server => SERVER_PRINCIPAL.to_string(),
            Principal::Operator { name, .. } => name.clone(),
        })
        .ok()
}

/// Wraps the first command of an audited request in `Command::Audited`.
pub fn attach(cmd: Command) -> Command {
    if matches!(cmd, Command::Audited { .. } | Command::RecordAudit { .. }) {
        return cmd;
    }
    match REQUEST.try_with(|r| r.borrow_mut().pending.take()) {
        Ok(Some(audit)) => Command::Audited {
            audit,
            command: Box::new(cmd),
        },
        _ => cmd,
    }
}

/// Runs one request's service future with its caller (and, if `audit`, a pending entry),
/// then records the entry if no command carried it.
pub async fn scope<T>(
    node: &MetaNode,
    principal: Principal,
    audit: Option<AuditEntry>,
    fut: impl Future<Output = MetaResult<T>>,
) -> MetaResult<T> {
    let ctx = RefCell::new(RequestCtx {
        principal,
        pending: audit,
    });
    let (result, pending) = REQUEST
        .scope(ctx, async {
            let result = fut.await;
            (result, REQUEST.with(|r| r.borrow_mut().pending.take()))
        })
        .await;
    if let Some(mut entry) = pending {
        match &result {
            // Nothing happened here; the client retries on the leader, which records it.
            Err(MetaError::NotLeader { .. }) => return result,
            Ok(_) => {
                entry.ok = true;
                entry.result = "ok".to_string();
            }
            Err(e) => {
                entry.ok = false;
                entry.result = e.to_string();
            }
        }
        record(node, entry).await;
    }
    result
}

/// A pending entry: who, when, what (the RPC and its redacted arguments), why.
pub fn new_entry(
    principal: &Principal,
    reason: Option<String>,
    path: &str,
    body: &[u8],
) -> AuditEntry {
    let (who, role) = match principal {
        Principal::Server => (SERVER_PRINCIPAL.to_string(), None),
        Principal::Operator { name, role } => (name.clone(), Some(*role)),
    };
    let args = redacted_args(body);
    // Requests that carry their own reason (e.g. a disk drain) count when no header gave one.
    let reason = reason.or_else(|| {
        args.get("reason")
            .and_then(|r| r.as_str())
            .filter(|r| !r.trim().is_empty())
            .map(str::to_string)
    });
    AuditEntry {
        index: 0,
        at_ms: now_ms(),
        who,
        role,
        action: path.trim_start_matches("/v1/meta/").to_string(),
        args,
        reason,
        ok: false,
        result: String::new(),
    }
}

/// The request as JSON with secret fields replaced (or its size, if it is large).
pub fn redacted_args(body: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    redact(&mut v);
    let len = serde_json::to_vec(&v).map(|b| b.len()).unwrap_or(0);
    if len > MAX_ARGS_BYTES {
        return serde_json::json!({ "request_bytes": len });
    }
    v
}

fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, field) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.as_str()) && !field.is_null() {
                    *field = serde_json::Value::String("<redacted>".into());
                } else {
                    redact(field);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Records an entry as its own command; on a node that is no longer the leader (e.g. after a
/// leadership transfer), through the leader.
async fn record(node: &MetaNode, entry: AuditEntry) {
    let cmd = Command::RecordAudit {
        audit: entry.clone(),
    };
    match node.write(cmd).await {
        Ok(_) => {}
        Err(MetaError::NotLeader { .. }) => {
            let members: Vec<String> = {
                let m = node.raft.metrics().borrow().clone();
                m.membership_config
                    .membership()
                    .nodes()
                    .map(|(_, n)| n.addr.clone())
                    .collect()
            };
            let client = MetaClient::new(
                Transport::new(node.config.cluster.clone(), Duration::from_secs(5)),
                members,
                Duration::from_secs(10),
            );
            if let Err(e) = client.call(&RecordAudit { entry }).await {
                tracing::error!(error = %e, "could not record an audit entry on the leader");
            }
        }
        Err(e) => tracing::error!(error = %e, "could not record an audit entry"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::admin::Role;

    #[test]
    fn secrets_are_never_recorded() {
        let body = br#"{"name":"k","access_key":"AK","secret_key":"SK","nested":[{"token":"t"}]}"#;
        let v = redacted_args(body);
        assert_eq!(v["secret_key"], "<redacted>");
        assert_eq!(v["nested"][0]["token"], "<redacted>");
        assert_eq!(v["access_key"], "AK");
        assert!(!v.to_string().contains("SK\""));
        let big = format!(r#"{{"keys":["{}"]}}"#, "x".repeat(10_000));
        assert!(redacted_args(big.as_bytes())["request_bytes"].is_u64());
    }

    #[test]
    fn entries_name_who_what_and_why() {
        let op = Principal::Operator {
            name: "ops".into(),
            role: Role::Admin,
        };
        let e = new_entry(&op, None, "/v1/meta/drain_disk", br#"{"reason":"clicks"}"#);
        assert_eq!((e.who.as_str(), e.role), ("ops", Some(Role::Admin)));
        assert_eq!(e.action, "drain_disk");
        assert_eq!(e.reason.as_deref(), Some("clicks"));
        let e = new_entry(&Principal::Server, Some("why".into()), "/v1/meta/x", b"{}");
        assert_eq!((e.who.as_str(), e.role), (SERVER_PRINCIPAL, None));
        assert_eq!(e.reason.as_deref(), Some("why"));
    }

    #[test]
    fn who_is_audited() {
        let op = Principal::Operator {
            name: "r".into(),
            role: Role::Reader,
        };
        assert!(is_audited(Access::Admin, "/v1/meta/delete_bucket", &op));
        assert!(!is_audited(Access::Read, "/v1/meta/status", &op));
        let s = Principal::Server;
        assert!(!is_audited(Access::Admin, "/v1/meta/delete_bucket", &s));
        assert!(is_audited(Access::Admin, CreateToken::PATH, &s));
    }
}
