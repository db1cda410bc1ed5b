//! The progress line on stderr while a phase runs: operations done, the last second's
//! ops/s and MiB/s, errors, and time or operations left. On a terminal the line is
//! rewritten in place; otherwise one line is printed per second.

use super::stats::Live;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const MIB: f64 = 1024.0 * 1024.0;

/// A running progress printer; [`Progress::finish`] stops it.
pub struct Progress {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Progress {
    pub fn start(
        name: String,
        live: Arc<Live>,
        start: Instant,
        deadline: Option<Duration>,
        budget: Option<u64>,
    ) -> Progress {
        let (stop, mut stopped) = oneshot::channel();
        let tty = std::io::stderr().is_terminal();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + Duration::from_secs(1),
                Duration::from_secs(1),
            );
            let mut last = (0u64, 0u64, Instant::now());
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                let (ops, bytes, errors) = live.snapshot();
                let now = Instant::now();
                let dt = now.duration_since(last.2).as_secs_f64().max(1e-6);
                let rate = (ops - last.0) as f64 / dt;
                let mib = (bytes - last.1) as f64 / MIB / dt;
                last = (ops, bytes, now);
                let line = line(
                    &name,
                    start.elapsed(),
                    ops,
                    rate,
                    mib,
                    errors,
                    deadline,
                    budget,
                );
                let mut err = std::io::stderr().lock();
                let _ = if tty {
                    write!(err, "\r\x1b[K{line}")
                } else {
                    writeln!(err, "{line}")
                };
                let _ = err.flush();
            }
            if tty {
                let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
            }
        });
        Progress { stop, task }
    }

    /// Stops the printer (and clears the line on a terminal).
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

#[allow(clippy::too_many_arguments)]
fn line(
    name: &str,
    elapsed: Duration,
    ops: u64,
    rate: f64,
    mib: f64,
    errors: u64,
    deadline: Option<Duration>,
    budget: Option<u64>,
) -> String {
    let mut s = format!(
        "bench {name}: {:.0}s  {ops} ops  {rate:.0} ops/s  {mib:.1} MiB/s  {errors} errors",
        elapsed.as_secs_f64()
    );
    if let Some(d) = deadline {
        s.push_str(&format!(
            "  ({:.0}s left)",
            d.saturating_sub(elapsed).as_secs_f64()
        ));
    } else if let Some(b) = budget {
        s.push_str(&format!("  ({} left)", b.saturating_sub(ops + errors)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_rates_and_what_is_left() {
        let l = line(
            "put",
            Duration::from_secs(5),
            1000,
            200.4,
            0.78,
            2,
            Some(Duration::from_secs(30)),
            None,
        );
        assert_eq!(
            l,
            "bench put: 5s  1000 ops  200 ops/s  0.8 MiB/s  2 errors  (25s left)"
        );
        let l = line(
            "prepare",
            Duration::from_secs(1),
            10,
            10.0,
            40.0,
            0,
            None,
            Some(16),
        );
        assert!(l.ends_with("(6 left)"), "{l}");
    }
}
