//! Applying the admin commands: operator tokens (create, revoke) and the audit log (an admin
//! action applied together with its entry, or an entry on its own). Also the reads of tokens
//! and of the audit log.
//!
//! Audit entries are keyed by the Raft log index of the command that records them. The index
//! is not in the command (the leader does not know it when it proposes); it is the index
//! after the last applied one, because the state machine applies every entry (blank,
//! membership, normal) in log order, one write batch each, recording it as the last applied
//! (`store/sm.rs`). `meta-server/tests/admin.rs` checks it against the log.

use super::apply::{apply_command, refused};
use super::keys::*;
use super::read::Reader;
use super::{cf, decode, snapshot, StoreError};
use crate::types::{Command, CommandResult};
use rocksdb::{Direction, IteratorMode, WriteBatch};
use serde::{Deserialize, Serialize};
use trireme_api::admin::{AuditEntry, Role, TokenInfo};
use trireme_api::ErrorCode;

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
enum StoredToken {
    #[serde(rename = "1")]
    V1(TokenInfo),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "v")]
enum StoredAudit {
    #[serde(rename = "1")]
    V1(AuditEntry),
}

/// The log index of the entry being applied (see the module doc).
fn this_index(r: &Reader) -> Result<u64, StoreError> {
    let (applied, _) = snapshot::applied_state(r.db())?;
    Ok(applied.map(|l| l.index + 1).unwrap_or(0))
}

fn put_audit(r: &Reader, batch: &mut WriteBatch, mut audit: AuditEntry) -> Result<(), StoreError> {
    audit.index = this_index(r)?;
    batch.put_cf(
        cf(r.db(), CF_AUDIT)?,
        audit.index.to_be_bytes(),
        serde_json::to_vec(&StoredAudit::V1(audit))?,
    );
    Ok(())
}

/// Applies `command` and records `audit` with its result, in the same write batch. A refused
/// command changes nothing but is recorded as refused.
pub fn audited(
    r: &Reader,
    batch: &mut WriteBatch,
    mut audit: AuditEntry,
    command: Command,
) -> Result<CommandResult, StoreError> {
    if matches!(
        command,
        Command::Audited { .. } | Command::RecordAudit { .. }
    ) {
        return Ok(refused(
            ErrorCode::InvalidArgument,
            "an audited command cannot hold another audit record",
        ));
    }
    let result = apply_command(r, batch, command)?;
    match &result {
        CommandResult::Refused(e) => {
            audit.ok = false;
            audit.result = e.to_string();
        }
        _ => {
            audit.ok = true;
            audit.result = "ok".to_string();
        }
    }
    put_audit(r, batch, audit)?;
    Ok(result)
}

/// Records an audit entry whose result the leader already knows.
pub fn record_audit(
    r: &Reader,
    batch: &mut WriteBatch,
    audit: AuditEntry,
) -> Result<CommandResult, StoreError> {
    put_audit(r, batch, audit)?;
    Ok(CommandResult::Done)
}

pub fn create_token(
    r: &Reader,
    batch: &mut WriteBatch,
    hash: &str,
    token: TokenInfo,
) -> Result<CommandResult, StoreError> {
    let existing = r.list_tokens()?;
    if existing.iter().any(|(_, t)| t.name == token.name) {
        return Ok(refused(
            ErrorCode::InvalidArgument,
            format!("a token named {:?} exists", token.name),
        ));
    }
    if existing.iter().any(|(h, _)| h == hash) {
        return Ok(refused(ErrorCode::InvalidArgument, "this token exists"));
    }
    batch.put_cf(
        cf(r.db(), CF_TOKENS)?,
        hash.as_bytes(),
        serde_json::to_vec(&StoredToken::V1(token))?,
    );
    Ok(CommandResult::Done)
}

pub fn revoke_token(
    r: &Reader,
    batch: &mut WriteBatch,
    name: &str,
) -> Result<CommandResult, StoreError> {
    let tokens = r.list_tokens()?;
    let Some((hash, info)) = tokens.iter().find(|(_, t)| t.name == name) else {
        return Ok(refused(
            ErrorCode::NotFound,
            format!("no token named {name:?}"),
        ));
    };
    let admins = tokens.iter().filter(|(_, t)| t.role == Role::Admin).count();
    if info.role == Role::Admin && admins <= 1 {
        return Ok(refused(
            ErrorCode::InvalidArgument,
            format!("{name:?} is the last admin token: create another admin token first"),
        ));
    }
    batch.delete_cf(cf(r.db(), CF_TOKENS)?, hash.as_bytes());
    Ok(CommandResult::Done)
}

impl Reader {
    /// The token whose SHA-256 (hex) is `hash`, if it exists (not revoked).
    pub fn token_by_hash(&self, hash: &str) -> Result<Option<TokenInfo>, StoreError> {
        let v = self
            .db()
            .get_cf(cf(self.db(), CF_TOKENS)?, hash.as_bytes())?;
        v.map(|v| decode::<StoredToken>(CF_TOKENS, &v).map(|StoredToken::V1(t)| t))
            .transpose()
    }

    /// Every token with its hash, in hash order.
    pub fn list_tokens(&self) -> Result<Vec<(String, TokenInfo)>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db()
            .iterator_cf(cf(self.db(), CF_TOKENS)?, IteratorMode::Start)
        {
            let (k, v) = item?;
            let StoredToken::V1(t) = decode(CF_TOKENS, &v)?;
            out.push((String::from_utf8_lossy(&k).into_owned(), t));
        }
        Ok(out)
    }

    /// Up to `limit` audit entries with an index below `before` (all without), newest first,
    /// and whether older ones remain.
    pub fn list_audit(
        &self,
        limit: usize,
        before: Option<u64>,
    ) -> Result<(Vec<AuditEntry>, bool), StoreError> {
        let start;
        let mode = match before {
            Some(b) => {
                start = b.to_be_bytes();
                IteratorMode::From(&start, Direction::Reverse)
            }
            None => IteratorMode::End,
        };
        let mut out = Vec::new();
        for item in self.db().iterator_cf(cf(self.db(), CF_AUDIT)?, mode) {
            let (k, v) = item?;
            if before.is_some_and(|b| k.as_ref() >= b.to_be_bytes().as_slice()) {
                continue;
            }
            if out.len() == limit {
                return Ok((out, true));
            }
            let StoredAudit::V1(e) = decode(CF_AUDIT, &v)?;
            out.push(e);
        }
        Ok((out, false))
    }
}
