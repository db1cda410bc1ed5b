//! The run's report: each scenario's figures in one table row (ops ok / fail / unknown,
//! anomalies, undecided keys, the longest unavailability window, put and get p99 while the
//! fault was in place, the time to healthy after the heal), and the one-line summary that is
//! the last line of `trireme torture`.

use super::scenario::ScenarioResult;
use crate::table::Table;
use trireme_torture::stats::format_nanos;

/// The per-scenario table.
pub fn table(results: &[ScenarioResult]) -> String {
    let mut t = Table::new(&[
        "SCENARIO",
        "TARGET",
        "OK",
        "FAIL",
        "UNKNOWN",
        "ANOMALIES",
        "UNDECIDED",
        "LONGEST OUTAGE",
        "PUT P99 (FAULT)",
        "GET P99 (FAULT)",
        "FAULT",
        "RECOVERY",
    ]);
    for r in results {
        let totals = &r.report.totals;
        let outage = r.report.longest_window().map_or_else(
            || "-".to_string(),
            |w| format!("{} ({})", format_nanos(w.length()), w.class.name()),
        );
        let p99 = |l: &Option<trireme_torture::stats::Latency>| {
            l.as_ref()
                .map_or_else(|| "-".to_string(), |l| format_nanos(l.p99))
        };
        t.row(vec![
            r.name.to_string(),
            r.target.clone(),
            totals.ok.to_string(),
            totals.fail.to_string(),
            totals.unknown.to_string(),
            r.report.anomalies.len().to_string(),
            r.report.undecided.len().to_string(),
            outage,
            p99(&r.put_during),
            p99(&r.get_during),
            format!("{:.1}s", r.fault_secs),
            format!("{:.1}s", r.recovery.as_secs_f64()),
        ]);
    }
    t.render()
}

/// `torture: 6 scenarios, 1234 ops (1200 ok / 20 fail / 14 unknown), 0 anomalies,
/// 0 undecided keys, longest outage 1.20s (put, kill-leader)`.
pub fn summary(results: &[ScenarioResult]) -> String {
    let (mut ok, mut fail, mut unknown, mut anomalies, mut undecided) = (0, 0, 0, 0, 0);
    let mut longest: Option<(u64, &str, &str)> = None;
    for r in results {
        ok += r.report.totals.ok;
        fail += r.report.totals.fail;
        unknown += r.report.totals.unknown;
        anomalies += r.report.anomalies.len();
        undecided += r.report.undecided.len();
        if let Some(w) = r.report.longest_window() {
            if longest.is_none_or(|(l, _, _)| w.length() > l) {
                longest = Some((w.length(), w.class.name(), r.name));
            }
        }
    }
    let mut line = format!(
        "torture: {} scenario{}, {} ops ({ok} ok / {fail} fail / {unknown} unknown), \
         {anomalies} anomalies, {undecided} undecided keys",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        ok + fail + unknown,
    );
    if let Some((len, class, name)) = longest {
        line.push_str(&format!(
            ", longest outage {} ({class}, {name})",
            format_nanos(len)
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use trireme_torture::{check, CheckConfig, History};

    #[test]
    fn summary_and_table_of_an_empty_scenario() {
        let report = check(&History::default(), &CheckConfig::default());
        let r = ScenarioResult {
            name: "kill-leader",
            target: "meta-1 (10.77.0.11:7000)".into(),
            report,
            put_during: None,
            get_during: None,
            fault_secs: 10.0,
            recovery: Duration::from_millis(1500),
        };
        let line = summary(std::slice::from_ref(&r));
        assert_eq!(
            line,
            "torture: 1 scenario, 0 ops (0 ok / 0 fail / 0 unknown), 0 anomalies, 0 undecided keys"
        );
        let t = table(&[r]);
        assert!(t.contains("SCENARIO") && t.contains("kill-leader"), "{t}");
        assert!(t.contains("1.5s"), "{t}");
    }
}
