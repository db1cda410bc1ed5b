//! The bandwidth fault: a token-bucket filter (`tc qdisc ... tbf`) on both ends of one node's
//! veth pair. tbf shapes egress only, so the node's `eth0` (inside its namespace) caps what
//! it sends and the root-side veth `trtRUNNODE` (on the bridge) caps what it receives.
//! Removing both root qdiscs heals.

use super::net::{sh, veth_name, NETNS_PREFIX};
use anyhow::{anyhow, Result};

/// A token-bucket cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cap {
    /// Rate, kbit/s.
    pub kbit: u32,
    /// Bucket size, bytes (bursts above the rate).
    pub burst_bytes: u32,
    /// How long a packet may queue before tbf drops it, ms.
    pub latency_ms: u32,
}

impl Cap {
    /// The `tbf ...` arguments of `tc qdisc add`.
    pub fn tbf_args(&self) -> Vec<String> {
        vec![
            "tbf".into(),
            "rate".into(),
            format!("{}kbit", self.kbit),
            "burst".into(),
            self.burst_bytes.to_string(),
            "latency".into(),
            format!("{}ms", self.latency_ms),
        ]
    }
}

/// The root-side veth of the node whose namespace is `netns` (named `trt-RUN-NODE`).
pub fn outer_veth(netns: &str, node: &str) -> Result<String> {
    let run = netns
        .strip_prefix(NETNS_PREFIX)
        .and_then(|r| r.strip_suffix(node))
        .and_then(|r| r.strip_suffix('-'))
        .ok_or_else(|| anyhow!("{netns} is not the namespace of node {node}"))?;
    Ok(veth_name(run, node))
}

/// Caps node `node` (namespace `netns`) in both directions. On failure nothing stays.
pub fn apply(netns: &str, node: &str, cap: Cap) -> Result<()> {
    let veth = outer_veth(netns, node)?;
    clear(netns, node);
    let tbf = cap.tbf_args();
    let tbf: Vec<&str> = tbf.iter().map(String::as_str).collect();
    let mut inner = vec![
        "netns", "exec", netns, "tc", "qdisc", "add", "dev", "eth0", "root",
    ];
    inner.extend(&tbf);
    let mut outer = vec!["qdisc", "add", "dev", veth.as_str(), "root"];
    outer.extend(&tbf);
    let r = sh("ip", &inner).and_then(|_| sh("tc", &outer));
    if r.is_err() {
        clear(netns, node);
    }
    r.map(|_| ())
}

/// Removes both caps of node `node`, if any.
pub fn clear(netns: &str, node: &str) {
    let _ = sh(
        "ip",
        &[
            "netns", "exec", netns, "tc", "qdisc", "del", "dev", "eth0", "root",
        ],
    );
    if let Ok(veth) = outer_veth(netns, node) {
        let _ = sh("tc", &["qdisc", "del", "dev", &veth, "root"]);
    }
}

/// What the two caps of node `node` did so far (`tc -s qdisc`): `node sent 1.2 MB, 340
/// overlimits, 3 dropped; node received ...`, for the heal's log line (read it before
/// [`clear`]).
pub fn stats(netns: &str, node: &str) -> String {
    let inner = sh(
        "ip",
        &[
            "netns", "exec", netns, "tc", "-s", "qdisc", "show", "dev", "eth0",
        ],
    );
    let outer = outer_veth(netns, node).and_then(|v| sh("tc", &["-s", "qdisc", "show", "dev", &v]));
    let side = |r: Result<String>| {
        r.ok()
            .as_deref()
            .and_then(sent_line)
            .unwrap_or_else(|| "no tbf statistics".into())
    };
    format!("sent {}; received {}", side(inner), side(outer))
}

/// `1234 bytes, 10 overlimits, 2 dropped` from `tc -s qdisc show` output with a tbf root.
fn sent_line(text: &str) -> Option<String> {
    if !text.contains("tbf") {
        return None;
    }
    // " Sent 1234 bytes 10 pkt (dropped 2, overlimits 10 requeues 0)"
    let line = text.lines().find(|l| l.trim_start().starts_with("Sent "))?;
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let after = |key: &str| {
        let i = words.iter().position(|w| *w == key)?;
        words.get(i + 1).copied()
    };
    Some(format!(
        "{} bytes, {} overlimits, {} dropped",
        after("Sent")?,
        after("overlimits")?,
        after("dropped")?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outer_veth_is_found_from_the_namespace() {
        assert_eq!(outer_veth("trt-ab12-c3", "c3").expect("veth"), "trtab12c3");
        assert!(outer_veth("trt-ab12-c3", "c4").is_err());
        assert!(outer_veth("other-c3", "c3").is_err());
    }

    #[test]
    fn statistics_are_read() {
        let text = "qdisc tbf 8004: root refcnt 2 rate 8Mbit burst 32Kb lat 200ms \n \
                    Sent 51234 bytes 40 pkt (dropped 2, overlimits 17 requeues 0) \n \
                    backlog 0b 0p requeues 0\n";
        assert_eq!(
            sent_line(text).as_deref(),
            Some("51234 bytes, 17 overlimits, 2 dropped")
        );
        assert_eq!(sent_line("qdisc noqueue 0: root refcnt 2"), None);
    }

    #[test]
    fn tbf_arguments() {
        let cap = Cap {
            kbit: 8000,
            burst_bytes: 32 * 1024,
            latency_ms: 200,
        };
        assert_eq!(
            cap.tbf_args().join(" "),
            "tbf rate 8000kbit burst 32768 latency 200ms"
        );
    }
}
