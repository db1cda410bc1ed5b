//! The recorded history: what each client asked for, when, and what came back.
//!
//! An [`Op`] is one client operation with its invocation time and, once it finished, its
//! completion time and [`Outcome`]. Times are monotonic nanoseconds from one clock of the
//! recording process, so two ops are ordered in real time exactly when one completed before the
//! other was invoked (equal times count as concurrent).
//!
//! Outcomes follow Jepsen's three-way split: `Ok` (acknowledged), `Fail` (definitely did not take
//! effect, e.g. a 4xx refusal) and `Unknown` (timeout, reset, 5xx: it may have taken effect at any
//! time after its invocation, or never). An op that was invoked but never completed is Unknown.
//!
//! The checkers rely on two invariants that [`HistoryBuilder`] enforces: op ids are unique, and
//! every put writes a value id no other put uses.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::builder::HistoryBuilder;

/// Identifier of one operation, unique within a history.
pub type OpId = u64;
/// Identifier of a written value, unique across every put of a history.
pub type ValueId = u64;

/// The hex BLAKE3 hash of a body, the form [`OpKind::Put`] and [`ReadValue`] carry.
pub fn content_hash(body: &[u8]) -> String {
    hex::encode(blake3::hash(body).as_bytes())
}

/// What a client asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpKind {
    /// Write `value` (a unique id carried in the body or metadata) to `key`.
    Put {
        key: String,
        value: ValueId,
        /// [`content_hash`] of the body sent.
        hash: String,
        /// Body length in bytes.
        size: u64,
        /// Written as a multipart upload (checked exactly like a plain put).
        #[serde(default)]
        multipart: bool,
    },
    /// Read `key`.
    Get { key: String },
    /// Delete `key`.
    Delete { key: String },
    /// List every key under `prefix` (all pages of one logical listing).
    List { prefix: String },
}

/// The five classes of operation counted separately in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpClass {
    Put,
    MultipartPut,
    Get,
    Delete,
    List,
}

impl OpClass {
    /// Every class, in report order.
    pub const ALL: [OpClass; 5] = [
        OpClass::Put,
        OpClass::MultipartPut,
        OpClass::Get,
        OpClass::Delete,
        OpClass::List,
    ];

    /// Short name used in tables and explanations.
    pub fn name(self) -> &'static str {
        match self {
            OpClass::Put => "put",
            OpClass::MultipartPut => "multipart",
            OpClass::Get => "get",
            OpClass::Delete => "delete",
            OpClass::List => "list",
        }
    }
}

impl OpKind {
    /// The key this op touches; `None` for a list.
    pub fn key(&self) -> Option<&str> {
        match self {
            OpKind::Put { key, .. } | OpKind::Get { key } | OpKind::Delete { key } => Some(key),
            OpKind::List { .. } => None,
        }
    }

    /// The report class of this op.
    pub fn class(&self) -> OpClass {
        match self {
            OpKind::Put {
                multipart: false, ..
            } => OpClass::Put,
            OpKind::Put {
                multipart: true, ..
            } => OpClass::MultipartPut,
            OpKind::Get { .. } => OpClass::Get,
            OpKind::Delete { .. } => OpClass::Delete,
            OpKind::List { .. } => OpClass::List,
        }
    }
}

/// The value a successful get returned: the value id it claims and what its body hashed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadValue {
    pub value: ValueId,
    /// [`content_hash`] of the body actually received.
    pub hash: String,
    /// Length of the body actually received.
    pub size: u64,
}

/// The result of an acknowledged op; it must match the op kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpResult {
    /// A put or delete was acknowledged.
    Written,
    /// A get returned a value, or `None` for a 404.
    Read { value: Option<ReadValue> },
    /// A list returned these keys.
    Listed { keys: Vec<String> },
}

/// How an op ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Acknowledged, with its result.
    Ok { result: OpResult },
    /// Definitely did not take effect.
    Fail { reason: String },
    /// May or may not take effect, at any time after the invocation.
    Unknown { reason: String },
}

impl Outcome {
    /// An acknowledged put or delete.
    pub fn written() -> Self {
        Outcome::Ok {
            result: OpResult::Written,
        }
    }

    /// An acknowledged get (`None` for a 404).
    pub fn read(value: Option<ReadValue>) -> Self {
        Outcome::Ok {
            result: OpResult::Read { value },
        }
    }

    /// An acknowledged list.
    pub fn listed(keys: Vec<String>) -> Self {
        Outcome::Ok {
            result: OpResult::Listed { keys },
        }
    }

    /// A definite refusal.
    pub fn fail(reason: impl Into<String>) -> Self {
        Outcome::Fail {
            reason: reason.into(),
        }
    }

    /// An indefinite result (timeout, reset, 5xx).
    pub fn unknown(reason: impl Into<String>) -> Self {
        Outcome::Unknown {
            reason: reason.into(),
        }
    }
}

/// One client operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    pub id: OpId,
    /// The client (process, worker) that issued it; each runs one op at a time.
    pub process: u64,
    pub kind: OpKind,
    pub invoked_at: u64,
    /// `None` when the op never completed (then `outcome` is Unknown).
    pub completed_at: Option<u64>,
    pub outcome: Outcome,
}

impl Op {
    /// The key this op touches; `None` for a list.
    pub fn key(&self) -> Option<&str> {
        self.kind.key()
    }

    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, Outcome::Ok { .. })
    }

    pub fn is_fail(&self) -> bool {
        matches!(self.outcome, Outcome::Fail { .. })
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self.outcome, Outcome::Unknown { .. })
    }

    /// The value id written, for a put.
    pub fn put_value(&self) -> Option<ValueId> {
        match self.kind {
            OpKind::Put { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Is this a put or a delete?
    pub fn is_write(&self) -> bool {
        matches!(self.kind, OpKind::Put { .. } | OpKind::Delete { .. })
    }

    /// What an acknowledged get returned (`Some(None)` for a 404); `None` otherwise.
    pub fn read(&self) -> Option<Option<&ReadValue>> {
        match &self.outcome {
            Outcome::Ok {
                result: OpResult::Read { value },
            } => Some(value.as_ref()),
            _ => None,
        }
    }

    /// The keys an acknowledged list returned; `None` otherwise.
    pub fn listed(&self) -> Option<&[String]> {
        match &self.outcome {
            Outcome::Ok {
                result: OpResult::Listed { keys },
            } => Some(keys),
            _ => None,
        }
    }

    /// Completion time, or `u64::MAX` when it never completed.
    pub fn completed_or_max(&self) -> u64 {
        self.completed_at.unwrap_or(u64::MAX)
    }

    /// Could this op have taken effect after `other` took effect? True unless this op
    /// definitely completed before `other` was invoked (strictly: equal times are concurrent).
    /// Unknown ops may take effect at any time after their invocation, so they always can.
    pub fn may_follow(&self, other: &Op) -> bool {
        self.is_unknown() || self.completed_or_max() >= other.invoked_at
    }
}

/// A note in the history at a point in time (e.g. a fault injected or healed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub time: u64,
    pub label: String,
}

/// A validated history with indexes the checkers share.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Sorted by invocation time, then id.
    ops: Vec<Op>,
    marks: Vec<Mark>,
    by_id: HashMap<OpId, usize>,
    put_by_value: HashMap<ValueId, usize>,
    by_key: BTreeMap<String, Vec<usize>>,
}

impl History {
    /// A builder checking the invariants op by op.
    pub fn builder() -> HistoryBuilder {
        HistoryBuilder::default()
    }

    /// Builds a history from finished ops, checking the invariants.
    pub fn from_ops(ops: Vec<Op>) -> Result<History, crate::builder::HistoryError> {
        let mut builder = HistoryBuilder::default();
        for op in ops {
            builder.push(op)?;
        }
        Ok(builder.finish())
    }

    pub(crate) fn index(mut ops: Vec<Op>, mut marks: Vec<Mark>) -> History {
        ops.sort_by_key(|op| (op.invoked_at, op.id));
        marks.sort_by_key(|m| m.time);
        let mut history = History {
            ops,
            marks,
            ..History::default()
        };
        for (i, op) in history.ops.iter().enumerate() {
            history.by_id.insert(op.id, i);
            if let Some(value) = op.put_value() {
                history.put_by_value.insert(value, i);
            }
            if let Some(key) = op.key() {
                history.by_key.entry(key.to_string()).or_default().push(i);
            }
        }
        history
    }

    /// Every op, sorted by invocation time.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Every mark, sorted by time.
    pub fn marks(&self) -> &[Mark] {
        &self.marks
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The op with this id.
    pub fn op(&self, id: OpId) -> Option<&Op> {
        self.by_id.get(&id).map(|&i| &self.ops[i])
    }

    /// The put that wrote this value id, whatever its outcome.
    pub fn put_of(&self, value: ValueId) -> Option<&Op> {
        self.put_by_value.get(&value).map(|&i| &self.ops[i])
    }

    /// Every key touched by a put, get or delete, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.by_key.keys().map(String::as_str)
    }

    /// The puts, gets and deletes of `key`, by invocation time.
    pub fn ops_of_key<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a Op> + 'a {
        let indexes = self.by_key.get(key).map(Vec::as_slice).unwrap_or(&[]);
        indexes.iter().map(move |&i| &self.ops[i])
    }

    /// Keys starting with `prefix` that some put, get or delete touched, sorted.
    pub fn keys_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.by_key
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .map(|(k, _)| k.as_str())
            .take_while(move |k| k.starts_with(prefix))
    }
}
