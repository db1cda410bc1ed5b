//! The clock-skew fault: one node restarted with its wall clock moved by libfaketime
//! (`LD_PRELOAD=libfaketime.so.1`, `FAKETIME=+120`, `FAKETIME_DONT_FAKE_MONOTONIC=1`), so
//! `SystemTime` is off while `Instant` (timeouts, Raft elections, leases) is not. Healing
//! restarts it with the true clock. The Debian package `faketime` provides the library.
//!
//! libfaketime shifts what the process reads from the clock, not file times the kernel
//! stamps: a skewed process sees the files it writes as `skew` older (or, skewed back,
//! younger) than they are, as after a clock step.
//!
//! A skewed meta leader loses leadership when it restarts; [`lead`] hands it back
//! (`TransferLeader`), so that the skewed node leads for the hold.
//!
//! [`observed_skew`] checks that the skew took: the timestamp of the first log line the
//! restarted process wrote, against the true clock.

use super::cluster::Cluster;
use super::health;
use super::procs::Node;
use crate::up::wait::Poll;
use anyhow::{anyhow, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trireme_api::membership::TransferLeader;
use trireme_client::{MetaClient, Transport};

/// How far the clock a restarted process shows may be from the skew asked for, seconds
/// (the log line is read a moment after it was written).
const TOLERANCE_SECS: f64 = 10.0;

/// The library's file name.
pub const LIBRARY: &str = "libfaketime.so.1";
/// The marker `procs::Node::start` writes to the log before each start.
const START_MARKER: &str = "=== trireme torture: starting";

/// Where libfaketime is: `$TRIREME_LIBFAKETIME`, else the first `LIB/faketime/libfaketime.so.1`
/// or `LIB/*/faketime/libfaketime.so.1` under the usual library directories.
pub fn libfaketime() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TRIREME_LIBFAKETIME") {
        let p = PathBuf::from(p);
        return match p.is_file() {
            true => Ok(p),
            false => Err(anyhow!("TRIREME_LIBFAKETIME={} is not a file", p.display())),
        };
    }
    let roots = ["/usr/lib", "/usr/lib64", "/usr/local/lib", "/lib", "/lib64"];
    for root in roots {
        let root = Path::new(root);
        let direct = root.join("faketime").join(LIBRARY);
        if direct.is_file() {
            return Ok(direct);
        }
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path().join("faketime").join(LIBRARY)))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        if let Some(p) = found.into_iter().next() {
            return Ok(p);
        }
    }
    Err(anyhow!(
        "{LIBRARY} not found under {}: the clock-skew fault needs libfaketime; install the \
         Debian package `faketime` (scripts/install-deps.sh does) or set TRIREME_LIBFAKETIME",
        roots.join(", ")
    ))
}

/// libfaketime's relative offset: `+120`, `-90` (seconds).
pub fn offset_spec(secs: i32) -> String {
    format!("{secs:+}")
}

/// The environment that skews a process by `secs` seconds.
pub fn skew_env(lib: &Path, secs: i32) -> Vec<(String, String)> {
    vec![
        ("LD_PRELOAD".into(), lib.display().to_string()),
        ("FAKETIME".into(), offset_spec(secs)),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
    ]
}

/// Seconds since the epoch of a log line's leading RFC 3339 UTC timestamp
/// (`2026-11-28T00:12:33.123456Z  INFO ...`, ANSI colours allowed).
pub fn line_time(line: &str) -> Option<f64> {
    let plain = strip_ansi(line);
    let t = plain.trim_start();
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let digits: String = match t.get(19..)?.strip_prefix('.') {
        Some(f) => f.chars().take_while(char::is_ascii_digit).collect(),
        None => String::new(),
    };
    let frac = match digits.is_empty() {
        true => 0.0,
        false => format!("0.{digits}").parse::<f64>().ok()?,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    Some(secs as f64 + frac)
}

/// `line` without ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for e in chars.by_ref() {
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The clock offset the process last started into `log` showed: the time of its first
/// timestamped line after the last start marker, minus the true time now (so a fraction of a
/// second too low, by how long ago the line was written). `None` without such a line.
pub fn observed_skew(log: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(log).ok()?;
    let start = text.rfind(START_MARKER)?;
    let logged = text[start..].lines().skip(1).find_map(line_time)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(logged - now)
}

/// Stops `node` (SIGTERM) and starts it again with `env` as its extra environment, waiting
/// until it is ready. On failure its extra environment is cleared, so that a later restart
/// (`fault::heal_all`) starts it with the true clock.
pub async fn restart(node: &mut Node, env: Vec<(String, String)>) -> Result<()> {
    node.stop().await;
    node.env = env;
    let started = match node.start() {
        Ok(()) => node.wait_ready().await,
        Err(e) => Err(e),
    };
    if started.is_err() {
        node.env.clear();
    }
    started
}

/// Restarts `node` with its clock `secs` off and checks that the skew took; returns the
/// skew its log shows. If it did not take, restarts it with the true clock and fails.
pub async fn restart_skewed(node: &mut Node, lib: &Path, secs: i32) -> Result<f64> {
    restart(node, skew_env(lib, secs)).await?;
    match observed_skew(&node.log) {
        Some(seen) if (seen - f64::from(secs)).abs() <= TOLERANCE_SECS => Ok(seen),
        seen => {
            let label = node.label();
            restart(node, Vec::new()).await?;
            Err(anyhow!(
                "{label} was started with FAKETIME={} but its log shows a clock offset of \
                 {seen:?} s: libfaketime ({}) did not take",
                offset_spec(secs),
                lib.display()
            ))
        }
    }
}

/// The fault: restarts node `i` with its clock `secs` off (and, with `lead`, makes it the
/// meta leader again); returns the skew its log shows. On failure the node is left running
/// with the true clock.
pub async fn inject(
    cluster: &mut Cluster,
    i: usize,
    lib: &Path,
    secs: i32,
    lead_after: bool,
) -> Result<f64> {
    let seen = restart_skewed(&mut cluster.nodes[i], lib, secs).await?;
    if lead_after {
        if let Err(e) = lead(cluster, cluster.nodes[i].id).await {
            restart(&mut cluster.nodes[i], Vec::new()).await?;
            return Err(e);
        }
    }
    Ok(seen)
}

/// Makes meta-server `id` the leader (`TransferLeader` once it has caught up).
pub async fn lead(cluster: &Cluster, id: u64) -> Result<()> {
    let t = Transport::new(cluster.settings.clone(), Duration::from_secs(5));
    let client = MetaClient::new(t, cluster.meta_addrs.clone(), Duration::from_secs(10));
    let mut poll = Poll::new(format!("meta-{id} to lead"), Duration::from_secs(60));
    loop {
        if health::leader(cluster).await == Some(id) {
            return Ok(());
        }
        match client.call(&TransferLeader { to: id }).await {
            Ok(r) if r.leader == Some(id) => return Ok(()),
            Ok(r) => poll.again(&format!("the leader is {:?}", r.leader)).await?,
            Err(e) => {
                poll.again(&format!("transferring the leadership: {e}"))
                    .await?
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_signed_seconds() {
        assert_eq!(offset_spec(120), "+120");
        assert_eq!(offset_spec(-90), "-90");
        let env = skew_env(Path::new("/l/libfaketime.so.1"), 120);
        assert!(env.contains(&("FAKETIME".into(), "+120".into())));
        assert!(env.contains(&("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into())));
        assert!(env.contains(&("LD_PRELOAD".into(), "/l/libfaketime.so.1".into())));
    }

    #[test]
    fn log_timestamps_parse() {
        assert_eq!(line_time("1970-01-01T00:00:00Z x"), Some(0.0));
        let coloured = "\u{1b}[2m2026-11-28T00:12:33.500000Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m up";
        assert_eq!(line_time(coloured), Some(1_795_824_753.5));
        let t = line_time("2026-11-28T00:12:33.500000Z  INFO trireme: up").expect("time");
        // date -d 2026-11-28T00:12:33Z +%s
        assert_eq!(t, 1_795_824_753.5);
        assert_eq!(line_time("2000-03-01T00:00:00Z"), Some(951_868_800.0));
        assert_eq!(line_time("=== trireme torture: starting"), None);
        assert_eq!(line_time("short"), None);
    }

    #[test]
    fn the_skew_is_read_after_the_last_start() {
        let dir = tempfile::tempdir().expect("dir");
        let log = dir.path().join("log");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let stamp = |t: i64| {
            let (days, rem) = (t.div_euclid(86_400), t.rem_euclid(86_400));
            // Find the civil date of `days` by search from a day we know (tests only).
            let mut y = 1970;
            while days_from_civil(y + 1, 1, 1) <= days {
                y += 1;
            }
            let mut m = 1;
            while m < 12 && days_from_civil(y, m + 1, 1) <= days {
                m += 1;
            }
            let d = days - days_from_civil(y, m, 1) + 1;
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000Z  INFO up",
                rem / 3600,
                rem / 60 % 60,
                rem % 60
            )
        };
        let text = format!(
            "{START_MARKER} a\n{}\n{START_MARKER} b\nno time here\n{}\n",
            stamp(now - 1000),
            stamp(now + 120)
        );
        std::fs::write(&log, text).expect("write");
        let skew = observed_skew(&log).expect("skew");
        assert!((118.0..=121.0).contains(&skew), "{skew}");
    }
}
