//! Internal RPC authentication: every internal request carries the cluster secret and the
//! cluster id. A request without the right secret is refused with `Unauthorized`; one from
//! another cluster with `WrongCluster`.

/// Header carrying the shared cluster secret.
pub const SECRET_HEADER: &str = "x-trireme-secret";
/// Header carrying the sender's cluster id.
pub const CLUSTER_HEADER: &str = "x-trireme-cluster";

/// Compares two secrets in time independent of where they first differ.
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares() {
        assert!(secrets_equal(b"abc", b"abc"));
        assert!(!secrets_equal(b"abc", b"abd"));
        assert!(!secrets_equal(b"abc", b"abcd"));
    }
}
