//! The on-disk form of a history: JSON lines, one event per line, in the order they happened.
//!
//! Three record types, told apart by `"type"`:
//!
//! ```text
//! {"type":"invoke","id":3,"process":1,"time":1200,"op":{"kind":"put","key":"k1","value":7,"hash":"<64 hex>","size":1024,"multipart":false}}
//! {"type":"complete","id":3,"time":5400,"outcome":{"status":"ok","result":{"kind":"written"}}}
//! {"type":"invoke","id":4,"process":2,"time":1300,"op":{"kind":"get","key":"k1"}}
//! {"type":"complete","id":4,"time":5600,"outcome":{"status":"ok","result":{"kind":"read","value":{"value":7,"hash":"<64 hex>","size":1024}}}}
//! {"type":"complete","id":5,"time":9000,"outcome":{"status":"unknown","reason":"timeout"}}
//! {"type":"complete","id":6,"time":9100,"outcome":{"status":"ok","result":{"kind":"listed","keys":["a","b"]}}}
//! {"type":"mark","time":9500,"label":"partition healed"}
//! ```
//!
//! Op kinds are `put`, `get`, `delete` and `list` (`{"kind":"list","prefix":"p/"}`); outcome
//! statuses are `ok` (with a `result`), `fail` and `unknown` (with a `reason`); a 404 read is
//! `{"kind":"read","value":null}`. Event per line (rather than op per line) lets a recorder stream
//! as it goes: an op whose `complete` line never came (the recorder died, the op hung) loads as
//! Unknown. Blank lines are skipped; anything else that is not a valid record is refused with its
//! line number.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::builder::{HistoryBuilder, HistoryError};
use crate::history::{History, OpId, OpKind, Outcome};

/// One line of a history file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Invoke {
        id: OpId,
        process: u64,
        time: u64,
        op: OpKind,
    },
    Complete {
        id: OpId,
        time: u64,
        outcome: Outcome,
    },
    Mark {
        time: u64,
        label: String,
    },
}

impl Record {
    /// The record as one JSON line, without the newline.
    pub fn to_line(&self) -> String {
        // Serializing these plain enums of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn time(&self) -> u64 {
        match self {
            Record::Invoke { time, .. }
            | Record::Complete { time, .. }
            | Record::Mark { time, .. } => *time,
        }
    }

    /// Feeds this record into a builder.
    pub fn apply(self, builder: &mut HistoryBuilder) -> Result<(), HistoryError> {
        match self {
            Record::Invoke {
                id,
                process,
                time,
                op,
            } => builder.invoke(id, process, time, op),
            Record::Complete { id, time, outcome } => builder.complete(id, time, outcome),
            Record::Mark { time, label } => {
                builder.mark(time, label);
                Ok(())
            }
        }
    }
}

/// Why a history file cannot be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot open history {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read history at line {line}: {source}")]
    Io { line: usize, source: io::Error },
    #[error("history line {line}: not a valid record: {source}")]
    Json {
        line: usize,
        source: serde_json::Error,
    },
    #[error("history line {line}: {source}")]
    Invalid { line: usize, source: HistoryError },
}

/// Loads a history from JSON lines.
pub fn load(reader: impl BufRead) -> Result<History, LoadError> {
    let mut builder = HistoryBuilder::default();
    for (index, line) in reader.lines().enumerate() {
        let line_no = index + 1;
        let text = line.map_err(|source| LoadError::Io {
            line: line_no,
            source,
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&text).map_err(|source| LoadError::Json {
            line: line_no,
            source,
        })?;
        record
            .apply(&mut builder)
            .map_err(|source| LoadError::Invalid {
                line: line_no,
                source,
            })?;
    }
    Ok(builder.finish())
}

/// Loads a history file.
pub fn load_file(path: &Path) -> Result<History, LoadError> {
    let file = File::open(path).map_err(|source| LoadError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    load(BufReader::new(file))
}

/// The records of a history in time order (invocations before completions at equal times).
/// Ops that never completed get no `complete` record.
pub fn records(history: &History) -> Vec<Record> {
    let mut records = Vec::with_capacity(history.len() * 2 + history.marks().len());
    for op in history.ops() {
        records.push(Record::Invoke {
            id: op.id,
            process: op.process,
            time: op.invoked_at,
            op: op.kind.clone(),
        });
        if let Some(time) = op.completed_at {
            records.push(Record::Complete {
                id: op.id,
                time,
                outcome: op.outcome.clone(),
            });
        }
    }
    for mark in history.marks() {
        records.push(Record::Mark {
            time: mark.time,
            label: mark.label.clone(),
        });
    }
    // Stable: an op's invoke stays before its complete when both have the same time.
    records.sort_by_key(|r| (r.time(), !matches!(r, Record::Invoke { .. })));
    records
}

/// Writes a history as JSON lines.
pub fn write(history: &History, mut out: impl Write) -> io::Result<()> {
    for record in records(history) {
        writeln!(out, "{}", record.to_line())?;
    }
    out.flush()
}
