//! `trireme meta add` and `trireme meta remove`: the orchestration around the leader's
//! membership RPCs (catch-up before promotion, leadership away from a leader being
//! removed) and, on a `trireme up` cluster, the process and `cluster.json` side.

use crate::cluster::Cluster;
use crate::commands::meta::{
    change_client, id_list, local_failed, member, require_leader_view, transfer_to, view,
    wait_caught_up,
};
use crate::error::CliError;
use crate::output::{emit, print_json};
use crate::up::local_meta;
use serde::Serialize;
use std::time::{Duration, Instant};
use trireme_api::ids::NodeId;
use trireme_api::membership::*;
use trireme_api::ErrorCode;
use trireme_client::{ClientError, MetaClient};

/// How long a removed local meta-server gets to exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Promotion attempts (a learner may fall behind again between the check and the change).
const PROMOTE_ATTEMPTS: usize = 3;

#[derive(Serialize)]
struct Added {
    id: NodeId,
    addr: String,
    /// The process started by `--local`.
    pid: Option<u32>,
    role: MemberRole,
    voters: Vec<NodeId>,
    learners: Vec<NodeId>,
    warnings: Vec<String>,
    /// Seconds from the start of the command until it was a learner, caught up, a voter.
    learner_s: f64,
    caught_up_s: f64,
    voter_s: Option<f64>,
}

pub async fn add(
    cluster: &Cluster,
    id: Option<NodeId>,
    addr: Option<String>,
    local: bool,
    learner_only: bool,
    timeout: Duration,
    json: bool,
) -> Result<(), CliError> {
    let client = change_client(cluster);
    let t0 = Instant::now();
    let started = if local {
        if addr.is_some() {
            return Err(CliError::Usage(
                "--local starts the new meta-server on a port of its own: give no ADDR".into(),
            ));
        }
        let info = local_meta::start(&cluster.path, id)
            .await
            .map_err(|e| local_failed("start a local meta-server", e))?;
        eprintln!(
            "started meta-{} (pid {}) on {}; log: {}",
            info.id,
            info.pid,
            info.addr,
            info.config.with_file_name("log").display()
        );
        Some(info)
    } else {
        None
    };
    let (id, addr) = match (&started, id, addr) {
        (Some(info), _, _) => (info.id, info.addr.clone()),
        (None, Some(id), Some(addr)) => (id, addr),
        _ => {
            return Err(CliError::Usage(
                "give the new node's ID and ADDR, or --local to start one".into(),
            ))
        }
    };
    let added = match client
        .call(&AddLearner {
            id,
            addr: addr.clone(),
        })
        .await
    {
        Ok(r) => r,
        Err(e) => {
            if let Some(info) = &started {
                if let Err(u) = local_meta::undo_start(&cluster.path, info).await {
                    eprintln!("warning: could not undo the start of meta-{id}: {u:#}");
                }
            }
            return Err(CliError::from_client(&format!("add meta-{id} ({addr})"), e));
        }
    };
    let learner_s = t0.elapsed().as_secs_f64();
    for note in &added.warnings {
        eprintln!("note: {note}");
    }
    let mut warnings = Vec::new();
    if let Err(e) = local_meta::remember(&cluster.path, &addr) {
        warnings.push(format!("{} not updated: {e:#}", cluster.path.display()));
    }
    let already_voter = added.voters.contains(&id);
    if !already_voter {
        eprintln!("meta-{id} is a learner; waiting for it to catch up");
        wait_caught_up(&client, id, timeout, json).await?;
    }
    let caught_up_s = t0.elapsed().as_secs_f64();
    let (result, voter_s) = if learner_only || already_voter {
        (added, already_voter.then_some(caught_up_s))
    } else {
        let r = promote(&client, id, timeout, json).await?;
        (r, Some(t0.elapsed().as_secs_f64()))
    };
    warnings.extend(result.warnings.iter().cloned());
    let out = Added {
        id,
        addr,
        pid: started.map(|s| s.pid),
        role: if result.voters.contains(&id) {
            MemberRole::Voter
        } else {
            MemberRole::Learner
        },
        voters: result.voters,
        learners: result.learners,
        warnings,
        learner_s,
        caught_up_s,
        voter_s,
    };
    if json {
        return print_json(&out);
    }
    let role = match out.role {
        MemberRole::Voter => "a voter",
        MemberRole::Learner => "a learner",
    };
    let mut text = format!(
        "meta-{id} ({}) is {role}: voters {}; learners {}\n  learner after {learner_s:.2}s, \
         caught up after {caught_up_s:.2}s",
        out.addr,
        id_list(&out.voters),
        id_list(&out.learners)
    );
    if let Some(v) = voter_s {
        text.push_str(&format!(", voter after {v:.2}s"));
    }
    text.push('\n');
    for w in &out.warnings {
        text.push_str(&format!("warning: {w}\n"));
    }
    emit(&text)
}

/// Promotes a caught-up learner, waiting again if it fell behind in between.
async fn promote(
    client: &MetaClient,
    id: NodeId,
    timeout: Duration,
    quiet: bool,
) -> Result<MembershipChanged, CliError> {
    let context = format!("promote meta-{id} to voter");
    for attempt in 1..=PROMOTE_ATTEMPTS {
        match client.call(&PromoteVoter { id }).await {
            Ok(r) => return Ok(r),
            Err(ClientError::Api(e))
                if e.code == ErrorCode::PreconditionFailed
                    && e.message.contains("behind")
                    && attempt < PROMOTE_ATTEMPTS =>
            {
                wait_caught_up(client, id, timeout, quiet).await?;
            }
            Err(e) => return Err(CliError::from_client(&context, e)),
        }
    }
    Err(CliError::Failed(format!(
        "{context}: it kept falling behind the leader"
    )))
}

#[derive(Serialize)]
struct Removed {
    id: NodeId,
    addr: String,
    /// Leadership was moved here first (the removed node was the leader).
    leader_moved_to: Option<NodeId>,
    /// The local process that was stopped.
    stopped_pid: Option<u32>,
    voters: Vec<NodeId>,
    learners: Vec<NodeId>,
    warnings: Vec<String>,
    seconds: f64,
}

pub async fn remove(cluster: &Cluster, id: NodeId, yes: bool, json: bool) -> Result<(), CliError> {
    let client = change_client(cluster);
    let v = view(&client).await?;
    require_leader_view(&v)?;
    let Some(m) = member(&v, id) else {
        return Err(CliError::Failed(format!(
            "meta-{id} is not a member of the meta group (members: {})",
            id_list(&v.members.iter().map(|m| m.id).collect::<Vec<_>>())
        )));
    };
    let addr = m.addr.clone();
    let is_voter = m.role == MemberRole::Voter;
    // The leader checks the change (quorum, last voter) without making it.
    let check = client
        .call(&RemoveMember { id, dry_run: true })
        .await
        .map_err(|e| CliError::from_client(&format!("remove meta-{id}"), e))?;
    let successor = if v.leader == Some(id) {
        let best = v
            .members
            .iter()
            .filter(|c| c.role == MemberRole::Voter && c.id != id && c.reachable == Some(true))
            .min_by_key(|c| (c.lag.unwrap_or(u64::MAX), c.id));
        match best {
            Some(b) => Some(b.id),
            None => {
                return Err(CliError::Failed(format!(
                    "meta-{id} is the leader and no other voter answers to take over; refusing to remove it"
                )))
            }
        }
    } else {
        None
    };
    let process = local_meta::read_file(&cluster.path).ok().and_then(|f| {
        f.processes
            .into_iter()
            .find(|p| p.role == "meta" && p.id == id)
    });

    let role = if is_voter { "voter" } else { "learner" };
    let mut plan = format!("Will remove meta-{id} ({addr}, {role}) from the meta group:\n");
    if is_voter {
        plan.push_str(&format!(
            "  voters {} -> {}\n",
            id_list(&v.voters),
            id_list(&check.voters)
        ));
    }
    if let Some(s) = successor {
        plan.push_str(&format!(
            "  meta-{id} is the leader: leadership moves to meta-{s} first (writes pause briefly)\n"
        ));
    }
    match &process {
        Some(p) => plan.push_str(&format!(
            "  then its process (pid {}) is stopped and it is dropped from {}\n",
            p.pid,
            cluster.path.display()
        )),
        None => plan.push_str(&format!(
            "  then {addr} is dropped from {}; stop that meta-server yourself\n",
            cluster.path.display()
        )),
    }
    for w in &check.warnings {
        plan.push_str(&format!("  note: {w}\n"));
    }
    crate::confirm::confirm(&plan, &format!("remove meta-{id}"), yes)?;

    let t0 = Instant::now();
    if let Some(s) = successor {
        let r = transfer_to(&client, s).await?;
        match r.leader {
            Some(l) if l != id => eprintln!("leadership moved to meta-{l}"),
            _ => {
                return Err(CliError::Failed(format!(
                    "leadership did not move away from meta-{id}; nothing removed"
                )))
            }
        }
    }
    let r = client
        .call(&RemoveMember { id, dry_run: false })
        .await
        .map_err(|e| CliError::from_client(&format!("remove meta-{id}"), e))?;
    let mut warnings = r.warnings.clone();
    let forgotten = match local_meta::forget(&cluster.path, id, &addr) {
        Ok(p) => p,
        Err(e) => {
            warnings.push(format!("{} not updated: {e:#}", cluster.path.display()));
            None
        }
    };
    let mut stopped_pid = None;
    if let Some(p) = &forgotten {
        match local_meta::stop(p, STOP_GRACE).await {
            Ok(true) => stopped_pid = Some(p.pid),
            Ok(false) => {}
            Err(e) => warnings.push(format!("{e:#}")),
        }
    }
    let out = Removed {
        id,
        addr,
        leader_moved_to: successor,
        stopped_pid,
        voters: r.voters,
        learners: r.learners,
        warnings,
        seconds: t0.elapsed().as_secs_f64(),
    };
    if json {
        return print_json(&out);
    }
    let mut text = format!(
        "removed meta-{id} in {:.2}s: voters {}; learners {}\n",
        out.seconds,
        id_list(&out.voters),
        id_list(&out.learners)
    );
    if let Some(pid) = out.stopped_pid {
        text.push_str(&format!("stopped its process (pid {pid})\n"));
    }
    for w in &out.warnings {
        text.push_str(&format!("warning: {w}\n"));
    }
    emit(&text)
}
