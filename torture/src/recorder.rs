//! [`Recorder`]: the thread-safe history recorder a workload driver calls around every request.
//!
//! ```
//! use trireme_torture::{content_hash, OpKind, Outcome, Recorder};
//!
//! let recorder = Recorder::new();
//! let body = b"hello";
//! let value = recorder.next_value();
//! let kind = OpKind::Put {
//!     key: "k".into(),
//!     value,
//!     hash: content_hash(body),
//!     size: body.len() as u64,
//!     multipart: false,
//! };
//! let put = recorder.invoke(0, kind)?;
//! // ... send the request; a timeout or a 5xx would be Outcome::unknown(..) ...
//! recorder.complete(put, Outcome::written())?;
//! let history = recorder.finish()?;
//! assert_eq!(history.len(), 1);
//! # Ok::<(), trireme_torture::RecordError>(())
//! ```
//!
//! Times come from one monotonic clock started with the recorder and are sampled under the lock,
//! so a streamed file is in time order. The invocation time is taken before the request leaves
//! and the completion time after the response arrived, which can only widen an op's window: the
//! checkers stay sound.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use thiserror::Error;

use crate::builder::{HistoryBuilder, HistoryError};
use crate::history::{History, OpId, OpKind, Outcome, ValueId};
use crate::jsonl::Record;

/// Why the recorder refused an event.
#[derive(Debug, Error)]
pub enum RecordError {
    #[error("writing the history stream: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// An invoked op awaiting its completion; complete it exactly once.
#[must_use = "an op handle must be completed (or the op counts as never completed)"]
#[derive(Debug, PartialEq, Eq)]
pub struct OpHandle {
    id: OpId,
}

impl OpHandle {
    /// The id of the op.
    pub fn id(&self) -> OpId {
        self.id
    }
}

struct Inner {
    builder: HistoryBuilder,
    next_id: OpId,
    next_value: ValueId,
    sink: Option<Box<dyn Write + Send>>,
}

/// A cloneable, thread-safe recorder; clones share one history.
#[derive(Clone)]
pub struct Recorder {
    start: Instant,
    inner: Arc<Mutex<Inner>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// A recorder keeping the history in memory only.
    pub fn new() -> Self {
        Recorder::with_sink(None)
    }

    /// A recorder that also streams every event, one JSON line each, to `out`.
    pub fn streaming(out: impl Write + Send + 'static) -> Self {
        Recorder::with_sink(Some(Box::new(out)))
    }

    /// A recorder streaming to a new file at `path` (truncated if it exists).
    pub fn create_file(path: &Path) -> io::Result<Self> {
        let file = File::create(path)?;
        Ok(Recorder::streaming(BufWriter::new(file)))
    }

    fn with_sink(sink: Option<Box<dyn Write + Send>>) -> Self {
        Recorder {
            start: Instant::now(),
            inner: Arc::new(Mutex::new(Inner {
                builder: HistoryBuilder::default(),
                next_id: 0,
                next_value: 1,
                sink,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking worker cannot leave the builder half-updated: every update is one call.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Nanoseconds since the recorder started.
    pub fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A value id no other call returns (ids start at 1).
    pub fn next_value(&self) -> ValueId {
        let mut inner = self.lock();
        let value = inner.next_value;
        inner.next_value += 1;
        value
    }

    /// Records the invocation of an op by client `process`; call it just before sending.
    pub fn invoke(&self, process: u64, kind: OpKind) -> Result<OpHandle, RecordError> {
        let mut inner = self.lock();
        let id = inner.next_id;
        let record = Record::Invoke {
            id,
            process,
            time: self.now(),
            op: kind,
        };
        inner.apply(record)?;
        inner.next_id += 1;
        Ok(OpHandle { id })
    }

    /// Records the completion of an op; call it as soon as the response (or error) arrived.
    pub fn complete(&self, handle: OpHandle, outcome: Outcome) -> Result<(), RecordError> {
        let mut inner = self.lock();
        let record = Record::Complete {
            id: handle.id,
            time: self.now(),
            outcome,
        };
        inner.apply(record)
    }

    /// Records a note (a fault injected, a heal, a phase of the workload).
    pub fn mark(&self, label: impl Into<String>) -> Result<(), RecordError> {
        let mut inner = self.lock();
        let record = Record::Mark {
            time: self.now(),
            label: label.into(),
        };
        inner.apply(record)
    }

    /// The history so far; ops in flight count as Unknown.
    pub fn snapshot(&self) -> History {
        self.lock().builder.snapshot()
    }

    /// Flushes the stream and returns the history; ops in flight count as Unknown. The
    /// recorder stays usable.
    pub fn finish(&self) -> Result<History, RecordError> {
        let mut inner = self.lock();
        if let Some(sink) = inner.sink.as_mut() {
            sink.flush()?;
        }
        Ok(inner.builder.snapshot())
    }
}

impl Inner {
    /// Checks and keeps the record, then streams it: a refused event is never written.
    fn apply(&mut self, record: Record) -> Result<(), RecordError> {
        let line = self.sink.as_ref().map(|_| record.to_line());
        record.apply(&mut self.builder)?;
        if let (Some(sink), Some(line)) = (self.sink.as_mut(), line) {
            writeln!(sink, "{line}")?;
            sink.flush()?;
        }
        Ok(())
    }
}
