//! Network faults as nftables rules inside one node's namespace: a table `inet trt_fault`
//! whose input and output chains drop traffic on the node's `eth0` (its only link to the
//! others). Removing the table heals. Loopback traffic inside the node is never touched.

use anyhow::{anyhow, Context, Result};
use std::io::Write;
use std::process::{Command, Stdio};

/// The table every fault rule lives in.
pub const TABLE: &str = "trt_fault";

/// What to drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Everything in and out: the node is cut off (a partition isolating it).
    Isolate,
    /// Only what the node sends: others' packets still arrive (a one-way partition).
    DropOutgoing,
    /// Only what the node receives.
    DropIncoming,
    /// Each packet in either direction with this probability (percent, 1..=99).
    Loss(u8),
}

/// The nft script installing `rule`.
pub fn ruleset(rule: Rule) -> String {
    let (input, output) = match rule {
        Rule::Isolate => (Some("drop".to_string()), Some("drop".to_string())),
        Rule::DropOutgoing => (None, Some("drop".to_string())),
        Rule::DropIncoming => (Some("drop".to_string()), None),
        Rule::Loss(p) => {
            let r = format!("numgen random mod 100 < {} drop", p.clamp(1, 99));
            (Some(r.clone()), Some(r))
        }
    };
    let mut s = format!("table inet {TABLE} {{\n");
    if let Some(stmt) = input {
        s.push_str(&format!(
            "  chain input {{\n    type filter hook input priority 0; policy accept;\n    \
             iifname \"eth0\" {stmt}\n  }}\n"
        ));
    }
    if let Some(stmt) = output {
        s.push_str(&format!(
            "  chain output {{\n    type filter hook output priority 0; policy accept;\n    \
             oifname \"eth0\" {stmt}\n  }}\n"
        ));
    }
    s.push_str("}\n");
    s
}

/// Installs `rule` in namespace `netns` (replacing any earlier fault rule there).
pub fn apply(netns: &str, rule: Rule) -> Result<()> {
    clear(netns);
    run_script(netns, &ruleset(rule)).map_err(|e| anyhow!("nft in {netns} refused {rule:?}: {e:#}"))
}

/// Runs an nft script (`nft -f -`) inside namespace `netns`.
pub fn run_script(netns: &str, script: &str) -> Result<()> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running nft")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .context("writing the nft script")?;
    }
    let out = child.wait_with_output().context("waiting for nft")?;
    if !out.status.success() {
        return Err(anyhow!("{}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

/// Removes the fault table from `netns`, if there is one.
pub fn clear(netns: &str) {
    let _ = Command::new("ip")
        .args([
            "netns", "exec", netns, "nft", "delete", "table", "inet", TABLE,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolate_drops_both_directions_on_eth0() {
        let s = ruleset(Rule::Isolate);
        assert!(s.starts_with("table inet trt_fault {\n"), "{s}");
        assert!(s.contains("type filter hook input priority 0; policy accept;"));
        assert!(s.contains("iifname \"eth0\" drop"), "{s}");
        assert!(s.contains("oifname \"eth0\" drop"), "{s}");
        assert!(s.ends_with("}\n"));
    }

    #[test]
    fn one_way_rules_have_one_chain() {
        let out = ruleset(Rule::DropOutgoing);
        assert!(
            out.contains("hook output") && !out.contains("hook input"),
            "{out}"
        );
        let inc = ruleset(Rule::DropIncoming);
        assert!(
            inc.contains("hook input") && !inc.contains("hook output"),
            "{inc}"
        );
    }

    #[test]
    fn loss_uses_numgen_and_is_clamped() {
        let s = ruleset(Rule::Loss(10));
        assert!(
            s.contains("iifname \"eth0\" numgen random mod 100 < 10 drop"),
            "{s}"
        );
        assert!(s.contains("oifname \"eth0\" numgen random mod 100 < 10 drop"));
        assert!(ruleset(Rule::Loss(0)).contains("< 1 drop"));
        assert!(ruleset(Rule::Loss(100)).contains("< 99 drop"));
    }
}
