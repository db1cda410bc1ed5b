//! Test-only fault injection, for fail-slow and stuck-disk tests. It is off unless the
//! chunkserver binary starts with `TRIREME_FAULT_INJECTION=1` in its environment (or a test
//! sets [`crate::ChunkserverConfig::fault_injection`]). When on, a file
//! `<disk>/.trireme-inject-delay-ms` holding a number of milliseconds makes every chunk read,
//! chunk write, scrub read and health probe on that disk sleep that long first; remove the
//! file (or write 0) to stop. Never enable it in production: it costs a file read per
//! operation.

use std::path::Path;
use std::time::Duration;

/// The environment variable that turns fault injection on (value `1`).
pub const ENV: &str = "TRIREME_FAULT_INJECTION";
/// The per-disk file holding the delay in milliseconds.
pub const DELAY_FILE: &str = ".trireme-inject-delay-ms";
/// Injected delays are capped at ten minutes.
const MAX_DELAY: Duration = Duration::from_secs(600);

/// Whether the environment asks for fault injection.
pub fn enabled_by_env() -> bool {
    std::env::var(ENV).is_ok_and(|v| v.trim() == "1")
}

/// The delay configured for the disk at `dir`, if any.
pub fn configured_delay(dir: &Path) -> Option<Duration> {
    let text = std::fs::read_to_string(dir.join(DELAY_FILE)).ok()?;
    let ms: u64 = text.trim().parse().ok()?;
    (ms > 0).then(|| Duration::from_millis(ms).min(MAX_DELAY))
}

/// Sleeps for the delay configured for the disk at `dir`. Blocking.
pub fn inject_delay(dir: &Path) {
    if let Some(d) = configured_delay(dir) {
        std::thread::sleep(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_delay_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(configured_delay(dir.path()), None);
        std::fs::write(dir.path().join(DELAY_FILE), "25\n").expect("write");
        assert_eq!(
            configured_delay(dir.path()),
            Some(Duration::from_millis(25))
        );
        std::fs::write(dir.path().join(DELAY_FILE), "0").expect("write");
        assert_eq!(configured_delay(dir.path()), None);
        std::fs::write(dir.path().join(DELAY_FILE), "soon").expect("write");
        assert_eq!(configured_delay(dir.path()), None);
    }
}
