//! `trireme meta members|add|remove|transfer-leader`: the meta-server Raft group.
//!
//! `members` shows the leader's view (matched index and lag per member), asking the leader
//! directly when another node answered first. The changes are made by the leader, which
//! refuses them when they would lose quorum; this file orchestrates them: `add` waits for
//! the learner to catch up before promoting it, `remove` moves leadership away from a
//! leader it removes. `add --local` and `remove` on a `trireme up` cluster also start or
//! stop the meta-server process and keep `cluster.json` current (`up::local_meta`).

use crate::cli::MetaCommand;
use crate::cluster::Cluster;
use crate::error::{one_line, CliError};
use crate::output::{emit, print_json};
use crate::table::Table;
use serde::Serialize;
use std::time::{Duration, Instant};
use trireme_api::ids::NodeId;
use trireme_api::membership::*;
use trireme_client::MetaClient;

/// Deadline of one membership call (a transfer waits out leader leases and an election).
const CHANGE_DEADLINE: Duration = Duration::from_secs(60);
/// How often `add` checks a learner's lag.
const CATCH_UP_POLL: Duration = Duration::from_millis(200);

pub async fn run(cluster: &Cluster, command: MetaCommand, json: bool) -> Result<(), CliError> {
    match command {
        MetaCommand::Members => members(cluster, json).await,
        MetaCommand::Add {
            id,
            addr,
            local,
            learner_only,
            timeout,
        } => {
            let timeout = Duration::from_secs(timeout);
            crate::commands::meta_add::add(cluster, id, addr, local, learner_only, timeout, json)
                .await
        }
        MetaCommand::Remove { id, yes } => {
            crate::commands::meta_add::remove(cluster, id, yes, json).await
        }
        MetaCommand::TransferLeader { id } => transfer(cluster, id, json).await,
    }
}

/// A client for membership changes: longer deadlines than the admin default.
pub fn change_client(cluster: &Cluster) -> MetaClient {
    cluster.client_with_deadline(CHANGE_DEADLINE)
}

/// The group as the leader sees it; a follower's view if the leader does not answer.
pub async fn view(client: &MetaClient) -> Result<MetaMembersResponse, CliError> {
    let any = client
        .call(&MetaMembers {})
        .await
        .map_err(|e| CliError::from_client("list meta members", e))?;
    let leader_addr = any
        .leader
        .filter(|l| *l != any.node_id)
        .and_then(|l| any.members.iter().find(|m| m.id == l))
        .map(|m| m.addr.clone());
    match leader_addr {
        Some(addr) => Ok(client
            .call_node(&addr, &MetaMembers {})
            .await
            .unwrap_or(any)),
        None => Ok(any),
    }
}

/// Fails unless `v` is the leader's own view (only it knows lags and reachability).
pub fn require_leader_view(v: &MetaMembersResponse) -> Result<(), CliError> {
    if v.leader == Some(v.node_id) {
        return Ok(());
    }
    Err(CliError::Unreachable(match v.leader {
        Some(l) => format!("the meta leader (meta-{l}) does not answer; try again"),
        None => "the meta-servers have no leader right now; try again".into(),
    }))
}

pub fn member(v: &MetaMembersResponse, id: NodeId) -> Option<&MemberDetail> {
    v.members.iter().find(|m| m.id == id)
}

/// `1, 2, 3` (or `none`).
pub fn id_list(ids: &[NodeId]) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    let v: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    v.join(", ")
}

async fn members(cluster: &Cluster, json: bool) -> Result<(), CliError> {
    let v = view(&cluster.client).await?;
    if json {
        return print_json(&v);
    }
    emit(&render_members(&v))
}

pub fn render_members(v: &MetaMembersResponse) -> String {
    let leader = v.leader.map_or("none".to_string(), |l| format!("meta-{l}"));
    let mut out = format!(
        "leader {leader}, term {}, last log index {} (as meta-{} sees it)\n",
        v.term,
        v.last_log_index.map_or("-".into(), |i| i.to_string()),
        v.node_id
    );
    let mut t = Table::new(&[
        "ID",
        "ADDR",
        "ROLE",
        "LEADER",
        "REACHABLE",
        "MATCHED",
        "LAG",
        "TERM",
        "APPLIED",
    ])
    .right(&[0, 5, 6, 7, 8]);
    let opt = |x: Option<u64>| x.map_or("-".to_string(), |v| v.to_string());
    for m in &v.members {
        t.row([
            m.id.to_string(),
            m.addr.clone(),
            match m.role {
                MemberRole::Voter => "voter".to_string(),
                MemberRole::Learner => "learner".to_string(),
            },
            if v.leader == Some(m.id) { "*" } else { "" }.to_string(),
            match m.reachable {
                Some(true) => "yes".to_string(),
                Some(false) => "no".to_string(),
                None => "-".to_string(),
            },
            opt(m.matched_index),
            opt(m.lag),
            opt(m.term),
            opt(m.last_applied),
        ]);
    }
    out.push_str(&t.render());
    out.push_str(&format!(
        "voters: {}; learners: {}\n",
        id_list(&v.voters),
        id_list(&v.learners)
    ));
    if v.joint {
        out.push_str("note: a voter change is in progress (joint consensus)\n");
    }
    if v.leader != Some(v.node_id) {
        out.push_str("note: not the leader's view: matched index and lag are unknown\n");
    }
    for m in v.members.iter().filter(|m| m.reachable == Some(false)) {
        let why = m.error.as_deref().map(one_line).unwrap_or_default();
        out.push_str(&format!("warning: meta-{} does not answer: {why}\n", m.id));
    }
    let n = v.voters.len();
    if n.is_multiple_of(2) && n > 0 {
        out.push_str(&format!(
            "warning: {n} voters tolerate no more failures than {} would: prefer an odd number\n",
            n - 1
        ));
    }
    out
}

#[derive(Serialize)]
struct Transferred {
    from: NodeId,
    to: NodeId,
    leader: Option<NodeId>,
    term: u64,
    paused_ms: u64,
    seconds: f64,
}

/// Moves leadership to `to`; returns the new leader.
pub async fn transfer_to(
    client: &MetaClient,
    to: NodeId,
) -> Result<TransferLeaderResponse, CliError> {
    client
        .call(&TransferLeader { to })
        .await
        .map_err(|e| CliError::from_client(&format!("transfer leadership to meta-{to}"), e))
}

async fn transfer(cluster: &Cluster, to: NodeId, json: bool) -> Result<(), CliError> {
    let client = change_client(cluster);
    let t0 = Instant::now();
    let r = transfer_to(&client, to).await?;
    let seconds = t0.elapsed().as_secs_f64();
    if json {
        return print_json(&Transferred {
            from: r.from,
            to,
            leader: r.leader,
            term: r.term,
            paused_ms: r.paused_ms,
            seconds,
        });
    }
    if r.from == to && r.leader == Some(to) {
        return emit(&format!("meta-{to} is already the leader\n"));
    }
    match r.leader {
        Some(l) if l == to => emit(&format!(
            "leadership moved from meta-{} to meta-{to} (term {}) in {seconds:.2}s; writes \
             paused {:.2}s\n",
            r.from,
            r.term,
            r.paused_ms as f64 / 1000.0
        )),
        Some(l) => Err(CliError::Failed(format!(
            "meta-{to} did not become the leader: meta-{l} won the election (term {})",
            r.term
        ))),
        None => Err(CliError::Failed(format!(
            "meta-{} stepped down but no leader is known yet; check `trireme meta members`",
            r.from
        ))),
    }
}

/// Waits until the leader reports `id` within [`CAUGHT_UP_LAG`] entries; prints progress
/// to stderr. Returns the last lag seen.
pub async fn wait_caught_up(
    client: &MetaClient,
    id: NodeId,
    timeout: Duration,
    quiet: bool,
) -> Result<u64, CliError> {
    let start = Instant::now();
    let mut last_print = Instant::now();
    let mut lag = None;
    loop {
        if let Ok(v) = view(client).await {
            if v.leader == Some(v.node_id) {
                lag = member(&v, id).and_then(|m| m.lag);
            }
        }
        if let Some(l) = lag.filter(|l| *l <= CAUGHT_UP_LAG) {
            return Ok(l);
        }
        if start.elapsed() >= timeout {
            let lag = lag.map_or("unknown".into(), |l| format!("{l} entries"));
            return Err(CliError::Failed(format!(
                "meta-{id} has not caught up after {}s (lag {lag}); it stays a learner: run \
                 `trireme meta add {id} ADDR` again to promote it",
                timeout.as_secs()
            )));
        }
        if !quiet && last_print.elapsed() >= Duration::from_secs(2) {
            let lag = lag.map_or("unknown".into(), |l| l.to_string());
            eprintln!("meta-{id}: catching up, {lag} entries behind the leader");
            last_print = Instant::now();
        }
        tokio::time::sleep(CATCH_UP_POLL).await;
    }
}

/// Forwards a failure of the `cluster.json` bookkeeping as an operation failure.
pub fn local_failed(context: &str, e: anyhow::Error) -> CliError {
    CliError::Failed(one_line(&format!("{context}: {e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("trireme").chain(args.iter().copied()))
    }

    #[test]
    fn parses_the_meta_commands() {
        let c = parse(&["meta", "add", "--local", "--learner-only"]).expect("parses");
        match c.command {
            Command::Meta(MetaCommand::Add {
                id,
                addr,
                local,
                learner_only,
                timeout,
            }) => {
                assert_eq!(
                    (id, addr, local, learner_only, timeout),
                    (None, None, true, true, 300)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let c = parse(&["meta", "add", "4", "127.0.0.1:7000"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Meta(MetaCommand::Add { id: Some(4), addr: Some(ref a), local: false, .. })
                if a == "127.0.0.1:7000"
        ));
        let c = parse(&["meta", "remove", "2", "-y", "--json"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Meta(MetaCommand::Remove { id: 2, yes: true })
        ));
        assert!(c.global.json);
        let c = parse(&["meta", "transfer-leader", "5"]).expect("parses");
        assert!(matches!(
            c.command,
            Command::Meta(MetaCommand::TransferLeader { id: 5 })
        ));
        assert!(parse(&["meta", "remove"]).is_err(), "remove needs an id");
    }

    fn detail(
        id: NodeId,
        role: MemberRole,
        lag: Option<u64>,
        reachable: Option<bool>,
    ) -> MemberDetail {
        MemberDetail {
            id,
            addr: format!("127.0.0.1:{}", 7000 + id),
            role,
            matched_index: lag.map(|l| 50 - l),
            lag,
            reachable,
            term: Some(3),
            last_applied: Some(50),
            error: (reachable == Some(false)).then(|| "connection\nrefused".to_string()),
        }
    }

    #[test]
    fn members_table_marks_the_leader_and_warns() {
        let v = MetaMembersResponse {
            node_id: 1,
            leader: Some(1),
            term: 3,
            last_log_index: Some(50),
            voters: vec![1, 2, 3, 4],
            learners: vec![5],
            joint: false,
            members: vec![
                detail(1, MemberRole::Voter, Some(0), Some(true)),
                detail(2, MemberRole::Voter, Some(0), Some(true)),
                detail(3, MemberRole::Voter, Some(2), Some(true)),
                detail(4, MemberRole::Voter, None, Some(false)),
                detail(5, MemberRole::Learner, Some(40), Some(true)),
            ],
        };
        let out = render_members(&v);
        assert!(
            out.starts_with("leader meta-1, term 3, last log index 50 (as meta-1 sees it)\n"),
            "{out}"
        );
        assert!(
            out.contains("ID  ADDR            ROLE     LEADER  REACHABLE"),
            "{out}"
        );
        assert!(
            out.contains(" 1  127.0.0.1:7001  voter    *       yes"),
            "{out}"
        );
        assert!(
            out.contains(" 5  127.0.0.1:7005  learner          yes"),
            "{out}"
        );
        assert!(out.contains("voters: 1, 2, 3, 4; learners: 5\n"), "{out}");
        assert!(
            out.contains("warning: meta-4 does not answer: connection refused\n"),
            "{out}"
        );
        assert!(
            out.contains("warning: 4 voters tolerate no more failures than 3 would"),
            "{out}"
        );
        let follower = MetaMembersResponse { node_id: 2, ..v };
        assert!(render_members(&follower).contains("note: not the leader's view"));
        assert_eq!(id_list(&[]), "none");
    }
}
