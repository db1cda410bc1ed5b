//! Meta membership on an in-process cluster: grow 3 -> 5 voters (learners first), move
//! leadership around, shrink back to 3 (the leader included), all under a stream of writes
//! that must all succeed; and the refusals (unknown node, wrong id, unreachable address,
//! a learner that cannot lead, removing the leader, losing quorum).

mod common;

use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use trireme_api::membership::*;
use trireme_api::meta::*;
use trireme_api::ErrorCode;
use trireme_client::{ClientError, MetaClient, Transport};

/// Commits objects `w0, w1, ...` one after another until stopped; records what was
/// acknowledged and every error.
struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    errors: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    fn start(client: Arc<MetaClient>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let (s, a, e) = (stop.clone(), acked.clone(), errors.clone());
        let task = tokio::spawn(async move {
            let mut i = 0u64;
            while !s.load(Ordering::Relaxed) {
                let key = format!("w{i}");
                let req = CommitObject {
                    bucket: "bkt".into(),
                    key: key.clone(),
                    object: object(i + 1),
                    condition: None,
                };
                match client.call(&req).await {
                    Ok(_) => a.lock().expect("lock").push(key),
                    Err(err) => e.lock().expect("lock").push(format!("{key}: {err}")),
                }
                i += 1;
            }
        });
        Writer {
            stop,
            acked,
            errors,
            task,
        }
    }

    fn acked(&self) -> usize {
        self.acked.lock().expect("lock").len()
    }

    async fn finish(self) -> (Vec<String>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("writer task");
        let acked = self.acked.lock().expect("lock").clone();
        let errors = self.errors.lock().expect("lock").clone();
        (acked, errors)
    }
}

async fn members(client: &MetaClient, transport: &Transport) -> MetaMembersResponse {
    let any = client.call(&MetaMembers {}).await.expect("members");
    let Some(leader) = any.leader.filter(|l| *l != any.node_id) else {
        return any;
    };
    let addr = any
        .members
        .iter()
        .find(|m| m.id == leader)
        .map(|m| m.addr.clone())
        .expect("leader address");
    transport.call(&addr, &MetaMembers {}).await.unwrap_or(any)
}

async fn wait_caught_up(client: &MetaClient, transport: &Transport, id: u64) {
    wait_until(
        &format!("meta-{id} to catch up"),
        Duration::from_secs(30),
        || async {
            let m = members(client, transport).await;
            m.members
                .iter()
                .any(|d| d.id == id && d.lag.is_some_and(|l| l <= CAUGHT_UP_LAG))
        },
    )
    .await;
}

fn code(e: &ClientError) -> Option<ErrorCode> {
    e.code()
}

async fn grow(client: &MetaClient, transport: &Transport, nodes: &[Node]) {
    for n in nodes {
        let t = Instant::now();
        let r = client
            .call(&AddLearner {
                id: n.id,
                addr: n.addr.clone(),
            })
            .await
            .expect("add learner");
        assert!(r.learners.contains(&n.id), "{r:?}");
        wait_caught_up(client, transport, n.id).await;
        let r = client
            .call(&PromoteVoter { id: n.id })
            .await
            .expect("promote");
        assert!(r.voters.contains(&n.id), "{r:?}");
        if r.voters.len().is_multiple_of(2) {
            assert!(r.warnings.iter().any(|w| w.contains("odd number")), "{r:?}");
        }
        println!("meta-{} added and promoted in {:?}", n.id, t.elapsed());
    }
}

async fn transfer(client: &MetaClient, to: u64) -> TransferLeaderResponse {
    let r = client
        .call(&TransferLeader { to })
        .await
        .expect("transfer leader");
    assert_eq!(r.leader, Some(to), "{r:?}");
    println!(
        "leadership meta-{} -> meta-{to}, writes paused {} ms",
        r.from, r.paused_ms
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grow_to_five_transfer_and_shrink_back_under_writes() {
    let dir = TempDir::new().expect("tmp");
    let (mut nodes, client, transport) = start_cluster(dir.path()).await;
    client
        .call(&CreateBucket {
            name: "bkt".into(),
            owner: "me".into(),
        })
        .await
        .expect("create bucket");
    let writer = Writer::start(client.clone());
    wait_until("first writes", Duration::from_secs(20), || async {
        writer.acked() >= 20
    })
    .await;

    // A learner cannot lead; unknown nodes, wrong ids and dead addresses are refused.
    let extra = vec![
        Node::start(4, dir.path(), "127.0.0.1:0").await,
        Node::start(5, dir.path(), "127.0.0.1:0").await,
    ];
    let e = client
        .call(&AddLearner {
            id: 6,
            addr: extra[0].addr.clone(),
        })
        .await
        .expect_err("wrong id");
    assert_eq!(code(&e), Some(ErrorCode::InvalidArgument), "{e}");
    assert!(e.to_string().contains("answers as meta-4"), "{e}");
    let e = client
        .call(&AddLearner {
            id: 6,
            addr: "127.0.0.1:1".into(),
        })
        .await
        .expect_err("unreachable");
    assert_eq!(code(&e), Some(ErrorCode::PreconditionFailed), "{e}");
    assert!(e.to_string().contains("unreachable"), "{e}");
    let e = client
        .call(&PromoteVoter { id: 9 })
        .await
        .expect_err("unknown");
    assert_eq!(code(&e), Some(ErrorCode::NotFound), "{e}");
    client
        .call(&AddLearner {
            id: 4,
            addr: extra[0].addr.clone(),
        })
        .await
        .expect("add learner");
    let e = client
        .call(&TransferLeader { to: 4 })
        .await
        .expect_err("a learner cannot lead");
    assert!(e.to_string().contains("learner"), "{e}");

    // 3 -> 5 voters.
    grow(&client, &transport, &extra).await;
    nodes.extend(extra);
    let m = members(&client, &transport).await;
    assert_eq!(m.voters, vec![1, 2, 3, 4, 5], "{m:?}");
    assert!(m.learners.is_empty() && !m.joint, "{m:?}");

    // A client started knowing only meta-1 and meta-2 learns the new members (and below
    // outlives both).
    let narrow = MetaClient::new(
        transport.clone(),
        vec![nodes[0].addr.clone(), nodes[1].addr.clone()],
        Duration::from_secs(20),
    )
    .with_member_refresh(Duration::ZERO);
    let bucket = GetBucket { name: "bkt".into() };
    narrow.call(&bucket).await.expect("narrow client");
    assert_eq!(narrow.members().len(), 5, "{:?}", narrow.members());

    // Leadership to a new voter and back (5 voters: the followers' leases must run out).
    transfer(&client, 5).await;
    let leader = leader_of(&transport, &nodes).await.expect("leader");
    assert_eq!(leader, 5);
    transfer(&client, 1).await;

    // Removing the leader is refused; move it first, then remove it and one more.
    let e = client
        .call(&RemoveMember {
            id: 1,
            dry_run: false,
        })
        .await
        .expect_err("leader");
    assert_eq!(code(&e), Some(ErrorCode::PreconditionFailed), "{e}");
    assert!(e.to_string().contains("is the leader"), "{e}");
    let dry = client
        .call(&RemoveMember {
            id: 1,
            dry_run: true,
        })
        .await
        .expect("dry run");
    assert_eq!(
        (dry.voters.clone(), dry.log_index),
        (vec![2, 3, 4, 5], None)
    );
    assert_eq!(
        members(&client, &transport).await.voters.len(),
        5,
        "nothing changed"
    );
    transfer(&client, 4).await;
    let r = client
        .call(&RemoveMember {
            id: 1,
            dry_run: false,
        })
        .await
        .expect("remove old leader");
    assert_eq!(r.voters, vec![2, 3, 4, 5], "{r:?}");
    assert!(r.warnings.iter().any(|w| w.contains("odd number")), "{r:?}");
    nodes[0].stop().await;
    let r = client
        .call(&RemoveMember {
            id: 2,
            dry_run: false,
        })
        .await
        .expect("remove");
    assert_eq!(r.voters, vec![3, 4, 5], "{r:?}");
    assert!(r.warnings.is_empty(), "{r:?}");
    nodes[1].stop().await;

    let before = writer.acked();
    wait_until(
        "writes after the shrink",
        Duration::from_secs(20),
        || async { writer.acked() >= before + 20 },
    )
    .await;
    let (acked, errors) = writer.finish().await;
    assert!(errors.is_empty(), "failed writes: {errors:?}");
    narrow
        .call(&bucket)
        .await
        .expect("a client whose start-up members are all gone");
    assert_eq!(narrow.members().len(), 3, "{:?}", narrow.members());
    println!("{} writes acknowledged, none failed", acked.len());
    for key in &acked {
        client
            .call(&GetObject {
                bucket: "bkt".into(),
                key: key.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("acknowledged {key} lost: {e}"));
    }

    // With meta-5 down, removing meta-3 would leave {4, 5} with one reachable voter.
    let leader = leader_of(&transport, &nodes).await.expect("leader");
    let victim = [3u64, 4, 5]
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    let other = [3u64, 4, 5]
        .into_iter()
        .find(|id| *id != leader && *id != victim)
        .expect("another follower");
    let idx = nodes.iter().position(|n| n.id == victim).expect("node");
    nodes[idx].stop().await;
    let e = client
        .call(&RemoveMember {
            id: other,
            dry_run: false,
        })
        .await
        .expect_err("quorum");
    assert_eq!(code(&e), Some(ErrorCode::PreconditionFailed), "{e}");
    assert!(e.to_string().contains("lose quorum"), "{e}");
    // Removing the dead one is fine: {leader, other} are both up.
    let r = client
        .call(&RemoveMember {
            id: victim,
            dry_run: false,
        })
        .await
        .expect("remove the dead voter");
    assert_eq!(r.voters.len(), 2, "{r:?}");
    assert!(r.warnings.iter().any(|w| w.contains("2 voters")), "{r:?}");

    for n in &mut nodes {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_answered_by_any_node_and_three_voter_transfer() {
    let dir = TempDir::new().expect("tmp");
    let (mut nodes, client, transport) = start_cluster(dir.path()).await;
    wait_until("a leader", Duration::from_secs(20), || async {
        leader_of(&transport, &nodes).await.is_some()
    })
    .await;
    let leader = leader_of(&transport, &nodes).await.expect("leader");
    wait_until(
        "every node to know the membership",
        Duration::from_secs(20),
        || async {
            for n in &nodes {
                match transport.call(&n.addr, &MetaMembers {}).await {
                    Ok(m) if m.voters == vec![1, 2, 3] && m.leader == Some(leader) => {}
                    _ => return false,
                }
            }
            true
        },
    )
    .await;
    for n in &nodes {
        let m = transport
            .call(&n.addr, &MetaMembers {})
            .await
            .expect("members");
        assert_eq!(m.node_id, n.id);
        assert_eq!(m.voters, vec![1, 2, 3]);
        let me = m.members.iter().find(|d| d.id == n.id).expect("itself");
        assert_eq!(me.role, MemberRole::Voter);
        if n.id == leader {
            assert!(m.members.iter().all(|d| d.reachable == Some(true)), "{m:?}");
            assert!(m.members.iter().all(|d| d.lag.is_some()), "{m:?}");
        } else {
            assert!(m.members.iter().all(|d| d.matched_index.is_none()), "{m:?}");
        }
    }
    let to = if leader == 1 { 2 } else { 1 };
    let r = transfer(&client, to).await;
    assert!(r.paused_ms < 5_000, "{r:?}");
    // To itself: nothing to do.
    let r = client.call(&TransferLeader { to }).await.expect("no-op");
    assert_eq!((r.from, r.leader, r.paused_ms), (to, Some(to), 0));
    for n in &mut nodes {
        n.stop().await;
    }
}
