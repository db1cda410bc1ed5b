//! `trireme cluster status [--check]`: every meta member asked individually (so the down ones
//! show), the leader's view of the Raft group, a summary of chunkservers, disks and capacity,
//! the durability ledger, repair and scrub ([`super::health`]), and warnings in plain words.
//! Exit codes: 0 printed, 1 a part could not be fetched; with `--check` 0 no warning, 1
//! warnings, 2 the status could not be made (2 also for usage errors and an unreachable
//! cluster).

use super::health::{self, DurabilitySummary, Facts, ScrubSummary, Warning};
use crate::cluster::Cluster;
use crate::error::{one_line, CliError};
use crate::output::{disk_state_name, emit, human_bytes, now_ms, opt, print_json};
use crate::table::Table;
use serde::Serialize;
use std::collections::BTreeMap;
use trireme_api::durability::{ListLost, ListWorkers, RepairStatus, ScrubStatus};
use trireme_api::ids::NodeId;
use trireme_api::meta::{
    ClusterStatus, ClusterStatusResponse, ListChunkservers, ListChunkserversResponse,
};
use trireme_client::Transport;

/// Lost objects counted by `cluster status` at most (`trireme repair lost` lists them all).
const LOST_LIMIT: u32 = 1000;

/// What one member answered to `ClusterStatus`, or why it did not.
pub type Probe = (String, Result<ClusterStatusResponse, String>);

/// The whole status (the `--json` answer). Member fields are named as in
/// [`trireme_api::meta::MemberInfo`].
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub cluster_id: String,
    pub leader: Option<NodeId>,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub last_applied: Option<u64>,
    pub members: Vec<MemberStatus>,
    pub chunkservers: Option<ChunkserverSummary>,
    /// Why the chunkserver summary is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunkservers_error: Option<String>,
    /// The durability ledger's totals and repair progress.
    pub durability: Option<DurabilitySummary>,
    pub scrub: Option<ScrubSummary>,
    /// Disk swaps in progress (draining, awaiting a new disk, refilling).
    pub swaps: Vec<trireme_api::swap::SwapStatusResponse>,
    /// Problems in plain words (empty: healthy).
    pub warnings: Vec<Warning>,
    /// Parts of the status that could not be fetched, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct MemberStatus {
    /// None for an address that did not answer and is not in the leader's membership.
    pub id: Option<NodeId>,
    pub addr: String,
    pub voter: Option<bool>,
    pub leader: bool,
    /// It answered `ClusterStatus`.
    pub up: bool,
    /// The leader's last log index known replicated to it.
    pub matched_index: Option<u64>,
    /// Its own term and last applied index.
    pub term: Option<u64>,
    pub last_applied: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct ChunkserverSummary {
    pub alive: usize,
    pub total: usize,
    pub disks: usize,
    pub disks_by_state: BTreeMap<String, usize>,
    pub capacity_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
}

pub async fn status(cluster: &Cluster, json: bool, check: bool) -> Result<(), CliError> {
    let transport = cluster.client.transport();
    let mut probes = probe(transport, &cluster.file.meta).await;
    // Members the leader knows of that the cluster file does not list.
    if let Some(view) = best_view(&probes) {
        let extra: Vec<String> = view
            .members
            .iter()
            .map(|m| m.addr.clone())
            .filter(|a| !probes.iter().any(|(p, _)| p == a))
            .collect();
        probes.extend(probe(transport, &extra).await);
    }
    let Some(mut report) = build(&cluster.file.cluster_id, &probes) else {
        let addrs: Vec<&str> = probes.iter().map(|(a, _)| a.as_str()).collect();
        let first = probes
            .iter()
            .find_map(|(_, r)| r.as_ref().err())
            .map_or("", |e| e.as_str());
        return Err(CliError::Unreachable(format!(
            "cannot reach any meta-server listed in {} ({}): {first}",
            cluster.path.display(),
            addrs.join(", ")
        )));
    };
    let c = &cluster.client;
    let (listed, repair, scrub, workers, swaps) = tokio::join!(
        c.call(&ListChunkservers {}),
        c.call(&RepairStatus {}),
        c.call(&ScrubStatus {}),
        c.call(&ListWorkers {}),
        c.call(&trireme_api::swap::ListSwaps {}),
    );
    let why = |what: &str, e: trireme_client::ClientError| one_line(&format!("{what}: {e}"));
    let listed = listed.map_err(|e| report.chunkservers_error = Some(one_line(&e.to_string())));
    let repair = repair.map_err(|e| report.errors.push(why("repair status", e)));
    let scrub = scrub.map_err(|e| report.errors.push(why("scrub status", e)));
    match swaps {
        Ok(s) => report.swaps = s.swaps,
        Err(e) => report.errors.push(why("disk swaps", e)),
    }
    let settings = workers
        .map(|w| w.settings)
        .map_err(|e| report.errors.push(why("worker settings", e)));
    let zero = repair
        .as_ref()
        .ok()
        .and_then(|r| r.ledger.as_ref())
        .map_or(0, |l| l.total.zero);
    let lost = match zero {
        0 => None,
        _ => c.call(&ListLost { limit: LOST_LIMIT }).await.ok(),
    };
    if let Ok(l) = &listed {
        report.chunkservers = Some(summarize(l));
    }
    report.durability = repair
        .as_ref()
        .ok()
        .map(|r| DurabilitySummary::new(r, lost.as_ref()));
    report.scrub = scrub.as_ref().ok().map(ScrubSummary::new);
    report.warnings = health::warnings(&Facts {
        leader: report.leader,
        last_log_index: report.last_log_index,
        members: &report.members,
        chunkservers: listed.as_ref().ok(),
        repair: repair.as_ref().ok(),
        settings: settings.as_ref().ok(),
        lost: lost.as_ref(),
        scrub: scrub.as_ref().ok(),
    });
    let verdict = repair.as_ref().ok().map(super::repair::verdict);
    let in_check = |e: CliError| if check { e.in_check() } else { e };
    if json {
        print_json(&report).map_err(in_check)?;
    } else {
        emit(&render_all(&report, verdict.as_deref(), now_ms())).map_err(in_check)?;
    }
    if let Some(e) = &report.chunkservers_error {
        let e = format!("the leader did not list chunkservers: {e}");
        return Err(in_check(CliError::Failed(e)));
    }
    if let Some(e) = report.errors.first() {
        return Err(in_check(CliError::Failed(format!(
            "incomplete status: {e}"
        ))));
    }
    match report.warnings.len() {
        n if check && n > 0 => Err(CliError::Problem(format!(
            "the cluster has {}: {}",
            crate::output::count(n as u64, "warning"),
            if json {
                "listed in the JSON above"
            } else {
                "listed above"
            }
        ))),
        _ => Ok(()),
    }
}

/// [`render`] followed by the durability, repair and scrub lines and the warnings.
pub fn render_all(r: &StatusReport, verdict: Option<&str>, now: u64) -> String {
    let mut out = render(r);
    out.push_str(&health::render(r, verdict, now));
    for s in &r.swaps {
        out.push_str(&super::swap::status_line(s));
        out.push('\n');
    }
    out
}

/// Asks each address for its `ClusterStatus`, concurrently; answers in input order.
pub async fn probe(transport: &Transport, addrs: &[String]) -> Vec<Probe> {
    let mut set = tokio::task::JoinSet::new();
    for (i, addr) in addrs.iter().enumerate() {
        let (t, addr) = (transport.clone(), addr.clone());
        set.spawn(async move {
            let r = t
                .call(&addr, &ClusterStatus {})
                .await
                .map_err(|e| one_line(&e.to_string()));
            (i, addr, r)
        });
    }
    let mut out: Vec<(usize, Probe)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((i, addr, r)) = joined {
            out.push((i, (addr, r)));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, p)| p).collect()
}

/// The most authoritative answer: a node that says it is the leader, else the highest term.
fn best_view(probes: &[Probe]) -> Option<&ClusterStatusResponse> {
    let ok = probes.iter().filter_map(|(_, r)| r.as_ref().ok());
    ok.max_by_key(|s| (s.leader == Some(s.node_id), s.term, s.last_applied))
}

/// Builds the report from the probes; None if nobody answered.
pub fn build(cluster_id: &str, probes: &[Probe]) -> Option<StatusReport> {
    let view = best_view(probes)?;
    let answer_of = |addr: &str| probes.iter().find(|(a, _)| a == addr).map(|(_, r)| r);
    let mut members: Vec<MemberStatus> = view
        .members
        .iter()
        .map(|m| {
            let answer = answer_of(&m.addr);
            let own = answer.and_then(|r| r.as_ref().ok());
            MemberStatus {
                id: Some(m.id),
                addr: m.addr.clone(),
                voter: Some(m.voter),
                leader: view.leader == Some(m.id),
                up: own.is_some(),
                matched_index: m.matched_index,
                term: own.map(|s| s.term),
                last_applied: own.and_then(|s| s.last_applied),
                error: answer.and_then(|r| r.as_ref().err().cloned()),
            }
        })
        .collect();
    for (addr, r) in probes {
        if members.iter().any(|m| &m.addr == addr) {
            continue;
        }
        let own = r.as_ref().ok();
        members.push(MemberStatus {
            id: own.map(|s| s.node_id),
            addr: addr.clone(),
            voter: None,
            leader: false,
            up: own.is_some(),
            matched_index: None,
            term: own.map(|s| s.term),
            last_applied: own.and_then(|s| s.last_applied),
            error: r.as_ref().err().cloned(),
        });
    }
    members.sort_by_key(|m| (m.id.is_none(), m.id, m.addr.clone()));
    Some(StatusReport {
        cluster_id: if view.cluster_id.is_empty() {
            cluster_id.to_string()
        } else {
            view.cluster_id.clone()
        },
        leader: view.leader,
        term: view.term,
        last_log_index: view.last_log_index,
        last_applied: view.last_applied,
        members,
        chunkservers: None,
        chunkservers_error: None,
        durability: None,
        scrub: None,
        swaps: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
    })
}

/// Chunkservers alive/total, disks by state and capacity.
pub fn summarize(resp: &ListChunkserversResponse) -> ChunkserverSummary {
    let mut s = ChunkserverSummary {
        total: resp.chunkservers.len(),
        ..Default::default()
    };
    for c in &resp.chunkservers {
        s.alive += usize::from(c.alive);
        for d in &c.disks {
            s.disks += 1;
            *s.disks_by_state
                .entry(disk_state_name(d.state))
                .or_default() += 1;
            s.capacity_bytes += d.capacity_bytes;
            s.used_bytes += d.used_bytes;
            s.free_bytes += d.free_bytes;
        }
    }
    s
}

pub fn render(r: &StatusReport) -> String {
    let mut out = String::new();
    out.push_str(&format!("cluster       {}\n", r.cluster_id));
    let leader = match r.leader {
        Some(id) => {
            let addr = r
                .members
                .iter()
                .find(|m| m.id == Some(id))
                .map_or("?", |m| m.addr.as_str());
            format!("{id} ({addr})")
        }
        None => "none (no leader elected)".to_string(),
    };
    out.push_str(&format!("leader        {leader}\n"));
    out.push_str(&format!(
        "raft          term {}, last log index {}, last applied {}\n\n",
        r.term,
        opt(r.last_log_index),
        opt(r.last_applied)
    ));
    let mut t = Table::new(&["ID", "ADDR", "ROLE", "STATE", "TERM", "APPLIED", "MATCHED"])
        .right(&[0, 4, 5, 6]);
    for m in &r.members {
        let role = match (m.leader, m.voter) {
            (true, _) => "leader",
            (false, Some(true)) => "follower",
            (false, Some(false)) => "learner",
            (false, None) => "unknown",
        };
        let state = if m.up { "up" } else { "down" };
        t.row([
            opt(m.id),
            m.addr.clone(),
            role.into(),
            state.into(),
            opt(m.term),
            opt(m.last_applied),
            opt(m.matched_index),
        ]);
    }
    out.push_str(&t.render());
    out.push('\n');
    match (&r.chunkservers, &r.chunkservers_error) {
        (Some(s), _) => {
            out.push_str(&format!("chunkservers  {}/{} alive\n", s.alive, s.total));
            let states: Vec<String> = s
                .disks_by_state
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect();
            let states = if states.is_empty() {
                String::new()
            } else {
                format!(": {}", states.join(", "))
            };
            out.push_str(&format!("disks         {} total{states}\n", s.disks));
            out.push_str(&format!(
                "capacity      {} total, {} free, {} in chunks\n",
                human_bytes(s.capacity_bytes),
                human_bytes(s.free_bytes),
                human_bytes(s.used_bytes)
            ));
        }
        (None, e) => out.push_str(&format!(
            "chunkservers  unknown ({})\n",
            e.as_deref().unwrap_or("not asked")
        )),
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::commands::chunkserver::tests::sample;
    use trireme_api::meta::MemberInfo;

    fn member(id: NodeId, matched: Option<u64>) -> MemberInfo {
        MemberInfo {
            id,
            addr: format!("127.0.0.1:700{id}"),
            voter: true,
            matched_index: matched,
        }
    }

    fn answer(
        node_id: NodeId,
        leader: Option<NodeId>,
        members: Vec<MemberInfo>,
    ) -> ClusterStatusResponse {
        ClusterStatusResponse {
            cluster_id: "cid".into(),
            node_id,
            leader,
            term: 3,
            last_log_index: Some(12),
            last_applied: Some(10 + node_id),
            members,
        }
    }

    #[test]
    fn leader_view_with_a_down_member() {
        let leader_members = vec![member(1, Some(12)), member(2, Some(11)), member(3, None)];
        let probes: Vec<Probe> = vec![
            (
                "127.0.0.1:7002".into(),
                Ok(answer(2, Some(1), vec![member(1, None), member(2, None)])),
            ),
            (
                "127.0.0.1:7001".into(),
                Ok(answer(1, Some(1), leader_members)),
            ),
            ("127.0.0.1:7003".into(), Err("connection refused".into())),
        ];
        let mut r = build("cid", &probes).expect("someone answered");
        assert_eq!(r.leader, Some(1));
        assert_eq!(r.members.len(), 3);
        assert!(r.members[0].leader && r.members[0].up);
        assert!(!r.members[2].up);
        assert_eq!(r.members[2].error.as_deref(), Some("connection refused"));
        r.chunkservers = Some(summarize(&sample()));
        let expected = "\
cluster       cid
leader        1 (127.0.0.1:7001)
raft          term 3, last log index 12, last applied 11

ID  ADDR            ROLE      STATE  TERM  APPLIED  MATCHED
 1  127.0.0.1:7001  leader    up        3       11       12
 2  127.0.0.1:7002  follower  up        3       12       11
 3  127.0.0.1:7003  follower  down      -        -        -

chunkservers  1/2 alive
disks         3 total: 1 draining, 1 failed, 1 healthy
capacity      30.0 GiB total, 24.0 GiB free, 3.0 GiB in chunks
";
        assert_eq!(render(&r), expected);
    }

    /// A report from a one-member cluster that answered.
    pub(crate) fn report() -> StatusReport {
        let probes: Vec<Probe> = vec![(
            "127.0.0.1:7001".into(),
            Ok(answer(1, Some(1), vec![member(1, Some(12))])),
        )];
        build("cid", &probes).expect("report")
    }

    #[test]
    fn nobody_answered() {
        let probes: Vec<Probe> = vec![("a".into(), Err("refused".into()))];
        assert!(build("cid", &probes).is_none());
    }

    #[test]
    fn no_leader_and_unknown_addresses() {
        let probes: Vec<Probe> = vec![
            ("127.0.0.1:7001".into(), Ok(answer(1, None, vec![]))),
            ("127.0.0.1:7009".into(), Err("refused".into())),
        ];
        let r = build("cid", &probes).expect("answered");
        assert_eq!(r.members.len(), 2);
        assert_eq!(r.members[0].id, Some(1));
        assert_eq!(r.members[1].id, None);
        let text = render(&r);
        assert!(text.contains("none (no leader elected)"), "{text}");
        assert!(text.contains("chunkservers  unknown (not asked)"), "{text}");
    }
}
