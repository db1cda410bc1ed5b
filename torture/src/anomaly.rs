//! [`Anomaly`]: what every checker returns, one per violation found.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::history::{Op, OpId, OpKind, Outcome, ValueId};

/// The kinds of violation the checkers know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    /// No order of the key's ops fits both real time and a register's semantics.
    NotLinearizable,
    /// An acknowledged put neither survives in the final reads nor was overwritten.
    LostWrite,
    /// A read returned a value id no put of that key ever wrote.
    Phantom,
    /// A read after an acknowledged delete returned a value written before the delete.
    Resurrection,
    /// A list missed a key whose acknowledged put completed before the list began.
    ListMissingKey,
    /// A list showed a key that no put could have created.
    ListPhantomKey,
    /// A list showed a key deleted (acknowledged) before the list began and not put since.
    ListDeletedKey,
    /// A read body's hash differs from the hash of the body written for that value id.
    ContentMismatch,
    /// A read body's size differs from the size written for that value id.
    SizeMismatch,
}

impl AnomalyKind {
    /// Every kind, in report order.
    pub const ALL: [AnomalyKind; 9] = [
        AnomalyKind::NotLinearizable,
        AnomalyKind::LostWrite,
        AnomalyKind::Phantom,
        AnomalyKind::Resurrection,
        AnomalyKind::ListMissingKey,
        AnomalyKind::ListPhantomKey,
        AnomalyKind::ListDeletedKey,
        AnomalyKind::ContentMismatch,
        AnomalyKind::SizeMismatch,
    ];

    /// Kebab-case name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::NotLinearizable => "not-linearizable",
            AnomalyKind::LostWrite => "lost-write",
            AnomalyKind::Phantom => "phantom",
            AnomalyKind::Resurrection => "resurrection",
            AnomalyKind::ListMissingKey => "list-missing-key",
            AnomalyKind::ListPhantomKey => "list-phantom-key",
            AnomalyKind::ListDeletedKey => "list-deleted-key",
            AnomalyKind::ContentMismatch => "content-mismatch",
            AnomalyKind::SizeMismatch => "size-mismatch",
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One violation: its kind, the key (or list prefix), the ops involved and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub key: String,
    /// The op that shows the violation first, then the ops that make it one.
    pub ops: Vec<OpId>,
    /// One line for a human.
    pub explanation: String,
}

impl Anomaly {
    pub fn new(
        kind: AnomalyKind,
        key: impl Into<String>,
        ops: Vec<OpId>,
        explanation: impl Into<String>,
    ) -> Self {
        Anomaly {
            kind,
            key: key.into(),
            ops,
            explanation: explanation.into(),
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ops: Vec<String> = self.ops.iter().map(|id| format!("#{id}")).collect();
        write!(
            f,
            "{} on {:?} (ops {}): {}",
            self.kind,
            self.key,
            ops.join(", "),
            self.explanation
        )
    }
}

/// A short description of an op for explanations, e.g. `put #4 of value 7 (client 2,
/// acknowledged)` or `get #12 (client 3) returning value 7`.
pub(crate) fn describe(op: &Op) -> String {
    let what = match &op.kind {
        OpKind::Put { value, .. } => {
            format!("{} #{} of value {value}", op.kind.class().name(), op.id)
        }
        other => format!("{} #{}", other.class().name(), op.id),
    };
    let p = op.process;
    match (&op.outcome, op.read(), op.listed()) {
        (Outcome::Ok { .. }, Some(read), _) => {
            format!(
                "{what} (client {p}) returning {}",
                show_state(read.map(|r| r.value))
            )
        }
        (Outcome::Ok { .. }, _, Some(keys)) => {
            format!("{what} (client {p}) returning {} keys", keys.len())
        }
        (Outcome::Ok { .. }, _, _) => format!("{what} (client {p}, acknowledged)"),
        (Outcome::Fail { .. }, _, _) => format!("{what} (client {p}, failed)"),
        (Outcome::Unknown { .. }, _, _) => format!("{what} (client {p}, unknown outcome)"),
    }
}

/// A register state for explanations: `value 7` or `absent`.
pub(crate) fn show_state(state: Option<ValueId>) -> String {
    match state {
        Some(value) => format!("value {value}"),
        None => String::from("absent"),
    }
}
