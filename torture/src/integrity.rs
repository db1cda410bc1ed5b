//! Content integrity: every body a get returned has the size recorded for the value id it
//! claims (else a size mismatch: truncated or padded) and hashes (BLAKE3) to the recorded hash
//! (else a content mismatch).
//!
//! The value id comes from what the driver parsed out of the response (metadata or a header in
//! the body), the hash and size from the body bytes themselves, so a body corrupted on disk or in
//! transit, truncated, or stitched from the wrong chunks is caught here even when its value id
//! survived. A claimed value id that no put wrote is a phantom, reported by [`crate::lost`].

use crate::anomaly::{describe, Anomaly, AnomalyKind};
use crate::history::{History, OpKind};

/// Checks the body of every acknowledged get that returned a value.
pub fn check(history: &History) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for read in history.ops() {
        let Some(Some(seen)) = read.read() else {
            continue;
        };
        let Some(put) = history.put_of(seen.value) else {
            continue;
        };
        let OpKind::Put { hash, size, .. } = &put.kind else {
            continue;
        };
        let key = read.key().unwrap_or_default();
        if *size != seen.size {
            anomalies.push(Anomaly::new(
                AnomalyKind::SizeMismatch,
                key,
                vec![read.id, put.id],
                format!(
                    "{}: its body has {} bytes, but put #{} wrote {} bytes",
                    describe(read),
                    seen.size,
                    put.id,
                    size
                ),
            ));
        } else if !hash.eq_ignore_ascii_case(&seen.hash) {
            anomalies.push(Anomaly::new(
                AnomalyKind::ContentMismatch,
                key,
                vec![read.id, put.id],
                format!(
                    "{}: its body hashes to {} instead of {} as written by put #{}",
                    describe(read),
                    short(&seen.hash),
                    short(hash),
                    put.id
                ),
            ));
        }
    }
    anomalies
}

/// The first 12 hex digits of a hash, enough to tell two apart in a report.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
