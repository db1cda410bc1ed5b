//! Operator credentials and the admin audit log.
//!
//! Servers (chunkservers, gateways, Raft peers) authenticate with the cluster secret. People
//! and scripts authenticate with an *operator token* sent in [`TOKEN_HEADER`] instead. A token
//! has a [`Role`]: `reader` may call the read-only RPCs (status, listings, `trireme audit`),
//! `admin` may also change the cluster (buckets, keys, settings, tokens, disks, membership).
//! A reader token on an admin RPC gets `Forbidden`; an unknown or revoked token
//! `Unauthorized`. The meta-servers keep only the SHA-256 of each token, in Raft.
//!
//! Every admin RPC called with an operator token is recorded in the audit log through Raft
//! (who: the token's name; when; what: the RPC and its arguments, secrets removed; why: the
//! text of [`REASON_HEADER`], from `--reason`; and the result). `trireme audit` lists it.

use crate::rpc;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Header carrying an operator token (instead of the cluster secret).
pub const TOKEN_HEADER: &str = "x-trireme-token";
/// Header carrying the operator's reason for an admin action (percent-encoded UTF-8, see
/// [`encode_reason`]). Recorded in the audit log.
pub const REASON_HEADER: &str = "x-trireme-reason";
/// The longest reason accepted, in bytes (decoded).
pub const MAX_REASON_LEN: usize = 1024;
/// `who` in audit entries of actions authenticated with the cluster secret.
pub const SERVER_PRINCIPAL: &str = "cluster-secret";

/// What an operator token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything an operator can do: read-only RPCs and every admin RPC.
    Admin,
    /// Read-only RPCs: status, listings, repair and scrub status, the audit log.
    Reader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reader => "reader",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "reader" => Ok(Role::Reader),
            other => Err(format!("unknown role {other:?} (admin or reader)")),
        }
    }
}

/// An operator token as listed (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Unique name; the audit log's `who`.
    pub name: String,
    pub role: Role,
    /// The first 12 hex digits of the token's SHA-256: tells tokens apart without revealing them.
    pub id: String,
    pub created_ms: u64,
    /// The name of the token (or [`SERVER_PRINCIPAL`]) that created it.
    pub created_by: String,
}

/// Creates an operator token. The leader generates it and answers it once; only its hash is
/// stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateToken {
    pub name: String,
    pub role: Role,
}
rpc!(CreateToken => CreateTokenResponse, "/v1/meta/create_token", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateTokenResponse {
    /// The token, shown only in this answer.
    pub token: String,
    pub info: TokenInfo,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListTokens {}
rpc!(ListTokens => ListTokensResponse, "/v1/meta/list_tokens", leader);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListTokensResponse {
    /// Oldest first.
    pub tokens: Vec<TokenInfo>,
}

/// Revokes a token by name: it is refused from the moment the revocation is applied. The
/// last admin token cannot be revoked (create another one first).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RevokeToken {
    pub name: String,
}
rpc!(RevokeToken => TokenInfo, "/v1/meta/revoke_token", leader);

/// One admin action, as recorded through Raft.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The Raft log index of the command that recorded it: entries are ordered by it.
    pub index: u64,
    /// When the leader received the request (unix ms).
    pub at_ms: u64,
    /// The token's name, or [`SERVER_PRINCIPAL`].
    pub who: String,
    /// The token's role (None: the cluster secret).
    #[serde(default)]
    pub role: Option<Role>,
    /// The RPC, e.g. `delete_bucket`.
    pub action: String,
    /// Its arguments (the request), with secrets replaced by `"<redacted>"`.
    #[serde(default)]
    pub args: serde_json::Value,
    /// The operator's `--reason`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Whether the action succeeded.
    pub ok: bool,
    /// `ok`, or the error, e.g. `BucketNotEmpty: bucket b is not empty`.
    pub result: String,
}

/// The audit log, newest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListAudit {
    /// At most this many entries (1..=10000; 0 means 100).
    #[serde(default)]
    pub limit: u32,
    /// Only entries with an index below this one (paging back in time).
    #[serde(default)]
    pub before: Option<u64>,
}
rpc!(ListAudit => ListAuditResponse, "/v1/meta/list_audit", leader);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListAuditResponse {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// Whether older entries remain (ask again with `before` = the last index).
    pub more: bool,
}

/// Internal (meta-server to leader): records an audit entry for an admin action whose node
/// lost leadership before it could record it (e.g. a leadership transfer).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordAudit {
    pub entry: AuditEntry,
}
rpc!(RecordAudit => crate::meta::Empty, "/v1/meta/record_audit", leader);

/// Encodes a reason for [`REASON_HEADER`]: bytes outside printable ASCII, and `%`, become
/// `%XX`, so any UTF-8 text (newlines included) fits in a header value.
pub fn encode_reason(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    for b in reason.bytes() {
        if (0x20..0x7F).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes [`encode_reason`]'s output; None if it is malformed or not UTF-8.
pub fn decode_reason(encoded: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        if encoded[i] == b'%' {
            let hex = encoded.get(i + 1..i + 3)?;
            let s = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(s, 16).ok()?);
            i += 3;
        } else {
            out.push(encoded[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_through_a_header() {
        for r in [
            "",
            "disk 3 clicks",
            "100% sure",
            "ticket #42\nsecond line",
            "été ✓",
        ] {
            let e = encode_reason(r);
            assert!(e.bytes().all(|b| (0x20..0x7F).contains(&b)), "{e}");
            assert_eq!(decode_reason(e.as_bytes()).as_deref(), Some(r));
        }
        assert_eq!(decode_reason(b"50%"), None);
        assert_eq!(decode_reason(b"%zz"), None);
        assert_eq!(decode_reason(b"%FF"), None);
    }

    #[test]
    fn roles_parse_and_print() {
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert_eq!("reader".parse::<Role>(), Ok(Role::Reader));
        assert!("root".parse::<Role>().is_err());
        assert_eq!(Role::Reader.to_string(), "reader");
        assert_eq!(
            serde_json::to_string(&Role::Admin).expect("json"),
            "\"admin\""
        );
    }

    #[test]
    fn audit_entries_decode_with_defaults() {
        let e: AuditEntry = serde_json::from_str(
            r#"{"index":7,"at_ms":1,"who":"ops","action":"delete_bucket","ok":true,"result":"ok"}"#,
        )
        .expect("decode");
        assert_eq!((e.index, e.role, e.reason), (7, None, None));
        assert!(e.args.is_null());
    }
}
