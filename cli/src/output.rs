//! Output helpers: JSON for scripts, and human formatting of sizes, times and states.

use crate::error::CliError;
use serde::Serialize;
use std::io::Write;
use trireme_api::meta::DiskState;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Failed(format!("cannot encode JSON: {e}")))?;
    emit(&format!("{text}\n"))
}

/// Writes `text` to stdout. A closed pipe (`trireme ... | head`) is not an error.
pub fn emit(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Failed(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// Bytes in binary units with one decimal: `512 B`, `1.5 KiB`, `3.0 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_utc_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// "1.2s ago" style age of a heartbeat; `-` if none was seen.
pub fn ago(ms: Option<u64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 1000 => format!("{ms}ms ago"),
        Some(ms) if ms < 60_000 => format!("{:.1}s ago", ms as f64 / 1000.0),
        Some(ms) => format!("{}m ago", ms / 60_000),
    }
}

/// A disk state's wire name (`healthy`, `draining`, ...).
pub fn disk_state_name(state: DiskState) -> String {
    wire_name(&state)
}

/// The wire (JSON) name of a unit enum value (`busy`, `dead`, ...).
pub fn wire_name<T: Serialize + std::fmt::Debug>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{v:?}").to_lowercase(),
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A Unix-ms time with its age: `2026-11-27 13:10:23 UTC (12.0s ago)`.
pub fn when(ms: u64, now_ms: u64) -> String {
    format!(
        "{} UTC ({})",
        format_utc_ms(ms),
        ago(Some(now_ms.saturating_sub(ms)))
    )
}

/// A duration in words, rounded to its two largest units: `45 seconds`, `2 minutes`,
/// `1 hour 5 minutes`, `3 days 4 hours`.
pub fn duration_words(secs: u64) -> String {
    let unit = |n: u64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let pair = |a: String, b: u64, one: &str| {
        if b == 0 {
            a
        } else {
            format!("{a} {}", unit(b, one))
        }
    };
    match secs {
        0..=59 => unit(secs, "second"),
        60..=3599 => unit((secs + 30) / 60, "minute"),
        3600..=86_399 => pair(unit(secs / 3600, "hour"), secs % 3600 / 60, "minute"),
        _ => pair(unit(secs / 86_400, "day"), secs % 86_400 / 3600, "hour"),
    }
}

/// A latency in microseconds: `850us`, `1.2ms`, `2.50s`.
pub fn micros(us: u64) -> String {
    match us {
        0..=999 => format!("{us}us"),
        1000..=999_999 => format!("{:.1}ms", us as f64 / 1000.0),
        _ => format!("{:.2}s", us as f64 / 1_000_000.0),
    }
}

/// A rate in MiB/s with one decimal.
pub fn mib_per_s(bytes_per_s: f64) -> String {
    format!("{:.1} MiB/s", bytes_per_s.max(0.0) / (1024.0 * 1024.0))
}

/// `n` and its noun, pluralised: `1 chunk`, `3 chunks`, `2 copies`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// `label  value` lines with the values aligned.
pub fn fields(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(l, v)| format!("{l:<width$}  {v}\n"))
        .collect()
}

/// `-` for a missing number.
pub fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(4 << 20), "4.0 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn utc_times() {
        assert_eq!(format_utc_ms(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc_ms(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(format_utc_ms(1_700_000_000_123), "2023-11-14 22:13:20");
    }

    #[test]
    fn ages_and_states() {
        assert_eq!(ago(None), "-");
        assert_eq!(ago(Some(250)), "250ms ago");
        assert_eq!(ago(Some(1500)), "1.5s ago");
        assert_eq!(ago(Some(180_000)), "3m ago");
        assert_eq!(disk_state_name(DiskState::Healthy), "healthy");
        assert_eq!(disk_state_name(DiskState::Draining), "draining");
        assert_eq!(opt::<u64>(None), "-");
        assert_eq!(opt(Some(3)), "3");
        assert_eq!(
            wire_name(&trireme_api::durability::WorkerState::Throttled),
            "throttled"
        );
    }

    #[test]
    fn durations_and_rates() {
        assert_eq!(duration_words(0), "0 seconds");
        assert_eq!(duration_words(1), "1 second");
        assert_eq!(duration_words(59), "59 seconds");
        assert_eq!(duration_words(60), "1 minute");
        assert_eq!(duration_words(150), "3 minutes");
        assert_eq!(duration_words(3600), "1 hour");
        assert_eq!(duration_words(3900), "1 hour 5 minutes");
        assert_eq!(duration_words(2 * 86_400 + 7200), "2 days 2 hours");
        assert_eq!(micros(850), "850us");
        assert_eq!(micros(1260), "1.3ms");
        assert_eq!(micros(2_500_000), "2.50s");
        assert_eq!(mib_per_s(3.0 * 1024.0 * 1024.0), "3.0 MiB/s");
        assert_eq!(count(1, "chunk"), "1 chunk");
        assert_eq!(count(0, "chunk"), "0 chunks");
        assert_eq!(count(2, "failed copy"), "2 failed copies");
        assert_eq!(count(2, "key"), "2 keys");
        assert_eq!(
            when(1_700_000_000_000, 1_700_000_012_000),
            "2023-11-14 22:13:20 UTC (12.0s ago)"
        );
        assert_eq!(
            fields(&[("a", "1".into()), ("long", "2".into())]),
            "a     1\nlong  2\n"
        );
    }
}
