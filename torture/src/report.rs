//! [`check`] runs every checker over a history and gathers the figures into a [`Report`], whose
//! `Display` is a compact table and whose [`Report::summary`] is the one-line verdict the
//! `trireme torture` command prints last.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::anomaly::{Anomaly, AnomalyKind};
use crate::history::{History, OpClass};
use crate::linearizable::{LinearizableConfig, UndecidedKey};
use crate::stats::{self, format_nanos, Counts, Latency, Window};
use crate::{integrity, linearizable, list_after_write, lost, resurrect};

/// What the checks may spend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckConfig {
    pub linearizable: LinearizableConfig,
    /// Unavailability windows kept per op class, longest first.
    pub windows_per_class: usize,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            linearizable: LinearizableConfig::default(),
            windows_per_class: 3,
        }
    }
}

/// Figures of one op class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassStats {
    pub class: OpClass,
    pub counts: Counts,
    /// Over ops that completed ok or failed; `None` when there were none.
    pub latency: Option<Latency>,
    /// The longest unavailability windows, longest first.
    pub windows: Vec<Window>,
}

/// Everything the checks found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub totals: Counts,
    /// Classes with at least one op, in [`OpClass::ALL`] order.
    pub classes: Vec<ClassStats>,
    pub anomalies: Vec<Anomaly>,
    /// Keys the linearizability search gave up on (not anomalies, but not proven either).
    pub undecided: Vec<UndecidedKey>,
    /// Keys the linearizability search covered.
    pub keys_checked: usize,
    pub search_steps: u64,
}

/// Runs every checker and computes the figures.
pub fn check(history: &History, config: &CheckConfig) -> Report {
    let lin = linearizable::check(history, &config.linearizable);
    let mut anomalies = lin.anomalies;
    anomalies.extend(lost::check(history));
    anomalies.extend(resurrect::check(history));
    anomalies.extend(list_after_write::check(history));
    anomalies.extend(integrity::check(history));
    anomalies.sort_by(|a, b| (a.kind, &a.key, &a.ops).cmp(&(b.kind, &b.key, &b.ops)));

    let mut totals = Counts::default();
    let mut classes = Vec::new();
    for (class, counts) in stats::counts(history) {
        if counts.total() == 0 {
            continue;
        }
        totals.ok += counts.ok;
        totals.fail += counts.fail;
        totals.unknown += counts.unknown;
        let mut windows = stats::unavailability(history, class);
        windows.truncate(config.windows_per_class);
        classes.push(ClassStats {
            class,
            counts,
            latency: stats::latency(history, class, 0, u64::MAX),
            windows,
        });
    }
    Report {
        totals,
        classes,
        anomalies,
        undecided: lin.undecided,
        keys_checked: lin.keys,
        search_steps: lin.steps,
    }
}

impl Report {
    /// No anomaly found (undecided keys do not count).
    pub fn is_clean(&self) -> bool {
        self.anomalies.is_empty()
    }

    /// The number of anomalies of each kind found, kinds with none left out.
    pub fn anomaly_counts(&self) -> Vec<(AnomalyKind, usize)> {
        AnomalyKind::ALL
            .iter()
            .map(|&kind| {
                (
                    kind,
                    self.anomalies.iter().filter(|a| a.kind == kind).count(),
                )
            })
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    /// The longest unavailability window of any class.
    pub fn longest_window(&self) -> Option<&Window> {
        self.classes
            .iter()
            .flat_map(|c| c.windows.iter())
            .max_by_key(|w| w.length())
    }

    /// The one-line verdict, e.g. `torture: 1234 ops (1200 ok / 20 fail / 14 unknown),
    /// 0 anomalies, 0 undecided keys, longest outage 1.20s (put)`.
    pub fn summary(&self) -> String {
        let t = &self.totals;
        let mut line = format!(
            "torture: {} ops ({} ok / {} fail / {} unknown), {} anomalies",
            t.total(),
            t.ok,
            t.fail,
            t.unknown,
            self.anomalies.len()
        );
        let counts = self.anomaly_counts();
        if !counts.is_empty() {
            let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
            line.push_str(&format!(" ({})", parts.join(", ")));
        }
        line.push_str(&format!(", {} undecided keys", self.undecided.len()));
        if let Some(w) = self.longest_window() {
            line.push_str(&format!(
                ", longest outage {} ({})",
                format_nanos(w.length()),
                w.class.name()
            ));
        }
        line
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>8} {:>6} {:>8} {:>9} {:>9} {:>9}  longest outage",
            "op", "ok", "fail", "unknown", "p50", "p99", "max"
        )?;
        for c in &self.classes {
            let lat = |pick: fn(&Latency) -> u64| {
                c.latency
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |l| format_nanos(pick(l)))
            };
            let outage = c.windows.first().map_or_else(
                || "-".to_string(),
                |w| {
                    let open = if w.recovered { "" } else { ", not recovered" };
                    format!(
                        "{} from {} ({} failed{open})",
                        format_nanos(w.length()),
                        format_nanos(w.start),
                        w.failed
                    )
                },
            );
            writeln!(
                f,
                "{:<10} {:>8} {:>6} {:>8} {:>9} {:>9} {:>9}  {outage}",
                c.class.name(),
                c.counts.ok,
                c.counts.fail,
                c.counts.unknown,
                lat(|l| l.p50),
                lat(|l| l.p99),
                lat(|l| l.max),
            )?;
        }
        if self.anomalies.is_empty() {
            writeln!(f, "anomalies: none")?;
        } else {
            writeln!(f, "anomalies: {}", self.anomalies.len())?;
            for anomaly in &self.anomalies {
                writeln!(f, "  {anomaly}")?;
            }
        }
        write!(
            f,
            "linearizability: {} keys checked in {} steps, {} undecided",
            self.keys_checked,
            self.search_steps,
            self.undecided.len()
        )?;
        for u in &self.undecided {
            write!(
                f,
                "\n  undecided {:?}: {} ops, gave up after {} steps",
                u.key, u.ops, u.steps
            )?;
        }
        Ok(())
    }
}
