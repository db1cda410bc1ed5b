//! # trireme-torture: operation histories and the checkers of the fault-torture suite
//!
//! A workload driver records every client operation it sends to a Trireme cluster (invocation,
//! completion, outcome) with a [`Recorder`]; once the faults are healed, [`check`] runs every
//! checker over the [`History`] and returns a [`Report`]: outcome counts, latency,
//! unavailability windows and the anomalies found, which must be none. This crate is pure
//! logic: no networking, no processes; the cluster driver and fault injection build on it.
//!
//! Semantics shared by every checker: an op is Ok (acknowledged), Fail (definitely did not take
//! effect) or Unknown (may take effect at any time after its invocation, or never); times are
//! monotonic nanoseconds of the recording process; two ops are ordered when one completed
//! strictly before the other was invoked. Put values are unique ids, which is what makes lost,
//! phantom and resurrected values recognisable.
//!
//! # Layout
//! - [`history`]: the model: [`Op`], [`OpKind`], [`Outcome`], [`OpResult`], [`History`] and
//!   its per-key and per-value indexes, [`content_hash`].
//! - [`builder`]: [`HistoryBuilder`] and [`HistoryError`], the invariants every history obeys.
//! - [`jsonl`]: the JSON-lines file format (one event per line), its loader and writer.
//! - [`recorder`]: [`Recorder`] and [`OpHandle`], the thread-safe, streaming recorder.
//! - [`anomaly`]: [`Anomaly`] and [`AnomalyKind`], what checkers return.
//! - [`linearizable`]: per-key register linearizability; the search itself is in `wgl`
//!   (Wing & Gong / Lowe / Porcupine with memoisation and a step budget).
//! - [`lost`]: lost acknowledged writes and phantom values.
//! - [`resurrect`]: values coming back after an acknowledged delete.
//! - [`list_after_write`]: listings missing acknowledged keys, or showing phantom or deleted ones.
//! - [`integrity`]: bodies whose hash or size differs from what was written.
//! - [`stats`]: outcome counts, latency percentiles, unavailability windows.
//! - [`report`]: [`check`] (every checker at once), [`Report`] with its table and summary line.

pub mod anomaly;
pub mod builder;
pub mod history;
pub mod integrity;
pub mod jsonl;
pub mod linearizable;
pub mod list_after_write;
pub mod lost;
pub mod recorder;
pub mod report;
pub mod resurrect;
pub mod stats;
mod wgl;

pub use anomaly::{Anomaly, AnomalyKind};
pub use builder::{HistoryBuilder, HistoryError};
pub use history::{
    content_hash, History, Mark, Op, OpClass, OpId, OpKind, OpResult, Outcome, ReadValue, ValueId,
};
pub use jsonl::LoadError;
pub use linearizable::{LinearizableConfig, UndecidedKey};
pub use recorder::{OpHandle, RecordError, Recorder};
pub use report::{check, CheckConfig, Report};
