//! [`HistoryBuilder`]: assembles a [`History`] event by event, refusing anything the checkers
//! could not trust (a reused op id or value id, a completion without an invocation, a result
//! that does not fit the op kind, a completion before its invocation).

use std::collections::HashMap;

use thiserror::Error;

use crate::history::{History, Mark, Op, OpId, OpKind, OpResult, Outcome, ValueId};

/// Why an event cannot enter a history.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HistoryError {
    #[error("op {id} is invoked twice")]
    DuplicateOp { id: OpId },
    #[error("op {id} writes value id {value}, already written by op {first}")]
    DuplicateValue {
        id: OpId,
        value: ValueId,
        first: OpId,
    },
    #[error("op {id} completes but was never invoked")]
    NotInvoked { id: OpId },
    #[error("op {id} completes twice")]
    CompletedTwice { id: OpId },
    #[error("op {id} completes at {completed} before its invocation at {invoked}")]
    CompletedBeforeInvoked {
        id: OpId,
        invoked: u64,
        completed: u64,
    },
    #[error("op {id} is a {kind} but its result is `{result}`")]
    ResultMismatch {
        id: OpId,
        kind: &'static str,
        result: &'static str,
    },
    #[error("op {id} has an ok or fail outcome but no completion time")]
    MissingCompletion { id: OpId },
    #[error("op {id}: {hash:?} is not a 64-digit hex BLAKE3 hash")]
    BadHash { id: OpId, hash: String },
}

/// Collects invocations and completions, checking each as it arrives.
#[derive(Debug, Clone, Default)]
pub struct HistoryBuilder {
    ops: Vec<Op>,
    completed: Vec<bool>,
    by_id: HashMap<OpId, usize>,
    values: HashMap<ValueId, OpId>,
    marks: Vec<Mark>,
}

const NEVER_COMPLETED: &str = "never completed";

impl HistoryBuilder {
    /// Records that op `id` was invoked at `time`.
    pub fn invoke(
        &mut self,
        id: OpId,
        process: u64,
        time: u64,
        kind: OpKind,
    ) -> Result<(), HistoryError> {
        if self.by_id.contains_key(&id) {
            return Err(HistoryError::DuplicateOp { id });
        }
        if let OpKind::Put { value, hash, .. } = &kind {
            if let Some(&first) = self.values.get(value) {
                return Err(HistoryError::DuplicateValue {
                    id,
                    value: *value,
                    first,
                });
            }
            check_hash(id, hash)?;
            self.values.insert(*value, id);
        }
        self.by_id.insert(id, self.ops.len());
        self.ops.push(Op {
            id,
            process,
            kind,
            invoked_at: time,
            completed_at: None,
            outcome: Outcome::unknown(NEVER_COMPLETED),
        });
        self.completed.push(false);
        Ok(())
    }

    /// Records that op `id` completed at `time` with `outcome`.
    pub fn complete(&mut self, id: OpId, time: u64, outcome: Outcome) -> Result<(), HistoryError> {
        let &index = self.by_id.get(&id).ok_or(HistoryError::NotInvoked { id })?;
        if self.completed[index] {
            return Err(HistoryError::CompletedTwice { id });
        }
        let op = &mut self.ops[index];
        if time < op.invoked_at {
            return Err(HistoryError::CompletedBeforeInvoked {
                id,
                invoked: op.invoked_at,
                completed: time,
            });
        }
        check_result(op, &outcome)?;
        op.completed_at = Some(time);
        op.outcome = outcome;
        self.completed[index] = true;
        Ok(())
    }

    /// Adds a note at `time`.
    pub fn mark(&mut self, time: u64, label: impl Into<String>) {
        self.marks.push(Mark {
            time,
            label: label.into(),
        });
    }

    /// Adds a finished op (one without a completion time must be Unknown).
    pub fn push(&mut self, op: Op) -> Result<(), HistoryError> {
        let Op {
            id,
            process,
            kind,
            invoked_at,
            completed_at,
            outcome,
        } = op;
        match completed_at {
            Some(time) => {
                self.invoke(id, process, invoked_at, kind)?;
                self.complete(id, time, outcome)
            }
            None if matches!(outcome, Outcome::Unknown { .. }) => {
                self.invoke(id, process, invoked_at, kind)?;
                let index = self.ops.len() - 1;
                self.ops[index].outcome = outcome;
                Ok(())
            }
            None => Err(HistoryError::MissingCompletion { id }),
        }
    }

    /// Number of ops invoked so far.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The history so far; ops still in flight count as Unknown.
    pub fn snapshot(&self) -> History {
        self.clone().finish()
    }

    /// The finished history; ops still in flight count as Unknown ("never completed").
    pub fn finish(self) -> History {
        History::index(self.ops, self.marks)
    }
}

fn check_hash(id: OpId, hash: &str) -> Result<(), HistoryError> {
    if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(HistoryError::BadHash {
            id,
            hash: hash.to_string(),
        })
    }
}

fn check_result(op: &Op, outcome: &Outcome) -> Result<(), HistoryError> {
    let Outcome::Ok { result } = outcome else {
        return Ok(());
    };
    let fits = matches!(
        (&op.kind, result),
        (
            OpKind::Put { .. } | OpKind::Delete { .. },
            OpResult::Written
        ) | (OpKind::Get { .. }, OpResult::Read { .. })
            | (OpKind::List { .. }, OpResult::Listed { .. })
    );
    if let (true, OpResult::Read { value: Some(read) }) = (fits, result) {
        check_hash(op.id, &read.hash)?;
    }
    if fits {
        return Ok(());
    }
    Err(HistoryError::ResultMismatch {
        id: op.id,
        kind: op.kind.class().name(),
        result: match result {
            OpResult::Written => "written",
            OpResult::Read { .. } => "read",
            OpResult::Listed { .. } => "listed",
        },
    })
}
